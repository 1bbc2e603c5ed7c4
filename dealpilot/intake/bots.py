"""Who fetched a pixel or followed a link: a person, a machine opening on a person's behalf, or
a bot.

- Gmail's and Yahoo's image proxies fetch the pixel when a person opens the email (they cache
  images at open time, not at delivery): those are a person's opens.
- Apple Mail Privacy Protection fetches every image when the email arrives, whether or not
  anyone reads it. Those are *machine opens*: recorded per email (`EmailLog.machine_opened`),
  never counted as engagement, and never evidence that nobody is there (see
  `workflows.rules.is_ghost`). Its fetches carry the bare User-Agent "Mozilla/5.0".
- Link scanners of mail security gateways, crawlers and HTTP libraries are bots: stored (and
  shown) but flagged `is_bot`, so engagement scores leave them out.
"""

from __future__ import annotations

import re
from functools import lru_cache

_AUTOMATED = re.compile(
    r"yahoo! slurp|barracuda|mimecast|proofpoint"
    r"|ppops|safelinks|safe ?links|microsoft ?defender|office365|outlook-(?:ios|android)-scanner"
    r"|forcepoint|sophos|trend ?micro|symantec|messagelabs|fireeye|trellix|cisco ?ironport"
    r"|bot\b|bot/|spider|crawler|scanner|preview|python-requests|python-urllib|curl/|wget/"
    r"|go-http-client|java/|okhttp|headlesschrome|phantomjs",
    re.IGNORECASE,
)
# A person opened the email in Gmail or Yahoo Mail; the proxy fetched the image for them.
_PERSON_PROXIES = re.compile(r"googleimageproxy|ggpht\.com|yahoomailproxy", re.IGNORECASE)
# Apple's Mail Privacy Protection prefetch: the User-Agent is exactly this, nothing more.
_APPLE_PREFETCH = "Mozilla/5.0"


def is_machine_open(user_agent: str | None) -> bool:
    """An Apple Mail Privacy Protection prefetch: not a sign that anyone read the email."""
    return (user_agent or "").strip() == _APPLE_PREFETCH


@lru_cache(maxsize=4096)  # the same few mail clients fetch most pixels
def looks_automated(user_agent: str | None) -> bool:
    """No person behind it. A missing User-Agent is automated too: every mail client and
    browser sends one. Machine opens are automated; Gmail's and Yahoo's proxies are not."""
    if not user_agent or not user_agent.strip():
        return True
    if _PERSON_PROXIES.search(user_agent):
        return False
    return is_machine_open(user_agent) or _AUTOMATED.search(user_agent) is not None
