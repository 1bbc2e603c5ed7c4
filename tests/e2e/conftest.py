"""`dealpilot dev --demo` as a user runs it: a real subprocess on free ports, its own data dir."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.waiting import WaitTimeout, wait_until

BIN = Path(sys.executable).parent
DEALPILOT = BIN / "dealpilot"
HEALTH_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_temporal_port() -> int:
    """A gRPC port whose Web UI port (gRPC + 1000, as devstack derives it) is free too."""
    for _ in range(100):
        port = free_port()
        if port + 1000 < 65536 and _port_free(port + 1000):
            return port
    raise RuntimeError("no free port pair for Temporal")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc): the temporal dev server under `dealpilot dev`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def temporal_servers(data_dir: Path) -> list[int]:
    """Live `temporal` processes whose command line names `data_dir` (its temporal.db): the
    dev servers of the stack on that data directory, whoever their parent is now."""
    needle = str(data_dir.resolve())
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if Path(argv[0].decode(errors="replace")).name != "temporal":
            continue
        pid = int(cmdline.parent.name)
        if any(needle in a.decode(errors="replace") for a in argv) and pid_alive(pid):
            found.append(pid)
    return found


def pid_alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


@dataclass
class DevStack:
    data_dir: Path
    api_port: int
    temporal_port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    children: list[int] = field(default_factory=list)
    args: tuple[str, ...] = ("--demo",)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def outbox(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def api_key(self) -> str:
        return (self.data_dir / "api_key").read_text().strip()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(DEALPILOT), "dev", *self.args, "--port", str(self.api_port)],
                env=self.env,
                cwd=self.data_dir.parent,  # no stray .env from the repo
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        proc = self.proc

        def healthy() -> bool:
            if proc.poll() is not None:
                code = proc.returncode
                raise RuntimeError(f"dealpilot dev exited ({code}):\n{self.log()[-4000:]}")
            try:
                return httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_until(healthy, timeout=HEALTH_TIMEOUT, interval=0.5, what="/healthz")
        except WaitTimeout:
            self.kill()
            raise RuntimeError(
                f"/healthz did not answer within {HEALTH_TIMEOUT}s:\n{self.log()[-4000:]}"
            ) from None
        self.children = child_pids(proc.pid)

    def interrupt(self) -> int:
        """Ctrl-C; returns the exit code. Raises if it does not stop within STOP_TIMEOUT."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        # The temporal child runs in its own session: a killed parent could leave it behind.
        for pid in {*self.children, *temporal_servers(self.data_dir)}:
            if pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DEALPILOT), *args],
            env=self.env,
            cwd=self.data_dir.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def make_devstack(root: Path, *args: str) -> DevStack:
    """A stack (not started) on free ports with its data directory under `root`; `args` are
    `dealpilot dev`'s options besides --port (default: --demo)."""
    data_dir = root / "data"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DEALPILOT_", "TEMPORAL_", "DATABASE_URL", "OPENAI_"))
    }
    temporal_port = free_temporal_port()
    env |= {
        "DEALPILOT_DATA_DIR": str(data_dir),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "DEALPILOT_LOG_LEVEL": "INFO",
        "PYTHONWARNINGS": "ignore",
    }
    return DevStack(
        data_dir=data_dir,
        api_port=free_port(),
        temporal_port=temporal_port,
        env=env,
        log_path=root / "dev.log",
        args=args or ("--demo",),
    )


@pytest.fixture(scope="module")
def devstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    stack = make_devstack(tmp_path_factory.mktemp("devstack"))
    stack.start()
    try:
        yield stack
    finally:
        stack.kill()
