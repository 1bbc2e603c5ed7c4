"""Backlink research: link verification (verify, checks), AI pitches (pitch) and the
activities LinkCheckWorkflow runs."""

from activities.backlinks.activities import LinkCheckActivities
from activities.backlinks.checks import (
    LinkChecks,
    candidate_ids,
    limits_from,
    link_placed_stage,
)
from activities.backlinks.pitch import Pitcher, PitchOutcome
from activities.backlinks.verify import (
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
    "LinkCheckActivities",
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
