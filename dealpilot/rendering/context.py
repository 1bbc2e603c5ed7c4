"""What a template may use: the brand, the contact, the backlink opportunity and the links.

Plain dataclasses, safe to pass through Temporal. Every field is always present (empty string
when unknown), so a sparse contact falls back to the template's `or "..."` defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from dealpilot.ai.salutation import salutation as smart_salutation
from dealpilot.ai.schemas import SalutationInput
from dealpilot.rendering.names import first_name_from

if TYPE_CHECKING:
    from models import BacklinkOpportunity, Brand, Contact


@dataclass
class BrandInfo:
    slug: str
    name: str
    domain: str = ""
    website_url: str = ""
    postal_address: str = ""
    from_email: str = ""
    from_name: str = ""

    @classmethod
    def from_row(cls, brand: Brand) -> BrandInfo:
        return cls(
            slug=brand.slug,
            name=brand.name,
            domain=brand.domain,
            website_url=brand.website_url or f"https://{brand.domain}",
            postal_address=brand.postal_address,
            from_email=brand.from_email,
            from_name=brand.from_name,
        )


@dataclass
class ContactInfo:
    email: str
    name: str = ""
    first_name: str = ""  # derived from name/email when left empty
    company: str = ""
    website: str = ""

    def __post_init__(self) -> None:
        if not self.first_name:
            self.first_name = first_name_from(self.name, self.email)

    @classmethod
    def from_row(cls, contact: Contact) -> ContactInfo:
        return cls(
            email=contact.email,
            name=contact.name,
            company=contact.company,
            website=contact.website,
        )


@dataclass
class WritingBrief:
    """What an AI writer is told besides the contact (never given to templates): the brand's
    voice and description, the pipeline, the deal's engagement and what it was already sent."""

    brand_voice: str = ""
    brand_description: str = ""
    pipeline_type: str = "sales"
    pipeline_description: str = ""
    engagement_tier: str = "new"
    previous_subjects: list[str] = field(default_factory=list)


@dataclass
class OpportunityInfo:
    target_url: str = ""
    target_domain: str = ""
    our_content_url: str = ""
    anchor_text_suggestion: str = ""
    outreach_angle: str = ""

    @classmethod
    def from_row(cls, opp: BacklinkOpportunity) -> OpportunityInfo:
        return cls(
            target_url=opp.target_url,
            target_domain=opp.target_domain,
            our_content_url=opp.our_content_url,
            anchor_text_suggestion=opp.anchor_text_suggestion,
            outreach_angle=opp.outreach_angle,
        )


@dataclass
class EmailContext:
    """Everything a template may use. Plain data: safe to pass through Temporal."""

    brand: BrandInfo
    contact: ContactInfo
    unsubscribe_url: str
    sender_name: str = ""  # defaults to the brand's from_name
    salutation: str = ""  # defaults to greeting()
    tracking_pixel: str = ""  # trusted markup built by the tracking code, or ""
    opportunity: OpportunityInfo | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    brief: WritingBrief = field(default_factory=WritingBrief)

    def greeting(self) -> str:
        """ "Hi Priya"; with no name to use, the smart salutation ("Hi Spice Route team" for
        a role mailbox of a known company, else "Hi there")."""
        if self.contact.first_name:
            return f"Hi {self.contact.first_name}"
        data = SalutationInput(email=self.contact.email, company=self.contact.company or None)
        return smart_salutation(data).greeting

    def template_vars(self) -> dict[str, Any]:
        salutation = self.salutation.strip().rstrip(",") or self.greeting()
        return {
            "brand": self.brand,
            "contact": self.contact,
            "opportunity": self.opportunity or OpportunityInfo(),
            "sender_name": self.sender_name or self._default_sender(),
            "salutation": salutation,
            "unsubscribe_url": self.unsubscribe_url,
            "tracking_pixel": Markup(self.tracking_pixel),
            "extra": dict(self.extra),
        }

    def _default_sender(self) -> str:
        from_name = self.brand.from_name.strip()
        if from_name and from_name.lower() != self.brand.name.lower():
            return from_name
        return f"The {self.brand.name} team"
