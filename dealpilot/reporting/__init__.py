"""Reporting: pipeline statistics for the API (stats), the 09:00 daily review per brand (daily)
and the ledger's totals that the API's /metrics exposes (ledger)."""
