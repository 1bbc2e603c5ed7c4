"""Reporting: pipeline statistics for the API (stats), the 09:00 daily review per brand (daily)
and the ledger's totals as Prometheus metrics (ledger_metrics)."""
