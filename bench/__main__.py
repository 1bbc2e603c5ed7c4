"""`make bench` / `python -m bench [NAME ...]`: every benchmark in turn (or the ones named), each
in its own process with its defaults, each printing its ratios against a baseline measured in
the same run. Exits non-zero if any of them failed."""

from __future__ import annotations

import subprocess
import sys
import time

BENCHMARKS = (
    "enrolment",
    "deal_cycle",
    "intake",
    "intake_outage",
    "unsubscribe_race",
    "imports",
    "link_check",
    "console",
    "api_scale",
    "intelligence",
)


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; one of {', '.join(BENCHMARKS)}")
        return 2
    failed = []
    for name in names or BENCHMARKS:
        print(f"\n=== bench.{name}", flush=True)
        started = time.monotonic()
        code = subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode
        print(f"=== bench.{name}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
