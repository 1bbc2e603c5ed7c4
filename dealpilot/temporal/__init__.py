"""Talking to Temporal from outside workflows: the connection (connection), the jobs' schedules
(schedules), search-attribute registration (search_attributes) and the one client through which
the API, the domain and the CLI start, signal, update and query deal workflows."""
