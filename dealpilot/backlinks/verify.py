"""Is our link on a page? Fetch it politely and bounded, parse it as it streams in.

`check_page` fetches one URL with httpx: connect and read timeouts plus an overall deadline,
a few redirects, only text/html (or XHTML), at most `max_bytes` read (what was read is still
checked; a link past the limit is not seen), and an identifying user agent. The body is fed
chunk by chunk to a stdlib `html.parser` subclass, so memory stays bounded by the parser's
small look-ahead and the links it keeps, never by the page size.

A link is ours when its href, resolved against the page URL (or its `<base href>`), points
at one of our hosts (`example.com` matches `www.example.com` and any subdomain). When the
opportunity names `our_content_url`, a link to exactly that page (scheme, `www.`, trailing
slash, fragment ignored) is preferred; otherwise a followed link is preferred over a
nofollow/sponsored/ugc one. `rel` is reported as those tokens, sorted, or `dofollow`.

The URLs come from imported files, so by default a host that resolves to a loopback,
private, link-local or otherwise non-public address is refused, for every redirect hop, and
the connection goes to the very address that was vetted (`dealpilot.backlinks.vetted`: no
second lookup to rebind); `allow_private` turns the refusal off for local use.
"""

from __future__ import annotations

import asyncio
import codecs
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

from dealpilot.backlinks.vetted import NonPublicAddressError, Resolve, VettedTransport

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
REL_FLAGS = ("nofollow", "sponsored", "ugc")
DOFOLLOW = "dofollow"
MAX_ANCHOR = 300
MAX_LINKS_KEPT = 50  # links to us on one page: more is spam, and memory must stay bounded
# A scheme ("https:") or a network-path reference ("//host/..."): may point at another host.
_ABSOLUTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.\-]*:|[/\\]{2})")


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    deadline: float = 30.0  # the whole fetch, however slowly the bytes trickle in
    max_bytes: int = 2_000_000
    max_redirects: int = 5
    user_agent: str = "dealpilot-linkcheck/0.1"
    # Imported URLs are not trusted: never fetch loopback, private or link-local addresses
    # (the worker's own network) unless this is set (local development, tests).
    allow_private: bool = False


@dataclass(frozen=True)
class OurSite:
    """Where our links may point: the brand's hosts and, optionally, the page we pitched."""

    hosts: tuple[str, ...]
    content_url: str = ""

    @classmethod
    def of(cls, domain: str, *, website_url: str = "", content_url: str = "") -> OurSite:
        hosts = {bare_host(domain)} if domain else set()
        for url in (website_url, content_url):
            host = bare_host(urlsplit(url).hostname or "") if url else ""
            if host:
                hosts.add(host)
        hosts.discard("")
        return cls(hosts=tuple(sorted(hosts)), content_url=content_url)

    def owns(self, url: str) -> bool:
        try:
            host = bare_host(urlsplit(url).hostname or "")
        except ValueError:  # a malformed href ("http://[oops")
            return False
        return any(host == h or host.endswith("." + h) for h in self.hosts)


@dataclass(frozen=True)
class FoundLink:
    href: str
    anchor: str
    rel: str  # "dofollow" or the sorted flags: "nofollow sponsored"

    @property
    def followed(self) -> bool:
        return self.rel == DOFOLLOW


@dataclass
class PageCheck:
    url: str
    final_url: str = ""
    status_code: int | None = None
    error: str = ""  # empty: fetched and parsed
    links: list[FoundLink] = field(default_factory=list)
    bytes_read: int = 0
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return not self.error

    def best(self, our: OurSite) -> FoundLink | None:
        """The link that counts: the pitched page first, then a followed link."""
        if not self.links:
            return None
        wanted = normalise_url(our.content_url) if our.content_url else None

        def rank(link: FoundLink) -> tuple[bool, bool]:
            return (normalise_url(link.href) == wanted, link.followed)

        return max(self.links, key=rank)


def bare_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def normalise_url(url: str) -> str:
    """Comparable form: no scheme, no `www.`, no fragment, no trailing slash, host lowercased."""
    parts = urlsplit(url.strip())
    host = bare_host(parts.hostname or "")
    try:
        port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    except ValueError:
        port = ""
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{port}{path}{query}"


def rel_of(value: str | None) -> str:
    tokens = set((value or "").lower().split())
    flags = [flag for flag in REL_FLAGS if flag in tokens]
    return " ".join(flags) if flags else DOFOLLOW


class LinkFinder(HTMLParser):
    """Collects `<a href>` links to our site; fed incrementally, keeps nothing else."""

    def __init__(self, page_url: str, our: OurSite) -> None:
        super().__init__(convert_charrefs=True)
        self._our = our
        self._set_base(page_url)
        self._base_seen = False
        self._open: tuple[str, str] | None = None  # (href, rel) of the <a> we are inside
        self._text: list[str] = []
        self._text_len = 0
        self._img_alt = ""
        self.links: list[FoundLink] = []

    def _set_base(self, url: str) -> None:
        self._base = url
        self._base_ours = self._our.owns(url)

    def _ours(self, href: str) -> str | None:
        """The absolute URL when `href` points at our site. Most links on a page are
        relative to a page that is not ours: those are settled without resolving them."""
        if not _ABSOLUTE.match(href) and not self._base_ours:
            return None
        try:
            absolute = urljoin(self._base, href)
        except ValueError:
            return None
        return absolute if self._our.owns(absolute) else None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._close()  # an unclosed <a> ends where the next one starts
            values = dict(attrs)
            href = (values.get("href") or "").strip()
            if href and not href.lower().startswith(("javascript:", "mailto:", "tel:", "#")):
                absolute = self._ours(href)
                if absolute is not None:
                    self._open = (absolute, rel_of(values.get("rel")))
        elif tag == "base" and not self._base_seen:
            href = (dict(attrs).get("href") or "").strip()
            if href:
                # Only the first <base href> counts (HTML spec), resolved against the page URL.
                try:
                    self._set_base(urljoin(self._base, href))
                except ValueError:
                    pass
                self._base_seen = True
        elif tag == "img" and self._open is not None and not self._img_alt:
            self._img_alt = (dict(attrs).get("alt") or "").strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close()

    def handle_data(self, data: str) -> None:
        if self._open is not None and self._text_len < MAX_ANCHOR:
            self._text.append(data)
            self._text_len += len(data)

    def _close(self) -> None:
        if self._open is None:
            return
        href, rel = self._open
        anchor = " ".join("".join(self._text).split()) or self._img_alt
        if len(self.links) < MAX_LINKS_KEPT:
            self.links.append(FoundLink(href=href, anchor=anchor[:MAX_ANCHOR], rel=rel))
        self._open, self._text, self._text_len, self._img_alt = None, [], 0, ""

    def finish(self) -> list[FoundLink]:
        self.close()
        self._close()
        return self.links


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_SNIFF_BYTES = 4096


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def _declared_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return _codec(value)
    return None


class _Text:
    """Bytes to text as they stream: the header's charset, else a BOM or `<meta charset>` in
    the first chunk, else UTF-8; undecodable bytes become U+FFFD (we only look for links)."""

    def __init__(self, declared: str | None) -> None:
        self._declared = declared
        self._decoder: codecs.IncrementalDecoder | None = None

    def _sniff(self, head: bytes) -> str:
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        found = _META_CHARSET.search(head[:_SNIFF_BYTES])
        name = _codec(found.group(1).decode("ascii")) if found else None
        # A page readable as ASCII cannot really be UTF-16, whatever its meta tag says.
        return name if name and not name.startswith("utf-16") else "utf-8"

    def decode(self, chunk: bytes, *, final: bool = False) -> str:
        if self._decoder is None:
            name = self._declared or self._sniff(chunk)
            self._decoder = codecs.getincrementaldecoder(name)(errors="replace")
        return self._decoder.decode(chunk, final)


async def _read(
    client: httpx.AsyncClient, url: str, our: OurSite, limits: FetchLimits, result: PageCheck
) -> None:
    headers = {"User-Agent": limits.user_agent, "Accept": "text/html,application/xhtml+xml"}
    async with client.stream("GET", url, headers=headers, follow_redirects=True) as response:
        result.status_code = response.status_code
        result.final_url = str(response.url)
        if response.status_code >= 400:
            result.error = f"HTTP {response.status_code}"
            return
        content_type = response.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        if media not in HTML_TYPES:
            result.error = f"not an HTML page ({media or 'no content type'})"
            return
        decoder = _Text(_declared_charset(content_type))
        finder = LinkFinder(result.final_url, our)
        async for chunk in response.aiter_bytes():
            room = limits.max_bytes - result.bytes_read
            if len(chunk) >= room:
                # Stop reading here; what arrived so far is still checked.
                finder.feed(decoder.decode(chunk[:room]))
                result.bytes_read += room
                result.truncated = len(chunk) > room
                if result.truncated:
                    break
                continue
            result.bytes_read += len(chunk)
            finder.feed(decoder.decode(chunk))
        finder.feed(decoder.decode(b"", final=True))
        result.links = finder.finish()


async def check_page(
    client: httpx.AsyncClient, url: str, our: OurSite, limits: FetchLimits
) -> PageCheck:
    """Never raises for what a page or the network does: the reason is in `error`."""
    result = PageCheck(url=url)
    if urlsplit(url).scheme not in ("http", "https"):
        result.error = "not an http(s) URL"
        return result
    try:
        async with asyncio.timeout(limits.deadline):
            await _read(client, url, our, limits, result)
    except TimeoutError:
        result.error = f"timed out after {limits.deadline:g}s"
    except httpx.TimeoutException as exc:
        result.error = f"timed out ({type(exc).__name__})"
    except httpx.TooManyRedirects:
        result.error = f"more than {limits.max_redirects} redirects"
    except NonPublicAddressError as exc:
        result.error = f"refused: {exc.host} is not a public address"
    except httpx.HTTPError as exc:
        result.error = f"fetch failed ({type(exc).__name__})"
    if result.error:
        result.links = []
    return result


def build_client(limits: FetchLimits, *, resolve: Resolve | None = None) -> httpx.AsyncClient:
    """`resolve` answers host lookups (default: the system's resolver)."""
    return httpx.AsyncClient(
        transport=VettedTransport(resolve=resolve, allow_private=limits.allow_private),
        trust_env=False,  # no proxy from the environment: it would connect on its own terms
        timeout=httpx.Timeout(
            connect=limits.connect_timeout,
            read=limits.read_timeout,
            write=limits.read_timeout,
            pool=limits.connect_timeout,
        ),
        max_redirects=limits.max_redirects,
        headers={"User-Agent": limits.user_agent},
    )
