"""Credentials end to end: `gitops-bot` against a git smart-HTTP server on 127.0.0.1 that demands a token.

The token must reach git only through the environment: never argv (recorded with GIT_TRACE2_EVENT),
never the work directory (every file, .git/ included), never stdout or stderr.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import RunBot, bot_env
from tests.support.gitrepo import Remote, make_remote
from tests.support.http_git import GitHttpServer

API = "flux/clusters/staging/releases/api-server.yaml"
TAG = "5d6e7f8"


@dataclass
class Served:
    remote: Remote
    server: GitHttpServer
    token: str

    @property
    def url(self) -> str:
        return self.server.url_for("kai-gitops.git")

    def basic(self, token: str | None = None) -> str:
        return base64.b64encode(f"x-access-token:{token or self.token}".encode()).decode()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    remote = make_remote(tmp_path / "srv")
    token = "ghs_" + secrets.token_hex(16)
    with GitHttpServer(tmp_path / "srv", token) as server:
        yield Served(remote, server, token)


def bump(run_bot: RunBot, served: Served, tmp_path: Path, env: dict[str, str], *extra: str,
         tag: str = TAG) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    workdir = tmp_path / "work"
    trace = tmp_path / "trace2.json"
    proc = run_bot("--repo", served.url, "--workdir", str(workdir), *extra, "bump", "--env", "staging",
                   "--image", f"kai-api-server={tag}", env={**env, "GIT_TRACE2_EVENT": str(trace)})
    return proc, workdir, trace


def assert_nowhere(secret: str, proc: subprocess.CompletedProcess[str], workdir: Path, trace: Path) -> None:
    """`secret` is in no output, no file of the work directory and no argv git was started with."""
    assert secret not in proc.stdout
    assert secret not in proc.stderr
    files = [p for p in workdir.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.name == "config" and p.parent.name == ".git" for p in files)  # .git/ was searched
    leaking = [str(p) for p in files if secret.encode() in p.read_bytes()]
    assert leaking == []
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    argvs = [e["argv"] for e in events if e.get("event") == "start"]
    assert any(a[1:2] == ["fetch"] for a in argvs)  # the trace did record git's commands
    assert not [a for a in argvs if any(secret in arg for arg in a)]
    assert secret not in trace.read_text()


def test_right_token_bumps_and_leaks_nowhere(served: Served, run_bot: RunBot, tmp_path: Path) -> None:
    proc, workdir, trace = bump(run_bot, served, tmp_path, {"GITOPS_BOT_TOKEN": served.token}, "-v")
    assert proc.returncode == 0, proc.stderr
    assert f"tag: {TAG}".encode() in served.remote.show("staging", API)
    requests = [(r.method, r.path) for r in served.server.requests]
    assert ("POST", "/kai-gitops.git/git-receive-pack") in requests
    assert all(r.auth_ok for r in served.server.requests)  # the token went with every request
    for secret in (served.token, served.basic()):
        assert_nowhere(secret, proc, workdir, trace)
    assert "extraheader" not in (workdir / ".git" / "config").read_text()


def test_wrong_token_fails_in_one_line_and_leaks_nowhere(served: Served, run_bot: RunBot,
                                                         tmp_path: Path) -> None:
    wrong = "ghs_" + secrets.token_hex(16)
    before = served.remote.refs()
    proc, workdir, trace = bump(run_bot, served, tmp_path, {"GITOPS_BOT_TOKEN": wrong})
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"gitops-bot: error: git fetch from {served.url} failed: authentication refused by "
        f"{served.server.base_url}: the token from GITOPS_BOT_TOKEN was not accepted"]
    assert proc.stdout == ""
    assert served.remote.refs() == before
    for secret in (wrong, served.basic(wrong)):
        assert_nowhere(secret, proc, workdir, trace)


def test_github_token_is_the_fallback(served: Served, run_bot: RunBot, tmp_path: Path) -> None:
    proc, *_ = bump(run_bot, served, tmp_path, {"GITHUB_TOKEN": served.token})
    assert proc.returncode == 0, proc.stderr
    assert f"tag: {TAG}".encode() in served.remote.show("staging", API)


def test_gitops_bot_token_wins_over_github_token(served: Served, run_bot: RunBot, tmp_path: Path) -> None:
    proc, *_ = bump(run_bot, served, tmp_path,
                    {"GITOPS_BOT_TOKEN": served.token, "GITHUB_TOKEN": "ghs_" + secrets.token_hex(16)})
    assert proc.returncode == 0, proc.stderr


def test_no_token_says_which_variable_to_set(served: Served, run_bot: RunBot, tmp_path: Path) -> None:
    proc, *_ = bump(run_bot, served, tmp_path, {})
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"gitops-bot: error: git fetch from {served.url} failed: authentication refused by "
        f"{served.server.base_url}: no token given: set GITOPS_BOT_TOKEN (or GITHUB_TOKEN)"]


def test_header_left_by_actions_checkout_is_overridden(served: Served, run_bot: RunBot,
                                                       tmp_path: Path) -> None:
    """actions/checkout leaves `http.<server>/.extraheader` in the runner's global config."""
    stale = "ghs_" + secrets.token_hex(16)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text(
        f'[http "{served.server.base_url}/"]\n\textraheader = AUTHORIZATION: basic {served.basic(stale)}\n')
    # Without the override git would send the stale header first, and the server would refuse.
    plain = subprocess.run(
        ["git", "-c", f"http.extraheader=Authorization: Basic {served.basic()}", "ls-remote", served.url],
        env=bot_env(home), capture_output=True, text=True, check=False)
    assert plain.returncode != 0

    proc, workdir, trace = bump(run_bot, served, tmp_path, {"GITOPS_BOT_TOKEN": served.token})
    assert proc.returncode == 0, proc.stderr
    assert f"tag: {TAG}".encode() in served.remote.show("staging", API)
    assert all(r.auth_ok for r in served.server.requests if r.path.endswith("receive-pack"))
    assert_nowhere(served.token, proc, workdir, trace)


def test_credential_helper_is_not_consulted_for_a_rejected_token(served: Served, run_bot: RunBot,
                                                                 tmp_path: Path) -> None:
    """A stored credential of the machine neither rescues a wrong token nor gets erased by it."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text("[credential]\n\thelper = store\n")
    stored = f"http://x-access-token:{served.token}@127.0.0.1:{served.server.port}\n"
    (home / ".git-credentials").write_text(stored)
    proc, *_ = bump(run_bot, served, tmp_path, {"GITOPS_BOT_TOKEN": "ghs_" + secrets.token_hex(16)})
    assert proc.returncode == 1
    assert "authentication refused" in proc.stderr
    assert (home / ".git-credentials").read_text() == stored


def test_ssh_remote_is_left_alone(tmp_path: Path, run_bot: RunBot) -> None:
    """Over ssh git authenticates with keys: no header, no token in ssh's argv or environment."""
    remote = make_remote(tmp_path / "ssh-remote")
    token = "ghs_" + secrets.token_hex(16)
    log = tmp_path / "ssh.log"
    fake_ssh = tmp_path / "fake-ssh"
    # `fake-ssh HOST COMMAND`: record what ssh would get, then run COMMAND here instead of on HOST.
    fake_ssh.write_text(f'#!/bin/sh\nprintf "argv: %s\\n" "$*" >> "{log}"\nenv >> "{log}"\n'
                        f'shift\nexec sh -c "$*"\n')
    fake_ssh.chmod(0o755)
    url = f"ssh://git.example.com{remote.bare}"
    proc = run_bot("--repo", url, "bump", "--env", "staging", "--image", f"kai-api-server={TAG}",
                   env={"GITOPS_BOT_TOKEN": token, "GIT_SSH_COMMAND": str(fake_ssh),
                        "GIT_SSH_VARIANT": "simple"})
    assert proc.returncode == 0, proc.stderr
    assert f"tag: {TAG}".encode() in remote.show("staging", API)
    recorded = log.read_text()
    assert f"argv: git.example.com git-upload-pack '{remote.bare}'" in recorded
    assert f"argv: git.example.com git-receive-pack '{remote.bare}'" in recorded
    assert token not in recorded
    assert "GIT_CONFIG_COUNT" not in recorded
