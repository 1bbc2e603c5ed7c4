"""`dealpilot dev` owns its Temporal dev server across crashes: after a `kill -9` the server does
not outlive it, a server a crash did leave behind is replaced on the next start, a pid file whose
pid now belongs to another process harms nothing, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dealpilot.cli import temporal_server
from dealpilot.core.settings import Settings
from tests.e2e.conftest import DevStack, make_devstack, pid_alive, port_open, temporal_servers
from tests.waiting import wait_until

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(180)]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DevStack]:
    stack = make_devstack(tmp_path, "--no-demo")
    stack.data_dir.mkdir(parents=True)
    try:
        yield stack
    finally:
        stack.kill()  # the stack and every temporal process naming its data dir


def settings_of(stack: DevStack) -> Settings:
    return Settings(
        _env_file=None,
        DEALPILOT_DATA_DIR=stack.data_dir,
        TEMPORAL_ADDRESS=stack.temporal_address,
    )


def pid_file(stack: DevStack) -> temporal_server.PidRecord | None:
    return temporal_server.read_pid_file(stack.data_dir / temporal_server.PID_FILE)


def ctrl_c_leaves_nothing(stack: DevStack) -> None:
    assert stack.interrupt() == 0, stack.log()[-4000:]
    wait_until(
        lambda: not temporal_servers(stack.data_dir),
        timeout=10,
        interval=0.2,
        what="no temporal process naming the data dir",
    )
    assert pid_file(stack) is None
    assert not port_open(stack.temporal_port)
    assert not port_open(stack.api_port)


def test_kill_9_takes_the_server_along_and_a_recycled_pid_is_left_alone(stack: DevStack) -> None:
    stack.start()
    assert stack.proc is not None
    first = temporal_servers(stack.data_dir)
    assert first == stack.children, (first, stack.children)
    record = pid_file(stack)
    assert record is not None
    assert record.pid == first[0]
    assert record.owner == stack.proc.pid

    stack.proc.send_signal(signal.SIGKILL)
    stack.proc.wait(timeout=10)
    # PR_SET_PDEATHSIG: the kernel sends the orphan SIGTERM when its parent dies.
    wait_until(
        lambda: not temporal_servers(stack.data_dir),
        timeout=20,
        interval=0.2,
        what="the temporal dev server to exit with its killed parent",
    )
    assert pid_file(stack) == record  # nobody cleaned up: the file is stale now

    # The dead server's pid is reused by an unrelated process: the next start must not touch it.
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        recycled = temporal_server.PidRecord(
            pid=bystander.pid,
            identity=record.identity,
            address=record.address,
            owner=record.owner,
            owner_identity=record.owner_identity,
        )
        temporal_server.write_pid_file(stack.data_dir / temporal_server.PID_FILE, recycled)

        stack.start()
        assert bystander.poll() is None
        assert pid_alive(bystander.pid)
        second = temporal_servers(stack.data_dir)
        assert second == stack.children, (second, stack.children)
        new_record = pid_file(stack)
        assert new_record is not None
        assert new_record.pid == second[0]
        assert "(an existing server" not in stack.log()

        ctrl_c_leaves_nothing(stack)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait(timeout=10)


def test_a_surviving_orphan_is_replaced_and_ctrl_c_stops_the_new_one(stack: DevStack) -> None:
    """Where PR_SET_PDEATHSIG does not exist (macOS) or did not fire, the server outlives a
    killed `dealpilot dev`: a running server, in its own session, named by a pid file whose
    owner is gone. That state is built here directly, without the death signal."""
    settings = settings_of(stack)
    orphan = subprocess.Popen(
        temporal_server.server_args(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: port_open(stack.temporal_port),
            timeout=60,
            interval=0.3,
            what="the orphan server to listen",
        )
        orphan_identity = temporal_server.identity(orphan.pid)
        assert orphan_identity is not None
        dead_owner = subprocess.Popen(["true"])  # stands for the killed `dealpilot dev`
        dead_owner.wait(timeout=10)
        temporal_server.write_pid_file(
            stack.data_dir / temporal_server.PID_FILE,
            temporal_server.PidRecord(
                pid=orphan.pid,
                identity=orphan_identity,
                address=stack.temporal_address,
                owner=dead_owner.pid,
                owner_identity="dealpilot dev (killed)",
            ),
        )

        stack.start()
        assert orphan.poll() is not None, "the orphan was reused instead of replaced"
        servers = temporal_servers(stack.data_dir)
        assert servers == stack.children, (servers, stack.children)
        assert orphan.pid not in servers
        record = pid_file(stack)
        assert record is not None
        assert record.pid == servers[0]
        assert "temporal.orphan_stopped" in stack.log()

        ctrl_c_leaves_nothing(stack)
    finally:
        if orphan.poll() is None:
            os.killpg(orphan.pid, signal.SIGKILL)
        orphan.wait(timeout=10)
