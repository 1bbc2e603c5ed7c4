from __future__ import annotations

import re

import pytest

from dealpilot.rendering.renderer import (
    EMAIL_TEMPLATES_DIR,
    BrandInfo,
    ContactInfo,
    EmailContext,
    EmailRenderer,
    OpportunityInfo,
    TemplateRenderError,
    UnknownTemplateError,
    UnsafeTemplateError,
    first_name_from,
    html_to_text,
)
from dealpilot.setup.seed_data import BRANDS, BrandSpec, template_key

UNSUBSCRIBE = "https://api.example.test/u/tok123"
PIXEL = '<img src="https://api.example.test/o/tok123.gif" width="1" height="1" alt="">'

SENDING = [
    (brand, template_key(brand.slug, pipeline.slug, stage.slug), stage)
    for brand in BRANDS
    for pipeline in brand.pipelines
    for stage in pipeline.stages
    if stage.sends_email
]


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer(EMAIL_TEMPLATES_DIR)


def _brand(spec: BrandSpec) -> BrandInfo:
    return BrandInfo(
        slug=spec.slug,
        name=spec.name,
        domain=spec.domain,
        website_url=spec.website_url,
        postal_address=spec.postal_address,
        from_email=spec.from_email,
        from_name=spec.from_name,
    )


def full_ctx(spec: BrandSpec) -> EmailContext:
    return EmailContext(
        brand=_brand(spec),
        contact=ContactInfo(
            email="priya.sharma@harbourrealty.com.au",
            name="Priya Sharma",
            company="Harbour & Co Realty",
            website="harbourrealty.com.au",
        ),
        sender_name="Arjun Mehta",
        salutation="Hi Priya",
        unsubscribe_url=UNSUBSCRIBE,
        tracking_pixel=PIXEL,
        opportunity=OpportunityInfo(
            target_url="https://blog.example.com.au/small-business-tools",
            target_domain="blog.example.com.au",
            our_content_url=f"{spec.website_url}/guides/automation",
            anchor_text_suggestion="automation guide for small businesses",
            outreach_angle="Your list of tools misses anything on answering enquiries.",
        ),
        extra={"city": "Sydney"},
    )


def sparse_ctx(spec: BrandSpec) -> EmailContext:
    return EmailContext(
        brand=_brand(spec),
        contact=ContactInfo(email="info@example.com"),
        unsubscribe_url=UNSUBSCRIBE,
    )


def test_all_52_sending_stages_are_covered() -> None:
    # 39 sequence and onboarding emails, and 13 stage emails after a reply or a sign-up
    # (issue 11, item 12): welcomes on won stages, the next step after signing up, a proposal
    # follow-up offered as a ready draft.
    assert len(SENDING) == 52


@pytest.mark.parametrize(("spec", "key", "stage"), SENDING, ids=[k for _, k, _ in SENDING])
@pytest.mark.parametrize("make_ctx", [full_ctx, sparse_ctx], ids=["full", "sparse"])
def test_every_stage_template_renders_cleanly(renderer, spec, key, stage, make_ctx) -> None:
    assert renderer.has_template(key)
    ctx = make_ctx(spec)
    for subject in filter(None, (stage.subject, stage.subject_b)):
        email = renderer.render_stage(key, subject, ctx)
        for part in (email.subject, email.html, email.text):
            assert "None" not in part
            assert "{{" not in part
            assert "{%" not in part
            assert "[" not in part
            assert "undefined" not in part.lower()
        assert email.subject.strip() == email.subject
        assert "\n" not in email.subject
        assert f'href="{UNSUBSCRIBE}"' in email.html
        assert spec.name in email.html
        assert spec.postal_address in email.html
        assert email.html.rstrip().endswith("</html>")
        assert email.text.strip()
        assert "<" not in email.text
        assert f"Unsubscribe ({UNSUBSCRIBE})" in email.text
        if ctx.tracking_pixel:
            assert PIXEL in email.html
        else:
            assert "<img" not in email.html
        if make_ctx is full_ctx:
            assert "Hi Priya," in email.html
            assert "Harbour &amp; Co Realty" in email.html or "Harbour" not in email.html
        else:
            assert "Hi there," in email.html


def test_sparse_contact_gets_fallbacks_not_gaps(renderer) -> None:
    desifirms = BRANDS[1]
    email = renderer.render_stage(
        "desifirms/business_listings/invited",
        "Add {{ contact.company or 'your business' }} to Desi Firms (free)",
        sparse_ctx(desifirms),
    )
    assert email.subject == "Add your business to Desi Firms (free)"
    assert "invite your business to list" in email.text
    assert "The Desi Firms team" in email.text


def test_text_part_is_readable(renderer) -> None:
    codeteki = BRANDS[0]
    email = renderer.render_stage(
        "codeteki/backlink/pitch_sent", "A resource for your readers", full_ctx(codeteki)
    )
    text = email.text
    assert "automation guide for small businesses (https://codeteki.au/guides/automation)" in text
    assert "\n\n\n" not in text
    assert "display:none" not in text
    assert "A practical resource" not in text  # the hidden preheader stays out of the text
    assert "Your list of tools misses anything on answering enquiries." in text


def test_subject_variables_and_escaping(renderer) -> None:
    ctx = full_ctx(BRANDS[0])
    assert (
        renderer.render_subject("Quick idea for {{ contact.company or 'x' }}", ctx)
        == "Quick idea for Harbour & Co Realty"
    )
    # A newline in a header would be header injection; subjects are one line.
    ctx.contact.company = "Evil\r\nBcc: victim@example.com"
    assert "\n" not in renderer.render_subject("Hi {{ contact.company }}", ctx)
    with pytest.raises(TemplateRenderError):
        renderer.render_subject("{{ contact.company and '' }}", ctx)  # renders empty


def test_a_template_string_is_compiled_once_and_rendered_for_each_contact() -> None:
    renderer = EmailRenderer(EMAIL_TEMPLATES_DIR)
    subject = "Quick idea for {{ contact.company or 'your team' }}"
    full, sparse = full_ctx(BRANDS[0]), sparse_ctx(BRANDS[0])
    assert renderer.render_subject(subject, full) == "Quick idea for Harbour & Co Realty"
    assert renderer.render_subject(subject, sparse) == "Quick idea for your team"
    assert renderer.render_subject(subject, full) == "Quick idea for Harbour & Co Realty"
    compiled = renderer._text_string.cache_info()  # type: ignore[attr-defined]
    assert (compiled.misses, compiled.hits) == (1, 2)
    # HTML strings have their own compiled copies: autoescaped, unlike a subject's.
    assert renderer.render_string("<b>{{ contact.company }}</b>", full) == (
        "<b>Harbour &amp; Co Realty</b>"
    )
    assert renderer.render_string("{{ contact.company }}", full, html=False) == (
        "Harbour & Co Realty"
    )
    # A string that does not compile is refused every time, never kept as if it had.
    for _ in range(2):
        with pytest.raises(TemplateRenderError):
            renderer.render_subject("{{ contact.company ", full)


def test_html_is_autoescaped(renderer) -> None:
    ctx = full_ctx(BRANDS[0])
    ctx.contact.company = '<script>alert("x")</script>'
    email = renderer.render_stage("codeteki/sales/intro_sent", "Hello", ctx)
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html


def test_ai_body_is_wrapped_and_sanitised(renderer) -> None:
    ctx = full_ctx(BRANDS[1])
    body = (
        "Thanks for your time today. <script>alert(1)</script>"
        '<img src=x onerror="steal()">\n\nDetails: https://desifirms.com.au/real-estate.\n'
        "Second line."
    )
    email = renderer.render_ai_body("desifirms", "Following up\r\nBcc: x@y", body, ctx)
    assert email.subject == "Following up Bcc: x@y"
    assert "<script" not in email.html
    assert "onerror" not in email.html
    assert "alert(1)" not in email.html
    assert '<a href="https://desifirms.com.au/real-estate">' in email.html
    assert "Desi Firms" in email.html
    assert f'href="{UNSUBSCRIBE}"' in email.html
    assert PIXEL in email.html
    # The compose prompt writes neither greeting nor signature: the layout adds both.
    assert "Hi Priya,\n\nThanks for your time today." in email.text
    assert "Details: https://desifirms.com.au/real-estate.\nSecond line." in email.text
    assert "Warm regards,\nArjun Mehta" in email.text


def test_ai_body_for_brand_without_templates_uses_default_layout(renderer) -> None:
    ctx = EmailContext(
        brand=BrandInfo(slug="newbrand", name="New Brand", postal_address="Perth, Australia"),
        contact=ContactInfo(email="sam@example.com"),
        unsubscribe_url=UNSUBSCRIBE,
    )
    email = renderer.render_ai_body("newbrand", "Hello", "Hello Sam,\n\nA short note.", ctx)
    assert "New Brand" in email.html
    assert UNSUBSCRIBE in email.html
    assert "A short note." in email.text


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ contact.__dict__ }}",
        "{{ self._TemplateReference__context }}",
        "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    ],
)
def test_sandbox_escapes_raise(renderer, source) -> None:
    ctx = sparse_ctx(BRANDS[0])
    with pytest.raises(TemplateRenderError):
        renderer.render_string(source, ctx)
    with pytest.raises(TemplateRenderError):
        renderer.render_subject(source, ctx)


def test_sandbox_escape_is_reported_as_unsafe(renderer) -> None:
    with pytest.raises(UnsafeTemplateError, match="unsafe"):
        renderer.render_string("{{ ''.__class__.__mro__ }}", sparse_ctx(BRANDS[0]))


def test_sandbox_blocks_mutating_context(renderer) -> None:
    ctx = full_ctx(BRANDS[0])
    with pytest.raises(UnsafeTemplateError):
        renderer.render_string("{{ extra.clear() }}", ctx)
    assert ctx.extra == {"city": "Sydney"}


def test_user_template_string_can_use_the_layout(renderer) -> None:
    source = (
        '{% extends "codeteki/_layout.html" %}{% block body %}'
        "<p>{{ extra.get('city', 'Melbourne') }} is lovely.</p>{% endblock %}"
    )
    html = renderer.render_string(source, full_ctx(BRANDS[0]))
    assert "Sydney is lovely." in html
    assert UNSUBSCRIBE in html


def test_unknown_and_invalid_keys(renderer) -> None:
    ctx = sparse_ctx(BRANDS[0])
    assert not renderer.has_template("codeteki/sales/nope")
    assert not renderer.has_template("../../etc/passwd")
    assert not renderer.has_template("codeteki/_layout")  # layouts are not stage templates
    with pytest.raises(UnknownTemplateError):
        renderer.render_stage("codeteki/sales/nope", "Hi", ctx)
    with pytest.raises(UnknownTemplateError):
        renderer.render_stage("../secrets", "Hi", ctx)


def test_typo_in_template_is_a_clear_error(renderer) -> None:
    with pytest.raises(TemplateRenderError, match="frist_name"):
        renderer.render_string("{{ contact.frist_name }}", sparse_ctx(BRANDS[0]))


@pytest.mark.parametrize(
    ("name", "email", "expected"),
    [
        ("Priya Sharma", "x@y.com", "Priya"),
        ("", "priya.sharma@example.com", "Priya"),
        ("", "priya_sharma@example.com", "Priya"),
        ("", "priya@example.com", "Priya"),
        ("", "Priya.Sharma+crm@example.com", "Priya"),
        ("", "chris92@example.com", "Chris"),
        ("", "info@example.com", ""),
        ("", "sales@example.com", ""),
        ("", "hello@example.com", ""),
        ("", "jsmith@example.com", ""),
        ("", "acme@acme.com.au", ""),
        ("", "a.kumar@example.com", ""),
        ("", "12345@example.com", ""),
        ("SHARMA, Priya", "", "Priya"),
        ("Dr. Raj Patel", "", "Raj"),
        ("anne-marie o'neil", "", "Anne-Marie"),
        ("McKenzie Jones", "", "McKenzie"),
        ("Acme Pty Ltd", "raj.patel@acme.com", "Raj"),
        ("", "", ""),
    ],
)
def test_first_name_from(name, email, expected) -> None:
    assert first_name_from(name, email) == expected


def test_contact_info_derives_first_name() -> None:
    assert ContactInfo(email="rahul.verma@example.com").first_name == "Rahul"
    assert ContactInfo(email="x@y.com", first_name="Raj").first_name == "Raj"


def test_html_to_text() -> None:
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        '<div style="display: none">hidden</div><p>One <b>two</b></p><p>Line<br>break</p>'
        '<a href="https://x.test/a">Go</a> <a href="https://x.test/b">https://x.test/b</a>'
        "<ul><li>first</li><li>second</li></ul>"
        '<img src="https://x.test/p.gif"></body></html>'
    )
    text = html_to_text(html)
    assert text == (
        "One two\n\nLine\nbreak\n\nGo (https://x.test/a) https://x.test/b\n\n- first\n- second"
    )
    assert not re.search(r"<[a-z]", text)


def test_a_role_mailbox_of_a_known_company_is_greeted_as_its_team(renderer) -> None:
    """The smart salutation makes greetings the name cannot: never a guessed name."""
    desifirms = BRANDS[1]
    ctx = EmailContext(
        brand=_brand(desifirms),
        contact=ContactInfo(email="info@spiceroute.example.com.au", company="Spice Route"),
        unsubscribe_url=UNSUBSCRIBE,
    )
    email = renderer.render_stage(
        "desifirms/business_listings/invited", "Add your business to Desi Firms (free)", ctx
    )
    assert "Hi Spice Route team," in email.html
    nameless = ContactInfo(email="info@spiceroute.example.com.au")
    assert EmailContext(brand=ctx.brand, contact=nameless, unsubscribe_url="u").greeting() == (
        "Hi there"
    )
