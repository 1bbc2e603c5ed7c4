"""Backlink research: link verification (verify, checks), AI pitches (pitch), the
backlink service behind the API (service) and the backlink CSV import (imports)."""

from dealpilot.backlinks.checks import (
    LinkChecks,
    candidate_ids,
    limits_from,
    link_placed_stage,
)
from dealpilot.backlinks.pitch import Pitcher, PitchOutcome
from dealpilot.backlinks.verify import (
    FetchLimits,
    FoundLink,
    OurSite,
    PageCheck,
    build_client,
    check_page,
    normalise_url,
)

__all__ = [
    "FetchLimits",
    "FoundLink",
    "LinkChecks",
    "OurSite",
    "PageCheck",
    "PitchOutcome",
    "Pitcher",
    "build_client",
    "candidate_ids",
    "check_page",
    "limits_from",
    "link_placed_stage",
    "normalise_url",
]
