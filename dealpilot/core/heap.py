"""The garbage collector of a long-running process (the API, the worker): what startup built is
kept out of its full collections.

CPython's cyclic collector stops the whole process while it walks every tracked object of the
generation it collects. A full (generation 2) collection walks the modules, classes, schemas and
compiled templates startup built, hundreds of thousands of objects that live as long as the
process, and the event loop serves nothing meanwhile: in `bench.intake` (click, 16 connections,
10 s) the API ran 8 full collections of up to 205 ms each, which set the endpoints' p99 latency.
`gc.freeze()` moves every object alive at that moment into a permanent generation the collector
never walks, so later full collections walk only what the process made since (Instagram's
recipe, and the one Python's documentation gives for it).
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collects what startup left over, then freezes everything alive: call it once, when the
    process has built what it serves with and before it serves. What it would otherwise build
    on first use and keep is best built before (the API builds its OpenAPI schema first: left
    to the first /openapi.json, its 80,000 objects were walked by every full collection)."""
    gc.collect()
    gc.freeze()
