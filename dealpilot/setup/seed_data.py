"""The default brands, pipelines and stages, as data. `dealpilot.setup.seed` writes them to the DB.

Stage rules: `sequence` stages send their email as the autopilot advances a deal INTO them;
`days_until_followup` is how long a deal waits in a stage for a reply before the next step
(0 on an entry stage: the first email goes at once). Template keys and slugs are derived
from the names, so the data below is only what a person would decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time

from models import AutoAction, EngagementTier, MailProviderName, PipelineType, StageKind

ENTRY_EMAILS = (AutoAction.send_on_enter, AutoAction.draft_on_enter)


@dataclass(frozen=True)
class StageSpec:
    name: str
    kind: StageKind
    days: int | None = None  # days_until_followup
    subject: str | None = None
    subject_b: str | None = None
    auto_action: AutoAction | None = None  # None: the default for the kind

    @property
    def slug(self) -> str:
        return slugify(self.name)

    @property
    def action(self) -> AutoAction:
        if self.auto_action is not None:
            return self.auto_action
        return {
            StageKind.sequence: AutoAction.send_email,
            StageKind.reply: AutoAction.draft_reply,
        }.get(self.kind, AutoAction.none)

    @property
    def sends_email(self) -> bool:
        return self.action in ENTRY_EMAILS or self.action == AutoAction.send_email


@dataclass(frozen=True)
class PipelineSpec:
    slug: str
    name: str
    pipeline_type: PipelineType
    description: str
    stages: tuple[StageSpec, ...]

    @property
    def is_outreach(self) -> bool:
        return any(s.kind is StageKind.sequence for s in self.stages)


@dataclass(frozen=True)
class BrandSpec:
    slug: str
    name: str
    domain: str
    provider: MailProviderName
    from_email: str
    from_name: str
    daily_cap: int
    min_gap_seconds: int
    postal_address: str
    timezone: str = "Australia/Sydney"
    send_window_start: time = time(9, 0)
    send_window_end: time = time(17, 0)
    send_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    pipelines: tuple[PipelineSpec, ...] = field(default=())
    voice: str = ""
    description: str = ""

    @property
    def website_url(self) -> str:
        return f"https://{self.domain}"


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def template_key(brand_slug: str, pipeline_slug: str, stage_slug: str) -> str:
    return f"{brand_slug}/{pipeline_slug}/{stage_slug}"


E, S, R, M = StageKind.entry, StageKind.sequence, StageKind.reply, StageKind.manual
WON, LOST = StageKind.won, StageKind.lost

# Subject fallbacks keep a sparse contact (email only) readable. An inline `if` needs its
# `else ''`: templates render with StrictUndefined.
_COMPANY = "contact.company or 'your business'"
_NAME = "{{ ', ' ~ contact.first_name if contact.first_name else '' }}"  # ", Priya" or ""


def _backlink(brand_noun: str) -> PipelineSpec:
    target = "opportunity.target_domain or contact.website or 'your site'"
    return PipelineSpec(
        slug="backlink",
        name="Backlink Outreach",
        pipeline_type=PipelineType.backlink,
        description=f"Earn links from relevant sites to {brand_noun} content.",
        stages=(
            StageSpec("Target Found", E, 0),
            StageSpec(
                "Pitch Sent",
                S,
                5,
                subject="A resource for {{ opportunity.target_domain ~ ' ' "
                "if opportunity.target_domain else 'your ' }}readers",
                subject_b="Quick suggestion for {{ " + target + " }}",
            ),
            StageSpec("Follow-up 1", S, 5, subject="Happy to make this easy for you"),
            StageSpec("Follow-up 2", S, 7, subject="Closing the loop on my suggestion"),
            StageSpec("Responded", R),
            StageSpec("Link Placed", WON),
            StageSpec("Rejected", LOST),
        ),
    )


def _directory(
    slug: str,
    name: str,
    description: str,
    found: str,
    after_responded: tuple[StageSpec, ...],
    subjects: tuple[tuple[str, str | None], ...],
) -> PipelineSpec:
    (s0, s0b), (s1, _), (s2, _), (s3, _) = subjects
    return PipelineSpec(
        slug=slug,
        name=name,
        pipeline_type=PipelineType.directory,
        description=description,
        stages=(
            StageSpec(found, E, 0),
            StageSpec("Invited", S, 3, subject=s0, subject_b=s0b),
            StageSpec("Follow-up 1", S, 4, subject=s1),
            StageSpec("Follow-up 2", S, 5, subject=s2),
            StageSpec("Follow-up 3 (Final)", S, 7, subject=s3),
            StageSpec("Responded", R),
            *after_responded,
            StageSpec("Not Interested", LOST),
        ),
    )


def _registered(
    slug: str, name: str, won: str, subjects: tuple[str, str, str, str]
) -> PipelineSpec:
    s1, s1b, s2, won_subject = subjects
    return PipelineSpec(
        slug=slug,
        name=name,
        pipeline_type=PipelineType.directory,
        description="Nudge people who signed up but have not published anything yet.",
        stages=(
            # Give new sign-ups two days to get going on their own before the first nudge.
            StageSpec("Registered", E, 2),
            StageSpec("Nudge 1", S, 5, subject=s1, subject_b=s1b),
            StageSpec("Nudge 2", S, 7, subject=s2),
            StageSpec("Responded", R),
            _on_enter(won, won_subject, WON),
            StageSpec("Not Interested", LOST),
        ),
    )


def _on_enter(name: str, subject: str, kind: StageKind = M) -> StageSpec:
    return StageSpec(name, kind, subject=subject, auto_action=AutoAction.send_on_enter)


CODETEKI = BrandSpec(
    slug="codeteki",
    name="Codeteki",
    domain="codeteki.au",
    provider=MailProviderName.zoho_smtp,  # full headers; the REST API ("zoho") has none
    from_email="outreach@codeteki.au",
    from_name="Codeteki",
    daily_cap=150,
    min_gap_seconds=90,
    postal_address="Melbourne, Australia",
    voice="Plain-spoken and practical, Australian English; short sentences, no hype, no jargon.",
    description=(
        "A Melbourne software studio building websites, apps and AI automation (chat "
        "assistants, quoting and booking tools) that give small Australian businesses hours "
        "back each week."
    ),
    pipelines=(
        PipelineSpec(
            slug="sales",
            name="Sales",
            pipeline_type=PipelineType.sales,
            description="Websites, apps and AI automation for Australian businesses.",
            stages=(
                StageSpec("Prospect Found", E, 0),
                StageSpec(
                    "Intro Sent",
                    S,
                    3,
                    subject="Quick idea for {{ " + _COMPANY + " }}",
                    subject_b="A few hours back each week" + _NAME + "?",
                ),
                StageSpec(
                    "Follow-up 1",
                    S,
                    4,
                    subject="What an AI assistant could do for {{ " + _COMPANY + " }}",
                ),
                StageSpec(
                    "Follow-up 2",
                    S,
                    5,
                    subject="A free website check for {{ contact.company or 'you' }}?",
                ),
                StageSpec("Responded", R),
                StageSpec("Discovery Call", M),
                # A ready draft: a person sends it once the proposal has gone out.
                StageSpec(
                    "Proposal",
                    M,
                    subject="Your proposal from Codeteki: any questions?",
                    auto_action=AutoAction.draft_on_enter,
                ),
                StageSpec("Negotiating", M),
                _on_enter("Client", "Welcome to Codeteki: what happens next", WON),
                StageSpec("Lost", LOST),
            ),
        ),
        _backlink("Codeteki"),
        PipelineSpec(
            slug="partnership",
            name="Partnership",
            pipeline_type=PipelineType.partnership,
            description="Agencies and consultants who need a reliable build partner.",
            stages=(
                StageSpec("Partner Found", E, 0),
                StageSpec(
                    "Intro Sent",
                    S,
                    3,
                    subject="A build partner for {{ contact.company or 'your agency' }}?",
                    subject_b="Web, app and AI projects for your clients",
                ),
                StageSpec("Follow-up 1", S, 4, subject="How partnering with Codeteki works"),
                StageSpec("Follow-up 2", S, 5, subject="Should I close the file on this?"),
                StageSpec("Responded", R),
                StageSpec("Call Booked", M),
                _on_enter("Partner", "Welcome aboard: how we'll work together", WON),
                StageSpec("Not Interested", LOST),
            ),
        ),
    ),
)

DESIFIRMS = BrandSpec(
    slug="desifirms",
    name="Desi Firms",
    domain="desifirms.com.au",
    provider=MailProviderName.zeptomail,
    from_email="hello@desifirms.com.au",
    from_name="Desi Firms",
    daily_cap=300,
    min_gap_seconds=30,
    postal_address="Sydney, Australia",
    voice="Warm and community-minded, Australian English; friendly, respectful and brief.",
    description=(
        "The business directory of Australia's Indian and South Asian community: free "
        "listings for businesses, agents, events and classifieds, found by the customers "
        "who look for them."
    ),
    pipelines=(
        _directory(
            "real_estate",
            "Real Estate",
            "Invite real estate agents to list properties for the South Asian community.",
            "Agent Found",
            (
                _on_enter("Registered", "Welcome to Desi Firms: your agent profile is next"),
                _on_enter("Listing Properties", "Your listings are live on Desi Firms", WON),
            ),
            (
                (
                    "List your properties free on Desi Firms",
                    "Reach South Asian buyers and renters across Australia",
                ),
                ("Your free agent profile takes a few minutes", None),
                ("Buyers who want an agent who gets them", None),
                ("Last note from Desi Firms", None),
            ),
        ),
        _directory(
            "business_listings",
            "Business Listings",
            "Invite South Asian and community-facing businesses to list for free.",
            "Business Found",
            (
                _on_enter("Signed Up", "Welcome to Desi Firms: add your business next"),
                _on_enter(
                    "Listed", "{{ contact.company or 'Your business' }} is live on Desi Firms", WON
                ),
            ),
            (
                (
                    "Add {{ " + _COMPANY + " }} to Desi Firms (free)",
                    "Customers are searching Desi Firms" + _NAME,
                ),
                ("What your free Desi Firms listing includes", None),
                ("How people find businesses like {{ contact.company or 'yours' }}", None),
                ("Should I keep a spot for {{ contact.company or 'your business' }}?", None),
            ),
        ),
        _directory(
            "events",
            "Events",
            "Invite event organisers to list community events.",
            "Organizer Found",
            (
                _on_enter("Signed Up", "Welcome to Desi Firms: post your first event"),
                _on_enter("Event Listed", "Your event is live on Desi Firms", WON),
            ),
            (
                (
                    "List your next event free on Desi Firms",
                    "More people at your next event" + _NAME + "?",
                ),
                ("Your event listing in three steps", None),
                ("Festival season fills calendars fast", None),
                ("Last call: free event listing", None),
            ),
        ),
        _directory(
            "classifieds",
            "Classifieds",
            "Invite people and small sellers to post classified ads.",
            "Lead Found",
            (_on_enter("Ad Posted", "Your ad is live on Desi Firms", WON),),
            (
                (
                    "Post your ad free on Desi Firms",
                    "Rooms, jobs, services: reach the desi community",
                ),
                ("Posting an ad takes two minutes", None),
                ("Why ads on Desi Firms get replies", None),
                ("Last reminder: free classifieds on Desi Firms", None),
            ),
        ),
        _backlink("Desi Firms"),
        _registered(
            "registered_business",
            "Registered Users – Business",
            "Listed",
            (
                "Your Desi Firms account is ready: add your business",
                "Your business listing is one step away" + _NAME,
                "Want us to set up your listing for you?",
                "Your business is live on Desi Firms",
            ),
        ),
        _registered(
            "registered_real_estate",
            "Registered Users – Real Estate",
            "Agent Profile Created",
            (
                "Finish your agent profile on Desi Firms",
                "Buyers can't find you yet" + _NAME,
                "Need a hand with your agent profile?",
                "Your agent profile is live on Desi Firms",
            ),
        ),
        _registered(
            "registered_events",
            "Registered Users – Events",
            "Event Posted",
            (
                "Post your first event on Desi Firms",
                "Your event page is waiting" + _NAME,
                "We can post your event for you",
                "Your event is live on Desi Firms",
            ),
        ),
        PipelineSpec(
            slug="agents_agencies",
            name="Agents & Agencies",
            pipeline_type=PipelineType.onboarding,
            description="Onboarding of registered agents, moved by product events.",
            stages=(
                StageSpec("Registered", E),
                _on_enter("Profile Complete", "Your agent profile is live: next, your agency"),
                _on_enter(
                    "Agency Created",
                    "{{ contact.company or 'Your agency' }} is on Desi Firms: invite your team",
                ),
                _on_enter("Team Invited", "Your team is invited: time for a first listing"),
                _on_enter("First Listing", "Your first listing is live on Desi Firms"),
                _on_enter("Active Lister", "You're an Active Lister on Desi Firms", WON),
                # Unsubscribes, bounces and "not interested" replies close a deal here.
                StageSpec("Dropped", LOST),
            ),
        ),
    ),
)

BRANDS: tuple[BrandSpec, ...] = (CODETEKI, DESIFIRMS)


def full_pipeline_name(brand: BrandSpec, pipeline: PipelineSpec) -> str:
    return f"{brand.name} {pipeline.name}"


# Tier-aware versions of the outreach pipelines' invitation and follow-up emails
# (StageTierTemplate): a cold deal (emails sent, none opened) gets a shorter one with its own
# subject; a lurker (opened before, quiet since) gets more value and a different angle, under
# the stage's subject. Other tiers get the stage's own email. `{layout}` is the brand's.
TIER_TEMPLATES: dict[EngagementTier, tuple[str | None, str]] = {
    EngagementTier.cold: (
        "Quick one" + _NAME,
        '{{% extends "{layout}" %}}{{% block body %}}'
        '<p style="margin:0 0 16px;">I\'ll keep this short: {{{{ brand.name }}}} could help '
        "{{{{ contact.company or 'your business' }}}}, and one reply is all it takes to find "
        "out how.</p>"
        '<p style="margin:0 0 16px;">Worth a look? A simple yes or no is fine.</p>'
        "{{% endblock %}}",
    ),
    EngagementTier.lurker: (
        None,
        '{{% extends "{layout}" %}}{{% block body %}}'
        '<p style="margin:0 0 16px;">Rather than another reminder, here is what '
        "{{{{ brand.name }}}} gives {{{{ contact.company or 'your business' }}}}, with nothing to "
        "sign up for first:</p>"
        '<ul style="margin:0 0 16px;padding-left:20px;">'
        '<li style="margin:0 0 6px;">a free look at where you stand today;</li>'
        '<li style="margin:0 0 6px;">one clear next step you can take on your own;</li>'
        '<li style="margin:0 0 6px;">a person to ask whenever you want help.</li></ul>'
        '<p style="margin:0 0 16px;">Would any of that be useful? Reply and I\'ll send the '
        "details.</p>{{% endblock %}}",
    ),
}


def tier_template(tier: EngagementTier, brand_slug: str) -> tuple[str | None, str]:
    subject, body = TIER_TEMPLATES[tier]
    return subject, body.format(layout=f"{brand_slug}/_layout.html")
