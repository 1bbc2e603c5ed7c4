"""The Temporal servers the tests use, both from PyPI packages (nothing is downloaded)."""

from __future__ import annotations

import sys
from pathlib import Path

BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"
DEV_SERVER = BIN / "temporal"
