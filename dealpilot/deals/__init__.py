"""Deals: creating and enrolling them (service, bulk), the actions people take on them (actions),
what the deal workflow's activities read and write (store, engagement), sending a stage email
(sending) and previews of the next email (previews)."""
