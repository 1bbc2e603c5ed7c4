"""What the benchmarks share: a seeded database (SQLite, or a fresh PostgreSQL database), the
Temporal binaries, the table."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from dealpilot.setup.seed import seed
from dealpilot.temporal.converter import data_converter
from models import Brand, Contact, Pipeline, PipelineStage, make_engine, migrate, session_scope

BIN = Path(sys.executable).parent
DEV_SERVER = BIN / "temporal"
TEST_SERVER = BIN / "temporal-test-server"
LOCAL_POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


async def dev_server(db_file: Path | None = None) -> WorkflowEnvironment:
    """A Temporal dev server (`temporal` from PyPI, quiet; in memory, or in the SQLite file
    `db_file`), its client speaking pydantic; `await env.shutdown()` stops it."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        data_converter=data_converter,
        dev_server_log_level="error",
        dev_server_extra_args=[] if db_file is None else ["--db-filename", str(db_file)],
    )


def seeded_sqlite(path: Path) -> Engine:
    return seeded(f"sqlite:///{path}")


def seeded(url: str) -> Engine:
    """Migrated and seeded (default brands, pipelines, templates) database at `url`."""
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        seed(session)
    return engine


@contextmanager
def fresh_postgres(admin_url: str = LOCAL_POSTGRES) -> Iterator[str]:
    """A new, empty database on the server of `admin_url`, dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class Target:
    brand_slug: str
    brand_id: int
    pipeline_id: int
    pipeline_name: str
    first_stage: str
    first_stage_id: int


def target(engine: Engine, brand: str = "codeteki", pipeline: str = "sales") -> Target:
    with session_scope(engine) as s:
        b = s.exec(select(Brand).where(Brand.slug == brand)).one()
        p = s.exec(
            select(Pipeline).where(Pipeline.brand_id == b.id, Pipeline.slug == pipeline)
        ).one()
        first = s.exec(
            select(PipelineStage)
            .where(PipelineStage.pipeline_id == p.id)
            .order_by(PipelineStage.order)  # type: ignore[arg-type]
        ).first()
        assert first is not None
        assert b.id is not None
        assert p.id is not None
        return Target(b.slug, b.id, p.id, p.name, first.name, first.id or 0)


def add_contacts(engine: Engine, brand_id: int, n: int, prefix: str) -> list[tuple[int, str, str]]:
    """n contacts of one brand: (id, email, name)."""
    with session_scope(engine) as s:
        contacts = [
            Contact(brand_id=brand_id, email=f"{prefix}{i}@bench.example", name=f"Lead {i}")
            for i in range(n)
        ]
        s.add_all(contacts)
        s.flush()
        return [(c.id or 0, c.email, c.name or "") for c in contacts]


class Clock:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


class CpuClock:
    """CPU seconds used by this process (`own`) and its live child processes (`children`: a
    Temporal server it started) since the clock started: unlike wall time, it does not grow
    with other work on a shared machine (a database server in another process is not
    counted)."""

    def __init__(self) -> None:
        self._own, self._children = self._now()

    @staticmethod
    def _now() -> tuple[float, float]:
        me = os.getpid()
        return _proc_cpu(me), sum(_proc_cpu(kid) for kid in _children(me))

    @property
    def own(self) -> float:
        return self._now()[0] - self._own

    @property
    def children(self) -> float:
        return self._now()[1] - self._children

    @property
    def seconds(self) -> float:
        own, children = self._now()
        return own - self._own + children - self._children


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [
        [f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
