"""What machines read: one JSON document on stdout (errors too), the step output file, and inside
Actions, skips as ::warning:: annotations with the token masked."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunBot
from tests.support.gitrepo import Remote


def test_json_error_document_on_stdout(run_bot: RunBot, remote: Remote) -> None:
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "qa", "--image", "x=1")
    assert proc.returncode == 2
    assert json.loads(proc.stdout) == {"error": "unknown environment 'qa' (known: production, staging)",
                                       "exit_code": 2}


def test_environment_command_writes_the_step_output(run_bot: RunBot, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_bot("environment", "--ref", "refs/heads/main", env={"GITHUB_OUTPUT": str(out)})
    assert proc.returncode == 0
    assert out.read_text() == "environment=production\n"


def test_inside_actions_skips_are_warnings_and_stdout_stays_json(remote: Remote, run_bot: RunBot) -> None:
    assert run_bot("--repo", remote.url, "hold", "--env", "staging", "--image", "kai-api-server",
                   "--reason", "incident 7").returncode == 0
    token = "ghs_actions_token_abc"
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                   "--image", "kai-api-server=9", "--image", "kai-coordinator=9",
                   env={"GITHUB_ACTIONS": "true", "GITOPS_BOT_TOKEN": token})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["skipped"][0]["reason"].startswith("held: incident 7")
    assert "::warning::staging: skipped ghcr.io/kai-platform/kai-api-server: held: incident 7" in proc.stderr
    assert proc.stderr.count(token) == 1  # only in the ::add-mask:: line
    assert f"::add-mask::{token}" in proc.stderr


def test_git_progress_is_folded_in_groups_only_inside_actions(remote: Remote, run_bot: RunBot) -> None:
    # Whether this is an Actions step comes from the run context (GITHUB_ACTIONS, read once at the
    # edge), not from a lookup in the git runner.
    args = ("-v", "--repo", remote.url, "--dry-run", "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8")
    inside = run_bot(*args, env={"GITHUB_ACTIONS": "true"})
    outside = run_bot(*args)
    assert inside.returncode == outside.returncode == 0, inside.stderr + outside.stderr
    assert "::group::" in inside.stderr and "::endgroup::" in inside.stderr
    assert "::group::" not in outside.stderr and "::endgroup::" not in outside.stderr
