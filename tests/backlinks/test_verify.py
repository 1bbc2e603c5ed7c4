"""Link verification against real pages served over HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
import tracemalloc
from collections.abc import AsyncIterator

import httpx
import pytest

from dealpilot.backlinks import FetchLimits, OurSite, build_client, check_page, normalise_url
from tests.backlinks.pages import Pages

OURS = OurSite.of("codeteki.example.com", content_url="https://codeteki.example.com/guide/")
LIMITS = FetchLimits(
    connect_timeout=2, read_timeout=2, deadline=5, max_bytes=1_000_000, allow_private=True
)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client = build_client(LIMITS)
    yield client
    await client.aclose()


async def test_dofollow_link_with_anchor_text(pages: Pages, http: httpx.AsyncClient) -> None:
    url = pages.set(
        "resources",
        "<html><body><h1>Tools</h1><p>See <a href='https://www.codeteki.example.com/guide'>"
        "The <b>Codeteki</b>\n  guide</a> and <a href='https://other.example.net/'>x</a></p>",
    )
    page = await check_page(http, url, OURS, LIMITS)
    assert page.ok, page.error
    assert page.status_code == 200
    best = page.best(OURS)
    assert best is not None
    assert (best.anchor, best.rel) == ("The Codeteki guide", "dofollow")
    assert normalise_url(best.href) == normalise_url(OURS.content_url)
    assert len(page.links) == 1  # the other site's link is not ours


async def test_nofollow_sponsored_rel_is_reported(pages: Pages, http: httpx.AsyncClient) -> None:
    url = pages.set(
        "paid",
        '<a rel="Sponsored nofollow noopener" href="https://codeteki.example.com/guide">guide</a>',
    )
    best = (await check_page(http, url, OURS, LIMITS)).best(OURS)
    assert best is not None
    assert best.rel == "nofollow sponsored"


async def test_ugc_and_preference_for_the_pitched_page(
    pages: Pages, http: httpx.AsyncClient
) -> None:
    url = pages.set(
        "forum",
        "<a rel=ugc href='https://codeteki.example.com/'>home</a>"
        "<a rel='ugc' href='http://codeteki.example.com/guide#top'>the guide</a>",
    )
    page = await check_page(http, url, OURS, LIMITS)
    assert [link.anchor for link in page.links] == ["home", "the guide"]
    best = page.best(OURS)
    assert best is not None
    assert (best.anchor, best.rel) == ("the guide", "ugc")


@pytest.mark.parametrize(
    ("body", "anchor"),
    [
        # No charset in the header: the <meta> tag says which (Windows-1252 here).
        (
            b"<html><head><meta charset='windows-1252'></head><body>"
            b"<a href='https://codeteki.example.com/'>Caf\xe9 guide</a>",
            "Café guide",
        ),
        (
            b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">'
            b"<a href='https://codeteki.example.com/'>na\xefve</a>",
            "naïve",
        ),
        ("\ufeff<a href='https://codeteki.example.com/'>Café</a>".encode(), "Café"),
        (b"<a href='https://codeteki.example.com/'>bad \xff byte</a>", "bad \ufffd byte"),
    ],
)
async def test_charset_from_meta_bom_or_utf8(
    pages: Pages, http: httpx.AsyncClient, body: bytes, anchor: str
) -> None:
    pages.raw["page"] = body
    best = (await check_page(http, pages.url("/raw/page"), OURS, LIMITS)).best(OURS)
    assert best is not None
    assert best.anchor == anchor


async def test_page_without_our_link(pages: Pages, http: httpx.AsyncClient) -> None:
    url = pages.set(
        "nolink",
        "<a href='https://codeteki.example.com.evil.test/'>lookalike</a>"
        "<a href='https://notcodeteki.example.com/'>suffix</a><a href='/local'>local</a>",
    )
    page = await check_page(http, url, OURS, LIMITS)
    assert page.ok
    assert page.links == []
    assert page.best(OURS) is None


async def test_relative_link_resolved_against_base(pages: Pages, http: httpx.AsyncClient) -> None:
    url = pages.set(
        "based",
        "<html><head><base href='https://codeteki.example.com/blog/'></head>"
        "<body><a href='../guide/'><img src=x alt='Codeteki logo'></a></body></html>",
    )
    best = (await check_page(http, url, OURS, LIMITS)).best(OURS)
    assert best is not None
    assert best.href == "https://codeteki.example.com/guide/"
    assert best.anchor == "Codeteki logo"  # an image link's alt text is its anchor


async def test_protocol_relative_link(pages: Pages, http: httpx.AsyncClient) -> None:
    url = pages.set("pr", "<a href='//www.codeteki.example.com/guide'>scheme-less</a>")
    best = (await check_page(http, url, OURS, LIMITS)).best(OURS)
    assert best is not None
    assert (best.href, best.anchor) == ("http://www.codeteki.example.com/guide", "scheme-less")


async def test_redirect_is_followed_and_relative_links_use_the_final_url(
    pages: Pages, http: httpx.AsyncClient
) -> None:
    pages.set("target", "<a href='https://codeteki.example.com/guide'>moved here</a>")
    page = await check_page(http, pages.url("/moved/target"), OURS, LIMITS)
    assert page.ok
    assert page.final_url.endswith("/page/target")
    assert page.best(OURS) is not None


async def test_redirect_loop_is_an_error(pages: Pages, http: httpx.AsyncClient) -> None:
    page = await check_page(http, pages.url("/loop"), OURS, LIMITS)
    assert page.error == f"more than {LIMITS.max_redirects} redirects"


async def test_non_html_content_is_not_parsed(pages: Pages, http: httpx.AsyncClient) -> None:
    page = await check_page(http, pages.url("/file.pdf"), OURS, LIMITS)
    assert page.error == "not an HTML page (application/pdf)"
    assert page.links == []


@pytest.mark.parametrize("code", [404, 500])
async def test_http_errors(pages: Pages, http: httpx.AsyncClient, code: int) -> None:
    page = await check_page(http, pages.url(f"/status/{code}"), OURS, LIMITS)
    assert (page.ok, page.error, page.status_code) == (False, f"HTTP {code}", code)


async def test_slow_page_times_out_quickly(pages: Pages) -> None:
    limits = FetchLimits(connect_timeout=1, read_timeout=0.3, deadline=5, allow_private=True)
    async with build_client(limits) as client:
        page = await check_page(client, pages.url("/slow?s=2"), OURS, limits)
    assert page.error == "timed out (ReadTimeout)"  # it gave up rather than wait the 2 s


async def test_trickling_page_hits_the_overall_deadline(pages: Pages) -> None:
    limits = FetchLimits(connect_timeout=1, read_timeout=1, deadline=0.5, allow_private=True)
    async with build_client(limits) as client:
        page = await check_page(client, pages.url("/trickle"), OURS, limits)
    assert page.error == "timed out after 0.5s"  # the page would take 5 s in all


async def test_huge_page_is_read_up_to_the_byte_limit_with_bounded_memory(
    pages: Pages,
) -> None:
    limits = FetchLimits(read_timeout=5, deadline=30, max_bytes=2_000_000, allow_private=True)
    async with build_client(limits) as client:
        tracemalloc.start()
        try:
            page = await check_page(client, pages.url("/huge?at_mb=4&total_mb=40"), OURS, limits)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert page.ok, page.error
    assert page.truncated
    assert page.bytes_read == 2_000_000
    assert [link.anchor for link in page.links] == ["early link"]  # the late one is past 2 MB
    assert peak < 8_000_000  # a few chunks and parser state, never the 40 MB page


async def test_link_before_the_limit_in_a_huge_page_is_found_near_the_end(pages: Pages) -> None:
    limits = FetchLimits(read_timeout=5, deadline=30, max_bytes=3_000_000, allow_private=True)
    async with build_client(limits) as client:
        page = await check_page(client, pages.url("/huge?at_mb=2.5&total_mb=10"), OURS, limits)
    assert [link.anchor for link in page.links] == ["early link", "late link"]


async def test_user_agent_identifies_us(pages: Pages) -> None:
    url = pages.set("ua", "<p>hi</p>")
    limits = FetchLimits(
        user_agent="dealpilot-linkcheck/0.1 (+https://codeteki.au)", allow_private=True
    )
    async with build_client(limits) as client:
        await check_page(client, url, OURS, limits)
    assert pages.user_agents == ["dealpilot-linkcheck/0.1 (+https://codeteki.au)"]


async def test_not_http_url_and_unreachable_host() -> None:
    async with build_client(LIMITS) as client:
        assert (await check_page(client, "ftp://x.test/", OURS, LIMITS)).error == (
            "not an http(s) URL"
        )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        page = await check_page(client, f"http://127.0.0.1:{port}/", OURS, LIMITS)
    assert page.error == "fetch failed (ConnectError)"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/page/private",
        "http://localhost:{port}/page/private",
        "http://[::1]:{port}/page/private",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
    ],
)
async def test_non_public_addresses_are_refused_by_default(pages: Pages, url: str) -> None:
    pages.set("private", "<a href='https://codeteki.example.com/'>x</a>")
    port = pages.base_url.rsplit(":", 1)[1]
    limits = FetchLimits(connect_timeout=1, read_timeout=1, deadline=3)
    async with build_client(limits) as client:
        page = await check_page(client, url.format(port=port), OURS, limits)
    assert page.error.startswith("refused: ")
    assert page.error.endswith(" is not a public address")
    assert pages.user_agents == []  # nothing was fetched


def test_normalise_url() -> None:
    assert normalise_url("HTTPS://WWW.Codeteki.example.com/guide/#x") == (
        "codeteki.example.com/guide"
    )
    assert normalise_url("http://codeteki.example.com:8080/a?b=1") == (
        "codeteki.example.com:8080/a?b=1"
    )
