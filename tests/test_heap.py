"""`freeze_startup_heap`: what is alive when a process has started is left out of the cyclic
collector's walks (dealpilot.core.heap); what the process makes afterwards is still collected.
In a subprocess: freezing the test process's own heap would keep its garbage for good."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import gc
from dealpilot.core.heap import freeze_startup_heap

class Node:
    def __init__(self):
        self.me = self  # a cycle: only the cyclic collector frees it

built_at_start = Node()
freeze_startup_heap()
made_later = Node()
walked = {id(o) for o in gc.get_objects()}
print(id(built_at_start) in walked, id(made_later) in walked)
del made_later
print(gc.collect() > 0)
"""


def test_startup_objects_are_frozen_and_later_garbage_still_collected() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True", "True"]
