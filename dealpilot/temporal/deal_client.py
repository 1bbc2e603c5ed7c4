"""Kept only for `dealpilot/reporting/daily.py` (owned elsewhere while issue 9 is under way):
the deal workflow client is `dealpilot.temporal.deals.DealWorkflows`. Delete this module once
that file imports `DealWorkflows` directly."""

from __future__ import annotations

from dealpilot.temporal.deals import DealWorkflows

Temporal = DealWorkflows

__all__ = ["Temporal"]
