"""The Action with `app-id` / `app-private-key`: the App is what the step authenticates with.

Runs the action's real run step with the harness of tests/test_action_run.py and a stand-in CLI that
records the credentials it was given.
"""

from __future__ import annotations

from tests.test_action_run import (  # noqa: F401 - fixtures, used by name
    CompositeAction,
    action,
    action_path,
    python_stand_in,
)


def test_app_inputs_win_over_a_job_level_github_token(action: CompositeAction) -> None:  # noqa: F811
    """A job often sets `env: GITHUB_TOKEN: ${{ github.token }}` for the gh CLI; that token cannot
    write to the GitOps repository, and without the fix it would have replaced the App given as inputs."""
    record = action.temp / "env"
    bot = action.temp / "gitops-bot-venv" / "bin" / "gitops-bot"
    bot.parent.mkdir(parents=True)
    bot.write_text(f'#!/bin/sh\nprintf "%s|%s|%s" "$GITOPS_BOT_APP_ID" "${{GITHUB_TOKEN-unset}}" '
                   f'"$GITOPS_BOT_TOKEN" > "{record}"\n', encoding="utf-8")
    bot.chmod(0o755)
    action.job_env["GITHUB_TOKEN"] = "ghs_workflow_token_of_another_repo"
    run = action.run({"token": "", "app-id": "123456", "app-private-key": "PEMTEXT", "environment": "staging"},
                     only={"run"})
    assert run.ok, run.log()
    assert record.read_text() == "123456|unset|"
    # an explicit token input is used as before, and the job's GITHUB_TOKEN is left alone
    run = action.run({"token": "ghp_explicit_0123456789", "environment": "staging"}, only={"run"})
    assert run.ok, run.log()
    assert record.read_text() == "|ghs_workflow_token_of_another_repo|ghp_explicit_0123456789"
