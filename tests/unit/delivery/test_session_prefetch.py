"""Session.prefetch: the environment's branch fetched in a thread while the command's modules load
(docs/startup.md). Its outcome is exactly what `environment()` alone gives; a run that ends first
stops it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitops_bot.delivery.session import EnvRequest, Options, Session
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.context import RunContext
from gitops_bot.model.errors import GitError, UsageError
from tests.conftest import bot_env
from tests.support.gitrepo import Remote
from tests.support.hung import hung_server


def session(url: str, **options: object) -> Session:
    return Session(Options(remote_url=url, **options), Credentials(), RunContext())  # type: ignore[arg-type]


def test_after_a_prefetch_the_environment_is_the_branch_tip_without_another_fetch(
        remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trace = tmp_path / "trace2.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))  # git inherits the process environment
    with session(remote.url) as s:
        s.prefetch(EnvRequest("staging"))
        env, head = s.environment(EnvRequest("staging"))
        assert (env.name, env.branch, head) == ("staging", "staging", remote.head("staging"))
        assert s.ws.git.running == set()
    starts = [json.loads(line) for line in trace.read_text().splitlines()]
    fetches = [e["argv"] for e in starts if e["event"] == "start" and "/" not in e["sid"] and "fetch" in e["argv"]]
    branches = [argv for argv in fetches if "--stdin" not in argv]
    assert len(branches) == 1  # the prefetch's: the default branch and staging in one request
    assert len(fetches) == 2  # and the environment's blobs, which a bump's plan reads first


def test_a_prefetch_reads_the_environments_files_for_the_plan(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    with session(remote.url) as s:
        s.prefetch(EnvRequest("staging"))
        env, head = s.environment(EnvRequest("staging"))

        def no_git(*args: object, **kw: object) -> None:
            raise AssertionError(f"git {args} after the prefetch")

        monkeypatch.setattr(type(s.ws.git), "run", no_git)  # listed and fetched already: read from memory
        files = s.files(env, head)
        assert {f.path for f in files} >= {"flux/clusters/staging/releases/api-server.yaml"}
        assert b"tag: 1a2b3c4" in next(f.data for f in files if f.path.endswith("api-server.yaml"))


def test_an_environment_path_that_is_missing_is_still_the_plans_error(remote: Remote, tmp_path: Path) -> None:
    config = tmp_path / "gitops-bot.yaml"
    config.write_text("gitops:\n  repository: kai-platform/kai-gitops\nenvironments:\n  staging:\n"
                      "    branch: staging\n    path: flux/clusters/nowhere\n")
    with session(remote.url, config=str(config)) as s:
        s.prefetch(EnvRequest("staging"))
        env, head = s.environment(EnvRequest("staging"))  # the prefetch read no file: not an error yet
        assert head == remote.head("staging")
        with pytest.raises(UsageError, match="path 'flux/clusters/nowhere' does not exist on branch 'staging'"):
            s.files(env, head)  # the plan's, as without a prefetch


def test_the_repository_config_read_by_a_prefetch_is_the_sessions(remote: Remote) -> None:
    remote.commit_file("main", ".gitops-bot.yaml", b"images:\n  api: ghcr.io/kai-platform/kai-api-server\n")
    with session(remote.url) as s:
        s.prefetch(EnvRequest(ref="refs/heads/staging"))
        assert dict(s.config.images) == {"api": "ghcr.io/kai-platform/kai-api-server"}  # waits for it


def test_a_prefetch_error_is_raised_by_the_next_environment_call(remote: Remote) -> None:
    with session(remote.url) as s:
        s.prefetch(EnvRequest("qa"))
        with pytest.raises(UsageError, match=r"^unknown environment 'qa' \(known: production, staging\)$"):
            s.environment(EnvRequest("qa"))
        with pytest.raises(UsageError):  # raised once, then the call runs again by itself
            s.environment(EnvRequest("qa"))


def test_closing_the_session_stops_a_fetch_that_hangs(tmp_path: Path) -> None:
    with hung_server() as url:
        s = session(url, timeout=120)
        root = s.ws.root
        s.prefetch(EnvRequest("staging"))
        started = time.monotonic()
        s.close()  # the fetch is killed, not waited for: it would hang for the run's 120 s
        assert time.monotonic() - started < 30
        assert not root.exists()


def test_a_fetch_stopped_by_close_fails_in_its_own_thread(tmp_path: Path) -> None:
    with hung_server() as url:
        s = session(url)
        s.ws.git.stop()
        with pytest.raises(GitError):
            s.ws.fetch("staging")
        s.close()


def test_a_bad_tag_is_exit_2_even_while_the_remote_hangs(tmp_path: Path) -> None:
    # bump's input is checked after its prefetch started: the run ends at once, the fetch stopped
    home = tmp_path / "home"
    home.mkdir()
    with hung_server() as url:
        proc = subprocess.run([sys.executable, "-m", "gitops_bot", "--remote-url", url, "--output", "json",
                               "bump", "--env", "staging", "--image", "kai-api-server=bad tag"],
                              env=bot_env(home), cwd=tmp_path, capture_output=True, text=True, timeout=60,
                              check=False)
    assert proc.returncode == 2, proc.stderr
    assert json.loads(proc.stdout)["exit_code"] == 2
    assert "Traceback" not in proc.stderr
