"""Opens and clicks that no person made: privacy proxies fetching images, and the link scanners
of mail security gateways. They are stored (and shown) but flagged `is_bot`, so engagement
scores leave them out."""

from __future__ import annotations

import re

_AUTOMATED = re.compile(
    r"googleimageproxy|ggpht\.com|yahoomailproxy|yahoo! slurp|barracuda|mimecast|proofpoint"
    r"|ppops|safelinks|safe ?links|microsoft ?defender|office365|outlook-(?:ios|android)-scanner"
    r"|forcepoint|sophos|trend ?micro|symantec|messagelabs|fireeye|trellix|cisco ?ironport"
    r"|bot\b|bot/|spider|crawler|scanner|preview|python-requests|python-urllib|curl/|wget/"
    r"|go-http-client|java/|okhttp|headlesschrome|phantomjs",
    re.IGNORECASE,
)


def looks_automated(user_agent: str | None) -> bool:
    """A missing User-Agent is automated too: every mail client and browser sends one."""
    if not user_agent or not user_agent.strip():
        return True
    return _AUTOMATED.search(user_agent) is not None
