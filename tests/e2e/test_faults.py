"""Faults a reused runner meets: hung servers (--timeout), stale git locks in a --workdir, a branch
force-pushed between fetch and push; the installed `gitops-bot` against real git."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunBot
from tests.support.gitrepo import Remote, git

API = "flux/clusters/staging/releases/api-server.yaml"


@pytest.fixture
def hung_server() -> Iterator[str]:
    """A loopback TCP server that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.1)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conns.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/kai-gitops.git"
    stop.set()
    thread.join()
    for conn in conns:
        conn.close()
    sock.close()


def test_a_hung_server_ends_at_timeout(hung_server: str, run_bot: RunBot) -> None:
    started = time.monotonic()
    proc = run_bot("--repo", hung_server, "--timeout", "2", "bump", "--env", "staging",
                   "--image", "kai-api-server=5d6e7f8", env={"GITOPS_BOT_TOKEN": "ghs_hungCanary0123456789"})
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        f"gitops-bot: error: git fetch from {hung_server} timed out: the run used up its --timeout 2 s"]
    assert elapsed < 30  # generous; without --timeout the default is 300 s
    assert "ghs_" not in proc.stderr


@pytest.mark.parametrize("value", ["0", "-1", "soon", ""])
def test_a_bad_timeout_is_exit_2(value: str, run_bot: RunBot) -> None:
    proc = run_bot("--timeout", value, "environment", "--ref", "refs/heads/main")
    assert proc.returncode == 2
    assert "--timeout" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_timeout_is_a_global_option_after_the_command_too(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                   "--image", "kai-api-server=5d6e7f8", "--timeout", "60")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["commit"] == remote.head("staging")
