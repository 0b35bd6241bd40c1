"""Where results go (stdout) and where logs and progress go (stderr); unhold is idempotent."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunBot
from tests.e2e.test_delivery import bump_args, competitor
from tests.support.gitrepo import Remote


def test_text_results_go_to_stdout_logs_to_stderr(remote: Remote, run_bot: RunBot) -> None:
    pushed = run_bot(*bump_args(remote, "kai-api-server=5d6e7f8"))
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.splitlines() == [
        "flux/clusters/staging/releases/api-server.yaml:37: kai-api-server 1a2b3c4 -> 5d6e7f8",
        f"staging: pushed {remote.head('staging')} to staging",
    ]
    assert pushed.stderr == ""

    again = run_bot(*bump_args(remote, "kai-api-server=5d6e7f8"))
    assert again.stdout == "staging: already up to date, nothing to commit\n"
    assert again.stderr == ""

    dry = run_bot("--dry-run", *bump_args(remote, "kai-api-server=6e7f8a9"))
    assert dry.stdout.endswith("kai-api-server 5d6e7f8 -> 6e7f8a9\nstaging: dry run, nothing written\n")
    assert "+      tag: 6e7f8a9" in dry.stdout  # the diff is part of the result
    assert dry.stderr == ""


def test_json_mode_stdout_is_only_the_document(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot("-v", "--output", "json", *bump_args(remote, "kai-api-server=5d6e7f8"))
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["changed"] is True
    assert "gitops-bot: $ git" in proc.stderr  # the logs went to stderr


def test_unhold_of_an_image_that_is_not_held_is_exit_0(remote: Remote, run_bot: RunBot) -> None:
    refs = remote.refs()
    proc = run_bot("--repo", remote.url, "unhold", "--env", "staging", "--image", "kai-api-server")
    assert proc.returncode == 0, proc.stderr
    assert "skipped kai-api-server: not held in staging" in proc.stdout
    assert remote.refs() == refs
    # and the second unhold of a real hold is a no-op too
    assert run_bot("--repo", remote.url, "hold", "--env", "staging", "--image", "kai-api-server",
                   "--reason", "incident 7").returncode == 0
    assert run_bot("--repo", remote.url, "unhold", "--env", "staging", "--image", "kai-api-server").returncode == 0
    refs = remote.refs()
    again = run_bot("--repo", remote.url, "--output", "json", "unhold", "--env", "staging",
                    "--image", "kai-api-server")
    assert again.returncode == 0
    result = json.loads(again.stdout)
    assert (result["changed"], result["skipped"][0]["image"]) == (False, "kai-api-server")
    assert remote.refs() == refs


def test_the_step_summary_starts_a_paragraph_after_the_skipped_list(remote: Remote, run_bot: RunBot,
                                                                    tmp_path: Path) -> None:
    assert run_bot("--repo", remote.url, "hold", "--env", "staging", "--image", "kai-api-server",
                   "--reason", "incident 7").returncode == 0
    summary = tmp_path / "summary.md"
    proc = run_bot(*bump_args(remote, "kai-api-server=9", "kai-coordinator=9"),
                   env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stderr
    lines = summary.read_text().splitlines()
    skipped = next(i for i, line in enumerate(lines) if line.startswith("- skipped"))
    assert lines[skipped + 1] == ""
    assert lines[skipped + 2].startswith("Commit `")


def test_a_push_retry_is_one_progress_line_without_verbose(remote: Remote, run_bot: RunBot,
                                                          tmp_path: Path) -> None:
    competitor(remote, tmp_path / "home", *bump_args(remote, "kai-coordinator=7a8b9c0"))
    proc = run_bot(*bump_args(remote, "kai-api-server=5d6e7f8"))
    assert proc.returncode == 0, proc.stderr
    retries = [line for line in proc.stderr.splitlines() if "re-planning" in line]
    assert len(retries) == 1
    assert retries[0].startswith("gitops-bot: someone pushed to staging first; re-planning in ")
    assert retries[0].endswith("(attempt 2 of 26)")  # the default --retries, 25
    assert "pushed" in proc.stdout
