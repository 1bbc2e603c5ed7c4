"""`dealpilot backlinks import | pitch | verify` as real subprocesses against PostgreSQL (in
process, the CLI's logging set-up would bind structlog to the runner's captured streams)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models import AIDecisionLog, BacklinkOpportunity, Brand
from tests.backlinks.pages import Pages
from tests.factories import make_brand

DATA = Path(__file__).parent / "data"
DEALPILOT = Path(sys.executable).parent / "dealpilot"


@pytest.fixture
def cli_env(engine: Engine, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TEMPORAL_"))}
    env.update(
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        DEALPILOT_ENV="test",
        DEALPILOT_DATA_DIR=str(tmp_path),
        LINK_CHECK_TIMEOUT="PT2S",
        LINK_CHECK_ALLOW_PRIVATE="true",
    )
    return env


@pytest.fixture
def brand(session: Session) -> Brand:
    return make_brand(session, slug="codeteki", name="Codeteki")


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [str(DEALPILOT), "backlinks", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def _opps(engine: Engine) -> list[BacklinkOpportunity]:
    with Session(engine) as s:
        return list(s.exec(select(BacklinkOpportunity).order_by(col(BacklinkOpportunity.id))))


def test_import_pitch_and_verify(
    cli_env: dict[str, str], engine: Engine, brand: Brand, pages: Pages
) -> None:
    code, out, err = _run(
        cli_env,
        "import", str(DATA / "ahrefs_backlinks.csv"), "--brand", "codeteki",
        "--keywords", "web development",
    )  # fmt: skip
    assert code == 0, err
    assert "5 rows (ahrefs export): 3 created, 0 updated, 1 skipped, 1 invalid" in out
    assert "line 3: https://devblog.example.org/best-web-dev-tools  skipped  duplicate" in out
    assert len(_opps(engine)) == 3

    code, out, err = _run(cli_env, "pitch", "--brand", "codeteki")
    assert code == 0, err
    assert "3 pitched, 0 failed" in out
    assert all(o.outreach_angle for o in _opps(engine))
    code, out, _ = _run(cli_env, "pitch", "--brand", "codeteki")
    assert "0 pitched" in out  # only missing ones by default
    with Session(engine) as s:
        assert len(s.exec(select(AIDecisionLog)).all()) == 3

    first = _opps(engine)[0]
    with Session(engine) as s:
        row = s.get(BacklinkOpportunity, first.id)
        assert row is not None
        row.target_url = pages.set("cli", "<a href='https://codeteki.example.com/'>us</a>")
        row.status = "outreaching"
        s.add(row)
        s.commit()
    code, out, err = _run(cli_env, "verify", "--brand", "codeteki", "--no-move-deals")
    assert code == 0, err
    assert "1 checked: 1 found, 0 missing, 0 removed, 0 errors; 0 deals moved" in out
    assert _opps(engine)[0].link_check == "found"


def test_broken_file_and_unknown_brand(
    cli_env: dict[str, str], engine: Engine, brand: Brand, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"Domain rating,Anchor\n50,x\n")
    code, _, err = _run(cli_env, "import", str(bad), "--brand", "codeteki")
    assert code == 2
    assert "nothing was imported" in err
    code, _, err = _run(cli_env, "verify", "--brand", "nope", "--no-move-deals")
    assert (code, err.strip()) == (2, "No brand 'nope'")
    assert _opps(engine) == []
