"""What machines read: one JSON document on stdout (errors too), the step output file, and inside
Actions, skips as ::warning:: annotations with the token masked."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import BOT, RunBot, bot_env
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


def test_the_whole_result_reaches_a_pipe_before_the_process_ends(run_bot: RunBot, remote: Remote) -> None:
    # the console script ends with os._exit once its streams are flushed (docs/startup.md)
    proc = run_bot("--repo", remote.url, "--output", "json", "status")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("}\n")
    assert set(json.loads(proc.stdout)["environments"]) == {"staging", "production"}


def test_a_closed_stdout_is_a_quiet_exit_1(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # nobody reads: the result cannot be written
    home = tmp_path / "home"
    home.mkdir()
    try:
        proc = subprocess.run([BOT, "environment", "--ref", "refs/heads/main"], stdout=write,
                              stderr=subprocess.PIPE, env=bot_env(home), cwd=tmp_path, text=True,
                              timeout=60, check=False)
    finally:
        os.close(write)
    assert proc.returncode == 1  # failed at run time: the result was not delivered
    assert proc.stderr == ""  # no traceback, no "internal error"
