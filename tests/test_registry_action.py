"""The Action's registry inputs (`verify-image`, `pin-digest`) and its `reconcile` command, as argv.

Runs the action's real run step with the harness of tests/test_action_run.py and a stand-in CLI that
records its argv.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_action_run import (  # noqa: F401 - fixtures, used by name
    TOKEN,
    CompositeAction,
    _argv,
    action,
    action_path,
    fake_cli,
    python_stand_in,
)


@pytest.mark.parametrize(("inputs", "argv"), [
    pytest.param({"command": "reconcile", "environment": "staging"}, ["reconcile", "--env", "staging"],
                 id="reconcile"),
    pytest.param({"command": "reconcile", "environment": "production", "images": "kai-api-server, redis",
                  "verify-image": "true", "pin-digest": "TRUE", "delivery": "pull-request"},
                 ["reconcile", "--env", "production", "--image", "kai-api-server", "--image", "redis",
                  "--verify-image", "--pin-digest", "--delivery", "pull-request"], id="reconcile-all"),
    pytest.param({"environment": "staging", "images": "kai-api-server=1.2.3", "verify-image": "true",
                  "pin-digest": "false"},
                 ["bump", "--env", "staging", "--image", "kai-api-server=1.2.3", "--tag",
                  "0123456789abcdef0123456789abcdef01234567", "--verify-image", "--no-pin-digest"], id="bump"),
    pytest.param({"command": "promote", "from": "staging", "environment": "production", "pin-digest": "true"},
                 ["promote", "--from", "staging", "--to", "production", "--pin-digest"], id="promote"),
    pytest.param({"command": "rollback", "environment": "staging", "steps": "1", "verify-image": "false"},
                 ["rollback", "--env", "staging", "--steps", "1", "--no-verify-image"], id="rollback"),
    pytest.param({"command": "rollback", "environment": "staging", "to": "3f2c1ab", "pin-digest": "true"},
                 ["rollback", "--env", "staging", "--to", "3f2c1ab", "--pin-digest"], id="rollback-pin"),
    pytest.param({"command": "canary-start", "environment": "production", "images": "kai-api-server=5d6e7f8",
                  "verify-image": "true"},
                 ["canary", "start", "--env", "production", "--image", "kai-api-server=5d6e7f8",
                  "--verify-image"], id="canary-start"),
    pytest.param({"command": "canary-start", "environment": "production", "images": "kai-api-server=5d6e7f8",
                  "verify-image": "true", "pin-digest": "false"},
                 ["canary", "start", "--env", "production", "--image", "kai-api-server=5d6e7f8",
                  "--verify-image", "--no-pin-digest"], id="canary-start-pin"),
])
def test_registry_inputs_become_cli_flags(action: CompositeAction, fake_cli: Path,  # noqa: F811
                                          inputs: dict[str, str], argv: list[str]) -> None:
    assert _argv(action, fake_cli, inputs) == argv


def test_bad_or_unused_registry_inputs(action: CompositeAction, fake_cli: Path) -> None:  # noqa: F811
    run = action.run({"token": TOKEN, "environment": "staging", "images": "a=1", "verify-image": "yes"},
                     only={"run"})
    step = next(s for s in run.steps if s.id == "run")
    assert step.returncode == 2 and "input 'verify-image' must be true or false" in step.stdout
    run = action.run({"token": TOKEN, "command": "canary-promote", "environment": "staging",
                      "pin-digest": "true"}, only={"run"})
    assert run.ok, run.log()
    assert "input 'pin-digest' is not used by command 'canary-promote'" in run.stdout
    run = action.run({"token": TOKEN, "command": "reconcile"}, only={"run"})
    assert "command 'reconcile' needs the 'environment' input" in run.stdout
