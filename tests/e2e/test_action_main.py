"""`gitops-bot-action`, the Action's run step, run as the installed console script against a bare remote.

The environment is the one action.yml's run step gets (tests/unit/action/test_inputs.py builds it from
action.yml), inside GitHub Actions (`GITHUB_ACTIONS=true`), with no ambient token.
"""

from __future__ import annotations

import importlib.metadata
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import bot_env
from tests.support.gitrepo import Remote
from tests.unit.action.test_inputs import step_env

ACTION_BOT = Path(sys.executable).with_name("gitops-bot-action")
TOKEN = "ghp_dummyTokenForTheActionHarness0123456789"


def run_action(tmp_path: Path, inputs: Mapping[str, str],
               extra: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    if not ACTION_BOT.exists():
        pytest.fail(f"{ACTION_BOT} is not installed: pip install -e '.[test]'")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = bot_env(home, {**step_env({"token": TOKEN, **inputs}), "GITHUB_ACTIONS": "true", **(extra or {})})
    return subprocess.run([str(ACTION_BOT)], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_console_script_is_the_action_entry_point() -> None:
    [script] = importlib.metadata.entry_points(group="console_scripts", name="gitops-bot-action")
    assert script.value == "gitops_bot.cli.start:action"  # action_main.main, with the collector tuned first


def test_a_bad_input_is_one_error_line_and_exit_2_with_nothing_run(tmp_path: Path, remote: Remote) -> None:
    refs = remote.refs()
    proc = run_action(tmp_path, {"command": "rollback", "environment": "staging", "steps": "1", "to": "abc1234",
                                 "gitops-repository": remote.url})
    assert proc.returncode == 2
    assert proc.stdout == "::error title=gitops-bot::command 'rollback' takes 'steps' or 'to', not both\n"
    assert proc.stderr == ""  # no traceback, and the CLI never started
    assert remote.refs() == refs


def test_an_input_cannot_smuggle_a_workflow_command_into_the_error(tmp_path: Path) -> None:
    proc = run_action(tmp_path, {"command": "bump 100%\n::add-mask::x\r\n::warning::y"})
    assert proc.returncode == 2
    assert proc.stdout.splitlines() == [
        "::error title=gitops-bot::unknown command 'bump 100%25%0A::add-mask::x%0D%0A::warning::y'; expected one "
        "of: bump, revert, rollback, promote, canary-start, canary-promote, canary-abort, watch, status, "
        "validate, hold, unhold, reconcile, wait"]
    assert proc.stderr == ""


def test_the_cli_runs_with_the_argv_and_warnings_come_first(tmp_path: Path, remote: Remote) -> None:
    proc = run_action(tmp_path, {"command": "validate", "environment": "staging", "images": "kai-api-server",
                                 "gitops-repository": remote.url})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["::warning title=gitops-bot::input 'images' is not used by command 'validate'",
                         f"gitops-bot --repo={remote.url} validate --env=staging"]
    assert "Traceback" not in proc.stderr


def test_a_value_with_a_newline_is_shown_on_one_line(tmp_path: Path, remote: Remote) -> None:
    proc = run_action(tmp_path, {"command": "status", "environment": "no\n::add-mask::pwned",
                                 "gitops-repository": remote.url})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[0] == f"gitops-bot --repo={remote.url} status '--env=no\\n::add-mask::pwned'"
    assert not [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("::add-mask::pwned")]


def test_the_cli_exit_code_is_the_step_exit_code(tmp_path: Path, remote: Remote) -> None:
    with socket.socket() as sock:  # a loopback port nothing listens on: every probe fails
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    unknown = run_action(tmp_path, {"command": "validate", "environment": "nope", "gitops-repository": remote.url})
    assert unknown.returncode == 2
    assert "::error title=gitops-bot::" in unknown.stderr  # the CLI's own annotation
    degraded = run_action(tmp_path, {"command": "watch", "environment": "staging", "gitops-repository": remote.url,
                                     "health-checks": f"http://127.0.0.1:{port}/health", "checks": "1",
                                     "interval": "0", "threshold": "1"})
    assert degraded.returncode == 3, degraded.stdout + degraded.stderr
    assert "Traceback" not in unknown.stderr + degraded.stderr


def test_app_inputs_win_over_a_job_level_github_token(tmp_path: Path, remote: Remote) -> None:
    """A job often sets `env: GITHUB_TOKEN: ${{ github.token }}` for the gh CLI; that token cannot write
    to the GitOps repository, and it would otherwise come before the App given as inputs."""
    job = {"GITHUB_TOKEN": "ghs_workflow_token_of_another_repo0123456789"}
    app = run_action(tmp_path, {"token": "", "app-id": "123456", "app-private-key": "PEMTEXT",
                                "command": "validate", "environment": "staging", "gitops-repository": remote.url},
                     job)
    assert app.returncode == 2, app.stdout + app.stderr
    assert "private key" in app.stderr  # the App's key was used (and refused), not the job's token
    assert "PEMTEXT" not in app.stdout + app.stderr
    token = run_action(tmp_path, {"command": "validate", "environment": "staging", "gitops-repository": remote.url},
                       job)
    assert token.returncode == 0, token.stdout + token.stderr
