"""`watch` as a gate: it cannot pass a failing service, and bad input is exit 2 before any probe."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator

import pytest

from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote
from tests.support.loopback import serving

STAGING_API = "flux/clusters/staging/releases/api-server.yaml"


class _Answer(http.server.BaseHTTPRequestHandler):
    status = 500
    script: list[int] = []  # answers to give first, then `status`
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(self.script.pop(0) if self.script else self.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_url() -> Iterator[tuple[str, type[_Answer]]]:
    """A health URL on 127.0.0.1 (free port) that always answers 500."""
    handler = type("Failing", (_Answer,), {"status": 500, "hits": [], "script": []})
    with serving(handler) as base:
        yield f"{base}/health", handler


def test_a_service_failing_every_check_is_never_promoted(remote: Remote, run_bot: RunBot,
                                                          failing_url: tuple[str, type[_Answer]]) -> None:
    url, handler = failing_url
    assert run_bot("--repo", remote.url, "canary", "start", "--env", "staging", "--image",
                   "kai-api-server=c4n4ry").returncode == 0
    refs = remote.refs()
    proc = run_bot("--repo", remote.url, "--output", "json", "watch", "--env", "staging", "--check", url,
                   "--checks", "3", "--interval", "0", "--threshold", "3", "--on-success", "promote")
    assert proc.returncode == 3, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["health_status"], result["failures"], result["action"]) == ("degraded", 3, "none")
    assert remote.refs() == refs  # canary-promote was not pushed
    assert len(handler.hits) == 3


def test_the_default_threshold_beyond_the_probes_is_refused(remote: Remote, run_bot: RunBot,
                                                            failing_url: tuple[str, type[_Answer]]) -> None:
    url, handler = failing_url
    err = refused(run_bot, remote, "watch", "--env", "staging", "--check", url, "--checks", "3",
                  "--interval", "0", "--on-success", "promote")
    assert "--threshold 5 can never be reached: 3 round(s) x 1 URL(s) make 3 probe(s)" in err
    assert handler.hits == []  # refused before any probe


def test_a_last_round_that_fails_does_not_promote(remote: Remote, run_bot: RunBot,
                                                  failing_url: tuple[str, type[_Answer]]) -> None:
    """One failure, below the threshold of 2, but in the last round: the service is failing now."""
    url, handler = failing_url
    handler.script.extend([200])
    assert run_bot("--repo", remote.url, "canary", "start", "--env", "staging", "--image",
                   "kai-api-server=c4n4ry").returncode == 0
    refs = remote.refs()
    proc = run_bot("--repo", remote.url, "watch", "--env", "staging", "--check", url, "--checks", "2",
                   "--interval", "0", "--threshold", "2", "--on-success", "promote")
    assert proc.returncode == 3
    assert "degraded (the last round failed) after 2 round(s)" in proc.stdout
    assert remote.refs() == refs


@pytest.mark.parametrize("given_config", [False, True])
def test_an_unknown_environment_is_exit_2(remote: Remote, run_bot: RunBot, tmp_path: object,
                                          given_config: bool) -> None:
    extra: tuple[str, ...] = ()
    if given_config:
        from pathlib import Path

        cfg = Path(str(tmp_path)) / "cfg.yaml"
        cfg.write_text("environments:\n  staging: {branch: staging, path: flux/clusters/staging}\n")
        extra = ("--config", str(cfg))
    err = refused(run_bot, remote, *extra, "watch", "--env", "nope", "--check", "http://127.0.0.1:9/x",
                  "--checks", "1", "--threshold", "1")
    assert "unknown environment 'nope'" in err
    assert "staging" in err


def test_one_progress_line_per_round_on_stderr(remote: Remote, run_bot: RunBot,
                                               failing_url: tuple[str, type[_Answer]]) -> None:
    url, _ = failing_url
    proc = run_bot("--repo", remote.url, "watch", "--env", "staging", "--check", url, "--checks", "3",
                   "--interval", "0", "--threshold", "3", env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 3
    lines = proc.stderr.splitlines()
    rounds = [ln for ln in lines if " round " in ln]
    assert [ln.split(":", 2)[1].strip() for ln in rounds] == [
        "watch staging round 1/3", "watch staging round 2/3", "watch staging round 3/3"]
    assert "3 failure(s) so far" in rounds[-1]
    group = lines.index(next(ln for ln in lines if ln.startswith("::group::gitops-bot watch staging")))
    assert lines[group + 1:group + 4] == rounds
    assert lines[group + 4] == "::endgroup::"
    assert "degraded" in proc.stdout  # the result on stdout, progress on stderr


def test_watch_fails_fast_when_its_action_cannot_run(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot("--repo", remote.url, "watch", "--env", "production", "--check", "http://127.0.0.1:9/x",
                   "--checks", "30", "--interval", "10", "--on-failure", "rollback")
    assert proc.returncode == 2
    assert "need GITOPS_BOT_TOKEN" in proc.stderr


def test_watch_stays_degraded_when_its_action_fails(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot("--repo", remote.url, "--output", "json", "watch", "--env", "staging",
                   "--check", "http://127.0.0.1:9/closed", "--checks", "1", "--interval", "0",
                   "--threshold", "1", "--on-failure", "rollback")
    assert proc.returncode == 3
    result = json.loads(proc.stdout)
    assert (result["health_status"], result["action"]) == ("degraded", "rollback failed")
    assert "the rollback action failed" in proc.stderr
