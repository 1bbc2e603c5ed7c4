"""`make bench` / `python -m bench [--full] [NAME ...]`: every benchmark in turn (or the ones
named), each in its own process, each printing its ratios against a baseline measured in the
same run. Quick mode (the default) runs each at a size that takes a minute or so on 2 cores;
`--full` runs them at the sizes the issues name (100,000 deals, 1,000,000 email logs; most of
an hour). The figures go into `bench/results/latest.md` with a chart of the ratios
(`bench/results/ratios.svg`). Exits non-zero if any benchmark failed."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.results import RESULTS_DIR, RESULTS_ENV, load, write_report

# name -> arguments in quick mode (full mode: each benchmark's own defaults, or FULL's).
QUICK: dict[str, list[str]] = {
    "enrolment": ["--n", "200", "--rounds", "2"],
    "deal_cycle": ["--deals", "100"],
    "workers": ["--deals", "150"],
    "sleeping": [],
    "intake": ["--db", "postgres", "--levels", "16", "--seconds", "5"],
    "intake_outage": ["--db", "postgres", "--requests", "300"],
    "unsubscribe_race": ["--deals", "60"],
    "imports": ["--rows", "3000"],
    "link_check": ["--pages", "200"],
    "console": ["--deals", "500", "--requests", "30"],
    "api_scale": ["--deals", "20000", "--contacts", "5000", "--logs", "200000", "--requests", "15"],
    "intelligence": ["--sends", "30000", "--deals", "3000"],
}
FULL: dict[str, list[str]] = {
    "intake": ["--db", "postgres", "--levels", "16"],
    "intake_outage": ["--db", "postgres"],
    "sleeping": ["--full"],
    "console": ["--postgres"],
}
BENCHMARKS = tuple(QUICK)


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issues' sizes (long)")
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; one of {', '.join(BENCHMARKS)}")
        return 2
    failed = []
    started_at = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory(prefix="dealpilot-bench-") as tmp:
        results = Path(tmp) / "figures.jsonl"
        env = {**os.environ, RESULTS_ENV: str(results)}
        for name in args.names or BENCHMARKS:
            extra = FULL.get(name, []) if args.full else QUICK[name]
            print(f"\n=== bench.{name} {' '.join(extra)}", flush=True)
            started = time.monotonic()
            command = [sys.executable, "-m", f"bench.{name}", *extra]
            code = subprocess.run(command, env=env, check=False).returncode
            print(
                f"=== bench.{name}: exit {code} after {time.monotonic() - started:.0f} s",
                flush=True,
            )
            if code:
                failed.append(name)
        figures = load(results)
    ran = set(args.names or BENCHMARKS)
    kept = [f for f in load(RESULTS_DIR / "figures.jsonl") if f.bench not in ran]
    header = [
        "`" + " ".join(["python -m bench", *(["--full"] if args.full else []), *args.names]) + "`",
        f"commit {_commit()}, started {started_at:%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} CPUs, load average at the end {os.getloadavg()[0]:.2f}.",
        "Every ratio is against a baseline measured in the same run on the same machine.",
    ]
    if kept:
        others = sorted({f.bench for f in kept})
        header.append(
            f"Figures of {', '.join(others)} are from an earlier run (not run this time)."
        )
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    everything = sorted([*kept, *figures], key=lambda f: order.get(f.bench, len(order)))
    report = write_report(everything, header=header, failed=failed)
    print(f"\n{len(figures)} figures written to {report} (chart: {report.parent / 'ratios.svg'})")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
