"""`dealpilot import contacts`: the same service from the command line, with a progress bar
and a per-row report file."""

from __future__ import annotations

import csv
import gc
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from typer.testing import CliRunner

from dealpilot.cli.imports import import_app
from dealpilot.core.settings import get_settings
from models import Contact, Deal
from tests import factories as f
from tests.imports.helpers import contact_count, contacts_of, csv_bytes

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(engine: Engine, tmp_path: Path) -> Iterator[dict[str, str]]:
    get_settings.cache_clear()
    yield {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "DEALPILOT_DATA_DIR": str(tmp_path / "data"),
        "DEALPILOT_ENV": "test",
    }
    get_settings.cache_clear()


@pytest.fixture
def brand_id(engine: Engine) -> int:
    with Session(engine, expire_on_commit=False) as s:
        brand = f.make_brand(s, slug="codeteki")
        f.make_pipeline(s, brand=brand, slug="sales")
        f.make_contact(s, brand=brand, email="known@example.com")
        return brand.id or 0


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    """`dealpilot import contacts ...` in-process. The sub-app is invoked directly: the root
    app's callback would configure structlog to print to CliRunner's stream, which is
    closed afterwards (later tests would log into it). The subprocess test below goes
    through the installed `dealpilot` command."""
    result = CliRunner().invoke(import_app, list(args), env=env)  # its only command
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_import_prints_a_summary_and_writes_the_report(
    env: dict[str, str], engine: Engine, brand_id: int, tmp_path: Path
) -> None:
    source = tmp_path / "contacts.csv"
    source.write_bytes(
        csv_bytes(
            [
                ["Email Address", "Given Name", "Family Name", "Business"],
                ["ann@example.com", "Ann", "Lee", "Lee & Co"],
                ["Ann@Example.com", "Ann", "", ""],
                ["known@example.com", "", "", ""],
                ["nope", "", "", ""],
            ],
            delimiter=";",
            bom=True,
        )
    )
    report = tmp_path / "out" / "report.csv"
    report.parent.mkdir()
    code, output = run(
        env, str(source), "--brand", "codeteki", "--tag", "expo", "--report", str(report)
    )
    assert code == 0, output
    assert "Importing" in output  # the progress bar
    assert "4 rows: 1 created, 0 updated, 2 skipped, 1 invalid" in output
    assert "line 3: ann@example.com  skipped  duplicate in file (line 2)" in output
    with report.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["line"], r["email"], r["result"]) for r in rows] == [
        ("2", "ann@example.com", "created"),
        ("3", "ann@example.com", "skipped"),
        ("4", "known@example.com", "skipped"),
        ("5", "nope", "invalid"),
    ]
    assert rows[0]["contact_id"]
    ann = contacts_of(engine, brand_id)["ann@example.com"]
    assert (ann.name, ann.company, ann.tags) == ("Ann Lee", "Lee & Co", ["expo"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"email\na@example.com\n" + "b@example.com,Ren\u00e9e\n".encode("cp1252"), "line 3"),
        (b"name,phone\nAnn,1\n", "no column for email; the columns found are: 'name', 'phone'"),
        (b"", "the file is empty"),
    ],
)
def test_broken_files_exit_2_and_import_nothing(
    env: dict[str, str], engine: Engine, brand_id: int, tmp_path: Path, data: bytes, message: str
) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes(data)
    code, output = run(env, str(source), "--brand", "codeteki")
    assert code == 2
    assert message in output
    assert "nothing was imported" in output
    assert contact_count(engine) == 1  # only the contact the fixture made


def test_unknown_pipeline_exits_2(env: dict[str, str], brand_id: int, tmp_path: Path) -> None:
    source = tmp_path / "c.csv"
    source.write_bytes(b"email\na@example.com\n")
    code, output = run(env, str(source), "--brand", "codeteki", "--pipeline", "nope")
    assert code == 2
    assert "Brand 'codeteki' has no pipeline 'nope'" in output


def test_enrolment_without_starting_says_how_to_start(
    env: dict[str, str], engine: Engine, brand_id: int, tmp_path: Path
) -> None:
    source = tmp_path / "c.csv"
    source.write_bytes(b"email\na@example.com\nknown@example.com\nb@example.com\n")
    code, output = run(env, str(source), "--brand", "codeteki", "--pipeline", "sales", "--no-start")
    assert code == 0, output
    assert "2 deals created in pipeline sales" in output
    assert "POST /api/crm/deals/{id}/start/" in output
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Deal)).scalar_one() == 2


def test_unreachable_temporal_keeps_the_deals(
    env: dict[str, str], engine: Engine, brand_id: int, tmp_path: Path
) -> None:
    """A real process: the CLI ends with os._exit after talking to Temporal."""
    source = tmp_path / "c.csv"
    source.write_bytes(b"email\na@example.com\n")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dealpilot"), "import", "contacts", str(source)]
        + ["--brand", "codeteki", "--pipeline", "sales"],
        env={**os.environ, **env, "TEMPORAL_ADDRESS": "127.0.0.1:1"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "1 rows: 1 created" in result.stdout
    assert "0 workflows started" in result.stdout
    assert "Temporal at 127.0.0.1:1 is unreachable" in result.stderr
    with Session(engine) as s:
        deal = s.execute(select(Deal)).scalar_one()
        assert deal.workflow_id is None


ROWS = 10_000


@pytest.mark.timeout(300)  # 10,000 rows under tracemalloc on a busy CI machine
def test_ten_thousand_rows_in_bounded_memory(
    env: dict[str, str], engine: Engine, brand_id: int, tmp_path: Path
) -> None:
    source = tmp_path / "big.csv"
    with source.open("w", encoding="utf-8", newline="") as out:
        out.write("email\tname\tcompany\tnotes\n")
        for i in range(ROWS):
            out.write(f"p{i}@example.com\tPerson {i}\tCo {i % 50}\t{'x' * 1000}\n")
    size = source.stat().st_size
    warm = tmp_path / "warm.csv"
    warm.write_bytes(b"email\nwarm@example.com\n")
    assert run(env, str(warm), "--brand", "codeteki")[0] == 0

    gc.collect()
    tracemalloc.start()
    try:
        code, output = run(env, str(source), "--brand", "codeteki")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 0, output
    assert f"{ROWS} rows: {ROWS} created, 0 updated, 0 skipped, 0 invalid" in output
    with Session(engine) as s:
        count = select(func.count()).where(col(Contact.brand_id) == brand_id)
        assert s.execute(count).scalar_one() == ROWS + 2  # + known + warm
    # The rows held once would exceed `size` (10 MB of notes alone).
    assert size > 10_000_000
    assert peak < size, f"peak {peak:,} bytes for a {size:,} byte file"
