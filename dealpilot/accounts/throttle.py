"""Login throttling: after too many failed logins for one address (or from one client),
further attempts are refused for a while, even with the right password."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


class LoginThrottle:
    """Counts failures per key (an email address, a client address) in a sliding window.

    In memory, per API process: with N replicas an attacker gets N times the budget, which
    still bounds a password guess to a handful per window. `clock` is injectable for tests."""

    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window: timedelta = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_failures
        self._window = window.total_seconds()
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        seen = self._failures.setdefault(key, deque())
        while seen and seen[0] <= now - self._window:
            seen.popleft()
        return seen

    def blocked(self, *keys: str) -> bool:
        now = self._clock()
        with self._lock:
            return any(len(self._recent(key, now)) >= self._max for key in keys)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
