"""Waiting for Flux: commit statuses and check runs mocked with `responses`, a clock that never sleeps.

The core loop (`wait_for`) is driven through the real `StatusReader` (PyGithub against `responses`);
the `wait` command and `--wait` run in-process against a real bare remote.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import responses

from gitops_bot.cli.app import main
from gitops_bot.config.github import context_pattern
from gitops_bot.config.settings import Config
from gitops_bot.github.statuses import StatusReader
from gitops_bot.github.wait import Clock, WaitRequest, wait_for
from gitops_bot.model.errors import ConfigError
from gitops_bot.ops import wait as waitcmd
from tests.support.env import scrub_environ
from tests.support.github_mock import SLUG, GitHubMock
from tests.support.gitrepo import Remote
from tests.support.inprocess import invoke as run_cli

API = "https://api.github.com"
TOKEN = "ghp_wait_token_0123456789abcdef"
OURS = "a" * 40
NEWER = "b" * 40
APPS = "kustomization/apps/6d1a2f3c"


@dataclass
class FakeClock:
    t: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.t += seconds

    def clock(self) -> Clock:
        return Clock(self.now, self.sleep)


def status(state: str, context: str = APPS, description: str = "") -> dict[str, str]:
    return {"context": context, "state": state, "description": description}


def statuses(rsps: responses.RequestsMock, sha: str, *sequence: list[dict[str, str]],
             runs: list[dict[str, Any]] | None = None) -> None:
    """Successive replies of the combined-status endpoint for `sha` (the last one repeats)."""
    GitHubMock(rsps).statuses(sha, *sequence, runs=runs)


def run_wait(rsps: responses.RequestsMock, clock: FakeClock, *, timeout: float = 600,
             contexts: tuple[str, ...] = ("kustomization/*",), head: str = OURS) -> tuple[Any, list[str]]:
    lines: list[str] = []
    outcome = wait_for(StatusReader(SLUG, TOKEN), WaitRequest(OURS, contexts, timeout), lambda: head,
                       lines.append, clock.clock())
    return outcome, lines


def test_pending_then_success(rsps: responses.RequestsMock) -> None:
    statuses(rsps, OURS, [status("pending", description="Progressing")],
             [status("success", description="Applied revision: staging@sha1:aaaa")])
    clock = FakeClock()
    outcome, lines = run_wait(rsps, clock)
    assert outcome.state == "success"
    assert outcome.health_status == "healthy"
    assert outcome.to_json() == {"state": "success", "contexts": [
        {"context": APPS, "state": "success", "description": "Applied revision: staging@sha1:aaaa"}]}
    assert clock.sleeps == [5.0]
    assert len(lines) == 1 and f"{APPS} pending" in lines[0]
    status_calls = [c for c in rsps.calls if "/status" in c.request.url]
    assert all(c.request.method == "GET" and c.request.headers["Authorization"] == f"token {TOKEN}"
               for c in status_calls)
    assert "per_page=100" in status_calls[0].request.url


def test_failure_is_degraded_and_names_the_context_and_its_description(rsps: responses.RequestsMock) -> None:
    statuses(rsps, OURS, [status("pending"), status("success", "kustomization/infra/1")],
             [status("failure", description="Health check failed after 5m0s"),
              status("success", "kustomization/infra/1")])
    outcome, _ = run_wait(rsps, FakeClock())
    assert outcome.state == "failure"
    assert outcome.health_status == "degraded"
    assert [r.context for r in outcome.failures] == [APPS]
    assert f"{APPS}: Health check failed after 5m0s" in outcome.summary()


def test_timeout_with_bounded_back_off(rsps: responses.RequestsMock) -> None:
    statuses(rsps, OURS, [status("pending", description="Progressing")])
    clock = FakeClock()
    outcome, lines = run_wait(rsps, clock, timeout=100)
    assert outcome.state == "timeout"
    assert outcome.health_status == "unknown"
    assert sum(clock.sleeps) == pytest.approx(100)
    assert clock.sleeps[:4] == [5.0, 7.5, 11.25, 16.875]  # growing ...
    assert max(clock.sleeps) <= 30  # ... up to a cap
    assert len(lines) == len(clock.sleeps)
    assert "timed out waiting for Flux" in outcome.summary() and f"{APPS} pending" in outcome.summary()


def test_no_matching_context_yet_keeps_waiting_and_other_contexts_do_not_count(
        rsps: responses.RequestsMock) -> None:
    statuses(rsps, OURS, [status("success", "ci/build")], [status("success", "ci/build"), status("success")])
    clock = FakeClock()
    outcome, lines = run_wait(rsps, clock)
    assert outcome.state == "success"
    assert [r.context for r in outcome.contexts] == [APPS]
    assert "nothing matching 'kustomization/*' yet" in lines[0]


def test_exact_contexts_must_all_appear(rsps: responses.RequestsMock) -> None:
    one, two = "kustomization/apps/1", "kustomization/infra/2"
    statuses(rsps, OURS, [status("success", one)], [status("success", one), status("success", two)])
    clock = FakeClock()
    outcome, _ = run_wait(rsps, clock, contexts=(one, two))
    assert outcome.state == "success"
    assert clock.sleeps == [5.0]  # the first poll had only one of the two


def test_failed_check_run_counts_as_failure(rsps: responses.RequestsMock) -> None:
    statuses(rsps, OURS, [], runs=[{"name": "kustomization/apps/x", "status": "completed", "conclusion": "failure",
                                   "output": {"title": "kustomize build failed"}}])
    outcome, _ = run_wait(rsps, FakeClock())
    assert outcome.state == "failure"
    assert outcome.to_json()["contexts"] == [{"context": "kustomization/apps/x", "state": "failure",
                                             "description": "kustomize build failed"}]


def test_a_newer_head_containing_the_commit_counts(rsps: responses.RequestsMock) -> None:
    statuses(rsps, OURS, [status("pending", description="Progressing")])  # Flux skipped straight to NEWER
    statuses(rsps, NEWER, [status("success", description="Applied revision: staging@sha1:bbbb")])
    GitHubMock(rsps).compare(OURS, NEWER, {"status": "ahead", "ahead_by": 1})
    outcome, _ = run_wait(rsps, FakeClock(), head=NEWER)
    assert outcome.state == "success"
    assert outcome.applied == NEWER
    assert "via newer head" in outcome.summary()


def test_a_head_that_does_not_contain_the_commit_does_not_count(rsps: responses.RequestsMock) -> None:
    statuses(rsps, OURS, [status("pending")])
    statuses(rsps, NEWER, [status("success")])
    GitHubMock(rsps).compare(OURS, NEWER, {"status": "diverged"})
    outcome, _ = run_wait(rsps, FakeClock(), head=NEWER, timeout=10)
    assert outcome.state == "timeout"
    assert not [c for c in rsps.calls if f"/commits/{NEWER}/" in c.request.url]
    assert len([c for c in rsps.calls if "/compare/" in c.request.url]) == 1  # asked once, remembered


def test_star_matches_any_run_of_characters_slashes_included() -> None:
    rx = context_pattern("kustomization/*")
    assert rx.fullmatch("kustomization/apps/6d1a2f3c")
    assert not rx.fullmatch("ci/kustomization/apps")
    assert context_pattern("a.b/*/c").fullmatch("a.b/x/y/c")
    assert not context_pattern("a.b/*/c").fullmatch("aXb/x/c")


@pytest.mark.parametrize(("text", "said"), [
    ("wait:\n  contexts: []\n", "'wait.contexts' must be a non-empty list"),
    ("wait:\n  timeout: -1\n", "'wait.timeout' must be a number of seconds"),
    ("wait:\n  timeout: soon\n", "'wait.timeout' must be a number of seconds"),
    ("wait:\n  context: [x]\n", "unknown config key 'wait.context'"),
    ("wait: [x]\n", "'wait' must be a mapping"),
    ("commit:\n  sign: yes\n", "'commit.sign' must be one of none, github, ssh, gpg"),
    ("commit:\n  sign: pgp\n", "'commit.sign' must be one of none, github, ssh, gpg"),
])
def test_config_is_validated_strictly(text: str, said: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(said)):
        Config.from_text(text, "cfg.yaml")


def test_config_values_and_defaults() -> None:
    config = Config.from_text("commit:\n  sign: github\nwait:\n  contexts: kustomization/apps/*\n  timeout: 90\n",
                              "cfg.yaml")
    assert config.sign == "github"
    assert config.wait.contexts == ("kustomization/apps/*",)
    assert config.wait.timeout == 90
    defaults = Config.defaults()
    assert defaults.sign == "none"
    assert defaults.wait.contexts == ("kustomization/*",)
    assert defaults.wait.timeout == 600


# --- the command line ---------------------------------------------------------------------------

Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(waitcmd, "DEFAULT_CLOCK", fake.clock())
    return fake


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
           remote: Remote, clock: FakeClock) -> Invoke:
    home = tmp_path / "home"
    home.mkdir()
    scrub_environ(monkeypatch, home, {"GITOPS_BOT_TOKEN": TOKEN, "GITHUB_OUTPUT": str(tmp_path / "github-output"),
                                      "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")})

    def run(*args: str) -> tuple[int, str, str]:
        return run_cli(capsys, ["--repo", SLUG, "--remote-url", remote.url, *args], TOKEN)

    return run


ANY_SHA = "[0-9a-f]{40}"


def any_statuses(rsps: responses.RequestsMock, *sequence: list[dict[str, str]]) -> None:
    GitHubMock(rsps).statuses(ANY_SHA, *sequence, state=None)


def outputs(tmp_path: Path) -> dict[str, str]:
    lines = (tmp_path / "github-output").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_wait_command_succeeds_on_the_branch_head(rsps: responses.RequestsMock, invoke: Invoke, remote: Remote,
                                                  tmp_path: Path, clock: FakeClock) -> None:
    any_statuses(rsps, [status("pending")], [status("success", description="Applied")])
    code, out, err = invoke("--output", "json", "wait", "--env", "staging")
    assert code == 0, err
    result = json.loads(out)
    assert result == {"command": "wait", "environment": "staging", "branch": "staging",
                      "commit": remote.head("staging"), "health_status": "healthy",
                      "wait": {"state": "success", "contexts": [
                          {"context": APPS, "state": "success", "description": "Applied"}]}}
    assert f"/commits/{remote.head('staging')}/status" in rsps.calls[0].request.url
    assert "waiting for Flux" in err  # progress on stderr
    assert clock.sleeps == [5.0]
    assert outputs(tmp_path)["wait-state"] == "success"


def test_wait_command_failure_exits_3_with_the_result_document(rsps: responses.RequestsMock, invoke: Invoke,
                                                               tmp_path: Path) -> None:
    any_statuses(rsps, [status("failure", description="dependency 'flux-system/infra' is not ready")])
    code, out, err = invoke("--output", "json", "wait", "--env", "staging")
    assert code == 3
    result = json.loads(out)  # one document: the result, not an error document
    assert result["health_status"] == "degraded"
    assert result["wait"]["state"] == "failure"
    assert f"{APPS}: dependency 'flux-system/infra' is not ready" in err
    assert outputs(tmp_path)["health-status"] == "degraded"


def test_wait_command_timeout_exits_1(rsps: responses.RequestsMock, invoke: Invoke, clock: FakeClock) -> None:
    any_statuses(rsps, [status("pending")])
    code, out, err = invoke("wait", "--env", "staging", "--timeout", "30")
    assert code == 1
    assert "timed out waiting for Flux" in err
    assert out.startswith("staging: timed out waiting for Flux")  # the text result, on stdout
    assert sum(clock.sleeps) == pytest.approx(30)
    assert "Traceback" not in err


def test_bump_wait_waits_on_the_pushed_commit(rsps: responses.RequestsMock, invoke: Invoke, remote: Remote,
                                              tmp_path: Path) -> None:
    any_statuses(rsps, [status("success", description="Applied")])
    code, out, err = invoke("--output", "json", "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8",
                            "--wait")
    assert code == 0, err
    result = json.loads(out)
    assert result["commit"] == remote.head("staging")
    assert result["wait"] == {"state": "success", "contexts": [
        {"context": APPS, "state": "success", "description": "Applied"}]}
    assert f"/commits/{result['commit']}/status" in rsps.calls[0].request.url
    assert outputs(tmp_path)["wait-state"] == "success"
    assert "Flux: Flux applied" in (tmp_path / "summary.md").read_text()


def test_bump_wait_failure_exits_3_after_pushing(rsps: responses.RequestsMock, invoke: Invoke,
                                                 remote: Remote) -> None:
    any_statuses(rsps, [status("failure", description="Helm upgrade failed")])
    code, out, err = invoke("--output", "json", "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8",
                            "--wait")
    assert code == 3
    result = json.loads(out)
    assert result["commit"] == remote.head("staging")
    assert result["health_status"] == "degraded"
    assert result["wait"]["contexts"][0]["description"] == "Helm upgrade failed"
    assert f"{APPS}: Helm upgrade failed" in err


def test_bump_wait_timeout_exits_1_with_the_result(rsps: responses.RequestsMock, invoke: Invoke) -> None:
    any_statuses(rsps, [])
    code, out, err = invoke("--output", "json", "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8",
                            "--wait", "--wait-timeout", "0")
    assert code == 1
    assert json.loads(out)["wait"] == {"state": "timeout", "contexts": []}
    assert "nothing matching 'kustomization/*'" in err


@pytest.mark.parametrize(("args", "said"), [
    (("bump", "--env", "production", "--image", "kai-api-server=2.0.0", "--wait"), "--wait needs push delivery"),
    (("bump", "--env", "staging", "--image", "kai-api-server=2.0.0", "--wait-timeout", "5"),
     "--wait-timeout needs --wait"),
    (("bump", "--env", "staging", "--image", "kai-api-server=2.0.0", "--wait", "--wait-timeout", "nan"),
     "--wait-timeout"),  # refused before the push, not after it
    (("wait", "--env", "staging", "--timeout", "nan"), "timeout must be a number"),
    (("wait", "--env", "staging", "--commit", "HEAD~1"), "is not a commit SHA"),
    (("wait", "--env", "nowhere"), "unknown environment 'nowhere'"),
])
def test_bad_wait_input_is_refused_with_exit_2_and_nothing_written(
        rsps: responses.RequestsMock, invoke: Invoke, remote: Remote, args: tuple[str, ...], said: str) -> None:
    refs = remote.refs()
    code, _out, err = invoke(*args)
    assert code == 2, err
    assert said in err
    assert remote.refs() == refs
    assert len(rsps.calls) == 0


def test_wait_without_a_token_is_refused_before_pushing(rsps: responses.RequestsMock, invoke: Invoke,
                                                        remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITOPS_BOT_TOKEN")
    refs = remote.refs()
    code, _out, err = invoke("bump", "--env", "staging", "--image", "kai-api-server=2.0.0", "--wait")
    assert code == 2
    assert "needs a token" in err
    assert remote.refs() == refs


def test_a_commit_github_does_not_know_yet_is_pending_not_an_error(rsps: responses.RequestsMock) -> None:
    GitHubMock(rsps).status_refused(OURS, 422, {"message": f"No commit found for SHA: {OURS}"})
    statuses(rsps, OURS, [status("success")])
    outcome, lines = run_wait(rsps, FakeClock())
    assert outcome.state == "success"
    assert len(lines) == 1


def test_api_refusal_while_waiting_exits_1(rsps: responses.RequestsMock) -> None:
    from gitops_bot.model.errors import GitHubError

    GitHubMock(rsps).status_refused(OURS, 401, {"message": "Bad credentials"})
    with pytest.raises(GitHubError, match="GitHub API 401 while trying to read the commit statuses"):
        run_wait(rsps, FakeClock())


def test_status_texts_cannot_issue_workflow_commands(rsps: responses.RequestsMock, invoke: Invoke,
                                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     remote: Remote, capsys: pytest.CaptureFixture[str]) -> None:
    """Contexts and descriptions are whatever a status poster wrote (Flux echoes manifest errors): on
    a runner they are shown, never obeyed as `::` workflow commands."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    forged = [status("failure", context="::warning::forged-context", description="boom\n::error::forged\r\nx"),
              status("pending", context="kustomization/a\n::notice::forged-progress")]
    any_statuses(rsps, forged)
    config = tmp_path / "wildcard.yaml"
    config.write_text("wait:\n  contexts: ['*']\n")
    with pytest.raises(SystemExit) as exc:  # not invoke(): its token check would trip on ::add-mask::
        main(["--repo", SLUG, "--remote-url", remote.url, "--config", str(config), "wait", "--env", "staging"])
    err = capsys.readouterr().err
    assert exc.value.code == 3, err
    assert err.count(TOKEN) == 1 and f"::add-mask::{TOKEN}" in err
    obeyed, stopped = [], None
    for line in err.splitlines():
        if stopped is None and line.lstrip().startswith("::stop-commands::"):
            stopped = line.split("::")[2]
        elif stopped is not None and line.strip() == f"::{stopped}::":
            stopped = None
        elif stopped is None and line.lstrip().startswith("::"):
            obeyed.append(line.lstrip())
    assert not [c for c in obeyed if "forged" in c and not c.startswith("::error title=")], obeyed
    assert "boom ::error::forged" in err  # shown, on one line


def test_an_api_error_while_waiting_after_a_push_says_the_push_happened(
        rsps: responses.RequestsMock, invoke: Invoke, remote: Remote, tmp_path: Path) -> None:
    """The push is done when the wait starts: an API failure then (say an App token that expired
    during a long wait) is exit 1, and still tells the user and later steps which commit was pushed."""
    GitHubMock(rsps).status_refused(ANY_SHA, 401, {"message": "Bad credentials"})
    before = remote.head("staging")
    code, _out, err = invoke("bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8", "--wait")
    assert code == 1, err
    pushed = remote.head("staging")
    assert pushed != before
    assert f"pushed {pushed} to staging" in err
    assert "GitHub API 401" in err
    assert outputs(tmp_path)["commit-sha"] == pushed
    assert outputs(tmp_path)["changed"] == "true"
