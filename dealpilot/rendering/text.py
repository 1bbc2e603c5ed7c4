"""HTML to plain text and back: the text alternative of every email, and untrusted text (an
AI-written body) laid out as escaped HTML paragraphs."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from markupsafe import Markup

_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_SKIP = frozenset("head style script title template".split())
_BLOCK = frozenset(
    "p div table tr td th h1 h2 h3 h4 h5 h6 ul ol blockquote section header footer".split()
)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._open: list[tuple[str, bool, str | None]] = []  # (tag, hidden, href)
        self._hidden = 0
        self._link_starts: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if not self._hidden:
                self.parts.append("\n" if tag == "br" else "\n\n" if tag == "hr" else "")
            return
        attr = dict(attrs)
        style = (attr.get("style") or "").replace(" ", "").lower()
        hidden = tag in _SKIP or "display:none" in style
        href = attr.get("href") if tag == "a" else None
        self._open.append((tag, hidden, href))
        if hidden:
            self._hidden += 1
        elif not self._hidden:
            if tag in _BLOCK:
                self.parts.append("\n\n")
            if tag == "li":
                self.parts.append("\n- ")
            if tag == "a":
                self._link_starts.append(len(self.parts))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                break
        else:
            return
        for name, hidden, href in reversed(self._open[i:]):
            if hidden:
                self._hidden -= 1
            elif not self._hidden:
                if name == "a":
                    self._close_link(href)
                elif name in _BLOCK:
                    self.parts.append("\n\n")
        del self._open[i:]

    def _close_link(self, href: str | None) -> None:
        start = self._link_starts.pop() if self._link_starts else len(self.parts)
        label = " ".join("".join(self.parts[start:]).split())
        url = (href or "").strip()
        if url.lower().startswith("mailto:"):
            url = url[7:]
        if url and url not in label:
            self.parts.append(f" ({url})" if label else url)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        raw = "".join(self.parts)
        lines = [re.sub(r"[ \t]+", " ", line).strip() for line in raw.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """A readable plain-text alternative: paragraphs, links as "text (url)", no tags."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()


_BLOCK_TAG_RE = re.compile(r"<(p|br|div|li|table|h[1-6])\b", re.IGNORECASE)
_URL_RE = re.compile(r"https?://[^\s<>\"']+")


def _linkify(escaped: str) -> str:
    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        trail = ""
        while url and url[-1] in ".,;:!?)":
            trail = url[-1] + trail
            url = url[:-1]
        return f'<a href="{url}">{url}</a>{trail}'

    return _URL_RE.sub(link, escaped)


def text_to_html_paragraphs(body: str) -> Markup:
    """Untrusted text (or HTML, reduced to text first) as escaped paragraphs."""
    body = body.replace("\r\n", "\n")
    if "<" in body:
        # Plain text with stray tags keeps its line breaks; real HTML brings its own.
        if not _BLOCK_TAG_RE.search(body):
            body = body.replace("\n", "<br>")
        text = html_to_text(body)
    else:
        text = body
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for para in paragraphs:
        lines = [_linkify(escape(line.strip(), quote=True)) for line in para.split("\n")]
        out.append('<p style="margin:0 0 16px;">' + "<br>\n".join(lines) + "</p>")
    return Markup("\n".join(out))
