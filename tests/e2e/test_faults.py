"""Faults a reused runner meets: hung servers (--timeout), stale git locks in a --workdir, a branch
force-pushed between fetch and push; the installed `gitops-bot` against real git."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import RunBot
from tests.support.ghapp import APP_ID, AppKey
from tests.support.gitrepo import Remote, git

API = "flux/clusters/staging/releases/api-server.yaml"


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
    assert "Invalid value for '--timeout'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_timeout_is_a_global_option_after_the_command_too(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                   "--image", "kai-api-server=5d6e7f8", "--timeout", "60")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["commit"] == remote.head("staging")


# -- stale locks in a reused --workdir ----------------------------------------------------------------

def test_stale_locks_in_a_reused_workdir_are_cleared(remote: Remote, run_bot: RunBot, tmp_path: Path) -> None:
    """As a `kill -9` of git leaves them: the next run removes them (no process holds them) and works."""
    workdir = tmp_path / "work"
    first = run_bot("--repo", remote.url, "--workdir", str(workdir), "bump", "--env", "staging",
                    "--image", "kai-api-server=5d6e7f8")
    assert first.returncode == 0, first.stderr
    locks = [workdir / ".git" / "index.lock", workdir / ".git" / "shallow.lock",
             workdir / ".git" / "refs" / "remotes" / "origin" / "staging.lock"]
    for lock in locks:
        lock.write_text("")
    proc = run_bot("--repo", remote.url, "--workdir", str(workdir), "--output", "json", "bump", "--env", "staging",
                   "--image", "kai-api-server=9a8b7c6")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["commit"] == remote.head("staging")
    for lock in locks:
        assert not lock.exists()
        assert f"removing {lock}: a stale lock" in proc.stderr


def test_a_lock_a_live_process_holds_is_refused_naming_it(remote: Remote, run_bot: RunBot,
                                                           tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    assert run_bot("--repo", remote.url, "--workdir", str(workdir), "bump", "--env", "staging",
                   "--image", "kai-api-server=5d6e7f8").returncode == 0
    lock = workdir / ".git" / "index.lock"
    lock.write_text("")
    refs = remote.refs()
    with lock.open("rb") as held:  # a live git command holds its lock file open: here, `sleep`
        holder = subprocess.Popen(["sleep", "60"], stdin=held)
    try:
        proc = run_bot("--repo", remote.url, "--workdir", str(workdir), "bump", "--env", "staging",
                       "--image", "kai-api-server=9a8b7c6")
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"gitops-bot: error: {lock} is held by process {holder.pid}: another git command is using this "
        f"--workdir; wait for it to finish or give another --workdir"]
    assert lock.exists()
    assert remote.refs() == refs


# -- a force-push between our fetch and our push ------------------------------------------------------

def test_a_force_push_between_fetch_and_push_is_reconciled(remote: Remote, run_bot: RunBot) -> None:
    """On our first push, a hook rewrites staging's tip (a force-push: the commit we built on is gone
    from the branch). Our ref update fails; the bot fetches the new tip and applies again on it."""
    remote.commit_file("staging", "notes.txt", b"one\n", "a colleague's commit")
    counter = remote.bare / "hook-calls"
    script = remote.bare / "hooks" / "pre-receive"
    script.write_text(f"""#!/bin/sh
cat >/dev/null
echo called >> "{counter}"
if mkdir "{remote.bare / 'forced'}" 2>/dev/null; then
  unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
  export GIT_AUTHOR_NAME=other GIT_AUTHOR_EMAIL=o@example.com
  export GIT_COMMITTER_NAME=other GIT_COMMITTER_EMAIL=o@example.com
  head=$(git rev-parse refs/heads/staging)
  git update-ref refs/heads/staging "$(git commit-tree -p "$head^" -m rewritten "$head^{{tree}}")" "$head"
fi
exit 0
""")
    script.chmod(0o755)
    old_tip = remote.head("staging")
    proc = run_bot("--repo", remote.url, "--output", "json", "-v", "bump", "--env", "staging",
                   "--image", "kai-api-server=5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    assert "re-planning" in proc.stderr
    assert json.loads(proc.stdout)["commit"] == remote.head("staging")
    assert git("log", "-1", "--format=%s", "refs/heads/staging~1", cwd=remote.bare) == "rewritten"
    assert git("merge-base", "--is-ancestor", old_tip, "refs/heads/staging", cwd=remote.bare,
               check=False) == ""  # the force-pushed-away commit is not brought back
    assert b"tag: 5d6e7f8" in remote.show("staging", API)
    assert len(counter.read_text().splitlines()) == 2  # ours (lost), ours again


def test_a_hung_github_api_ends_at_timeout_while_minting_an_app_token(
        hung_server: str, remote: Remote, run_bot: RunBot) -> None:
    # The App's token exchange is a network operation too: --timeout bounds each of its requests.
    api = hung_server.removesuffix("/kai-gitops.git")
    key = AppKey.generate()
    started = time.monotonic()
    proc = run_bot("--repo", "kai-platform/kai-gitops", "--remote-url", remote.url, "--timeout", "2",
                   "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8",
                   env={"GITOPS_BOT_APP_ID": APP_ID, "GITOPS_BOT_APP_PRIVATE_KEY": key.pem, "GITHUB_API_URL": api})
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert elapsed < 25  # generous: each of the exchange's 4 attempts gets at most 2 s (was 30 s each)
    assert remote.count("staging") == 1
