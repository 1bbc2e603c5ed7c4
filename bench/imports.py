"""Contact import rate against a plain bulk INSERT of the same contacts.

    .venv/bin/python -m bench.imports [--rows 10000] [--repeat 3] [--postgres]

(a) baseline: the contacts as ready-made dicts, one `INSERT` executemany (SQLAlchemy's
    insertmanyvalues) in one transaction - no parsing, no validation, no dedupe.
(b) import: `dealpilot.imports.contacts.import_contacts` on the same rows as a CSV file
    (decode, sniff, map columns, validate each address and field, dedupe, suppression and
    existing-contact lookups per batch, insert), into a brand of its own each run.
(c) re-import: the same file again into the same brand with `update_existing` (every row
    is looked up and compared; nothing changes).
Each figure is the median of `--repeat` runs; the ratio to (a) is the figure to watch.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, insert
from sqlmodel import Session

from bench.common import LOCAL_POSTGRES, Clock, fresh_postgres, seeded, seeded_sqlite, table
from bench.results import record
from dealpilot.imports.contacts import ImportOptions, import_contacts
from models import Brand, Contact, utcnow

COLUMNS = ["Email", "First Name", "Last Name", "Company", "Website", "Phone", "Tags", "Notes"]


def rows(n: int) -> list[list[str]]:
    return [
        [
            f"lead{i}@company{i % 500}.com.au",
            f"First{i}",
            f"Last{i}",
            f"Company {i % 500} Pty Ltd",
            f"https://company{i % 500}.com.au",
            f"+61 2 9{i:07d}",
            "sydney; b2b" if i % 3 else "",
            "Met at the expo, wants a quote for a new website." if i % 7 == 0 else "",
        ]
        for i in range(n)
    ]


def csv_file(data: list[list[str]]) -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(data)
    return out.getvalue().encode()


def new_brand(engine: Engine, slug: str) -> int:
    with Session(engine) as s:
        brand = Brand(
            slug=slug,
            name=slug,
            domain=f"{slug}.example.com",
            from_email=f"hi@{slug}.example.com",
            from_name=slug,
        )
        s.add(brand)
        s.commit()
        return brand.id or 0


def baseline(engine: Engine, brand_id: int, data: list[list[str]]) -> float:
    now = utcnow()
    values = [
        {
            "brand_id": brand_id,
            "email": r[0],
            "name": f"{r[1]} {r[2]}",
            "company": r[3],
            "website": r[4],
            "phone": r[5],
            "tags": [t.strip() for t in r[6].split(";") if t.strip()],
            "notes": r[7],
            "source": "bench",
            "contact_type": "lead",
            "created_at": now,
            "updated_at": now,
        }
        for r in data
    ]
    clock = Clock()
    with Session(engine) as s:
        s.execute(insert(Contact), values)
        s.commit()
    return clock.seconds


def run_import(engine: Engine, brand_id: int, body: bytes, *, update: bool) -> float:
    options = ImportOptions(brand=str(brand_id), update_existing=update, source="bench")
    clock = Clock()
    with Session(engine) as s:
        report = import_contacts(s, io.BytesIO(body), options)
        s.commit()
    seconds = clock.seconds
    expected = "skipped" if update else "created"
    assert report.counts[report.rows[0].result] == len(report.rows), "unexpected outcomes"
    assert str(report.rows[0].result) == expected, report.rows[0]
    return seconds


@contextmanager
def database(postgres: bool) -> Iterator[Engine]:
    if postgres:
        with fresh_postgres(LOCAL_POSTGRES) as url:
            engine = seeded(url)
            try:
                yield engine
            finally:
                engine.dispose()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            engine = seeded_sqlite(Path(tmp) / "bench.db")
            try:
                yield engine
            finally:
                engine.dispose()


def median_rate(n: int, runs: list[Callable[[], float]]) -> float:
    return n / statistics.median(run() for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help=f"a fresh DB on {LOCAL_POSTGRES}")
    args = parser.parse_args()
    data = rows(args.rows)
    body = csv_file(data)
    with database(args.postgres) as engine:
        # Warm-up: imports, statement caches, connection pool.
        warm = new_brand(engine, "bench-warm")
        run_import(engine, warm, csv_file(data[:200]), update=False)

        brands = [new_brand(engine, f"bench-base-{i}") for i in range(args.repeat)]
        base = median_rate(args.rows, [lambda b=b: baseline(engine, b, data) for b in brands])
        brands = [new_brand(engine, f"bench-import-{i}") for i in range(args.repeat)]
        imp = median_rate(
            args.rows, [lambda b=b: run_import(engine, b, body, update=False) for b in brands]
        )
        again = median_rate(
            args.rows, [lambda b=b: run_import(engine, b, body, update=True) for b in brands]
        )
    db = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{args.rows:,} rows ({len(body) / 1e6:.1f} MB CSV) on {db}, median of {args.repeat}")
    print(
        table(
            ["path", "rows/s", "ratio to baseline"],
            [
                ["plain bulk INSERT (baseline)", base, 1.0],
                ["import_contacts (new contacts)", imp, imp / base],
                ["import_contacts (re-import, update_existing)", again, again / base],
            ],
        )
    )
    for name, rate in (("import, new contacts", imp), ("re-import, update_existing", again)):
        record(
            "imports", f"{name}, rows/s ({db})", value=rate, baseline=base, unit="rows/s",
            baseline_name="plain bulk INSERT",
        )  # fmt: skip


if __name__ == "__main__":
    main()
