"""The Action's inputs -> the CLI's argv (gitops_bot/action/inputs.py), for every input and command.

The environment each case gives `from_env` is the one action.yml's "Run gitops-bot" step gets: its
`env:` mapping evaluated with the case's inputs, else the inputs' defaults (`github.ref` and
`github.sha` of a push to staging). So these tests also check that action.yml maps every input to
the variable the module reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_bot.action.inputs import CHECKED, COMMANDS, InputError, env_name, from_env, split
from gitops_bot.action.outputs import annotation
from tests.support.paths import REPO

SHA = "0123456789abcdef0123456789abcdef01234567"  # github.sha of the run
GITHUB = {"github.ref": "refs/heads/staging", "github.sha": SHA}
RUN_ENV = {"GITHUB_WORKFLOW": "Deploy Staging", "GITHUB_RUN_ID": "4242", "GITHUB_REPOSITORY": "kai-platform/kai",
           "GITHUB_SERVER_URL": "https://github.com"}
CREDENTIALS = {"token", "app-id", "app-private-key"}  # reach the CLI as GITOPS_BOT_*, never as argv
EXPRESSION = re.compile(r"\$\{\{\s*(\S+?)\s*\}\}")


def _action() -> dict:
    return yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))


ACTION = _action()
RUN_STEP = next(step for step in ACTION["runs"]["steps"] if step.get("id") == "run")


def _value(expression: str, inputs: Mapping[str, str]) -> str:
    """`${{ inputs.NAME }}` with the given input, else its default (`${{ github.x }}` evaluated)."""
    name = EXPRESSION.fullmatch(expression)[1].removeprefix("inputs.")
    if name in inputs:
        return inputs[name]
    default = str(ACTION["inputs"][name].get("default", ""))
    return EXPRESSION.sub(lambda m: GITHUB[m[1]], default)


def step_env(inputs: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    unknown = set(inputs) - set(ACTION["inputs"])
    assert not unknown, f"action.yml declares no input {unknown}"
    return {**RUN_ENV, **{key: _value(expr, inputs) for key, expr in RUN_STEP["env"].items()}, **(extra or {})}


def argv(inputs: Mapping[str, str]) -> list[str]:
    return list(from_env(step_env(inputs)).argv)


def refused(inputs: Mapping[str, str]) -> str:
    with pytest.raises(InputError) as caught:
        from_env(step_env(inputs))
    return str(caught.value)


HOLD_REASON = "held by Deploy Staging (https://github.com/kai-platform/kai/actions/runs/4242)"
DIGEST = "sha256:" + "a" * 64

MAPPING = [
    # bump: environment or ref, images, tag, PR options, registry switches, wait
    pytest.param({"environment": "staging", "images": " kai-api-server=5d6e7f8 ,\nkai-coordinator\n\n",
                  "tag": "abc1234"},
                 ["bump", "--env=staging", "--image=kai-api-server=5d6e7f8", "--image=kai-coordinator",
                  "--tag=abc1234"], id="bump-env"),
    pytest.param({"images": "kai-api-server"},
                 ["bump", "--ref=refs/heads/staging", "--image=kai-api-server", f"--tag={SHA}"],
                 id="bump-ref-defaults"),
    pytest.param({"ref": " refs/heads/main\n", "images": "kai-api-server=1.2.3"},
                 ["bump", "--ref=refs/heads/main", "--image=kai-api-server=1.2.3", f"--tag={SHA}"], id="bump-ref"),
    pytest.param({"environment": "staging", "tag": "abc1234"}, ["bump", "--env=staging", "--tag=abc1234"],
                 id="bump-every-alias"),
    pytest.param({"environment": "staging", "images": f"kai-api-server@{DIGEST}", "tag": ""},
                 ["bump", "--env=staging", f"--image=kai-api-server@{DIGEST}"], id="bump-digest-no-tag"),
    pytest.param({"gitops-repository": "file:///srv/kai-gitops.git", "config": "ci/gitops.yaml",
                  "dry-run": "TRUE", "environment": "production", "images": "kai-api-server=1.10",
                  "delivery": "pull-request", "labels": "deploy,\nneeds review",
                  "reviewers": "alice bob,carol\n\tdave"},
                 ["--repo=file:///srv/kai-gitops.git", "--config=ci/gitops.yaml", "--dry-run",
                  "bump", "--env=production", "--image=kai-api-server=1.10", f"--tag={SHA}",
                  "--delivery=pull-request", "--label=deploy", "--label=needs review",
                  "--reviewer=alice", "--reviewer=bob", "--reviewer=carol", "--reviewer=dave"], id="bump-pr"),
    pytest.param({"environment": "staging", "images": "kai-api-server=1.2.3", "verify-image": "true",
                  "pin-digest": "false"},
                 ["bump", "--env=staging", "--image=kai-api-server=1.2.3", f"--tag={SHA}", "--verify-image",
                  "--no-pin-digest"], id="bump-registry"),
    pytest.param({"environment": "staging", "images": "kai-api-server=1.2.3", "allow-shared": "true"},
                 ["bump", "--env=staging", "--image=kai-api-server=1.2.3", f"--tag={SHA}", "--allow-shared"],
                 id="bump-allow-shared"),
    pytest.param({"command": "promote", "from": "staging", "environment": "production", "allow-shared": "false"},
                 ["promote", "--from=staging", "--to=production"], id="promote-allow-shared-false"),
    pytest.param({"environment": "staging", "images": "kai-api-server=5d6e7f8", "wait": "true",
                  "wait-timeout": "900"},
                 ["bump", "--env=staging", "--image=kai-api-server=5d6e7f8", f"--tag={SHA}", "--wait",
                  "--wait-timeout=900"], id="bump-wait"),
    pytest.param({"environment": "staging", "dry-run": "False", "wait": "FALSE"},
                 ["bump", "--env=staging", f"--tag={SHA}"], id="bump-false-spellings"),
    # revert: SHAs after `--`
    pytest.param({"command": "revert", "environment": "production", "commits": "abc1234 def5678,\n9A9A9A9\tabcd"},
                 ["revert", "--env=production", "--", "abc1234", "def5678", "9A9A9A9", "abcd"], id="revert"),
    pytest.param({"command": "revert", "environment": "production", "commits": SHA, "delivery": "pull-request",
                  "labels": "revert", "reviewers": "alice"},
                 ["revert", "--env=production", "--delivery=pull-request", "--label=revert", "--reviewer=alice",
                  "--", SHA], id="revert-pr"),
    pytest.param({"command": "revert", "environment": "staging", "commits": "abc1234", "wait": "true"},
                 ["revert", "--env=staging", "--wait", "--", "abc1234"], id="revert-wait"),
    # rollback: steps or to
    pytest.param({"command": "rollback", "environment": "staging", "steps": " 2 "},
                 ["rollback", "--env=staging", "--steps=2"], id="rollback-steps"),
    pytest.param({"command": "rollback", "environment": "staging", "to": "abc1234", "delivery": "push"},
                 ["rollback", "--env=staging", "--to=abc1234", "--delivery=push"], id="rollback-to"),
    pytest.param({"command": "rollback", "environment": "staging", "steps": "1", "verify-image": "false"},
                 ["rollback", "--env=staging", "--steps=1", "--no-verify-image"], id="rollback-no-verify"),
    pytest.param({"command": "rollback", "environment": "staging", "to": "3f2c1ab", "pin-digest": "true",
                  "wait": "true", "wait-timeout": "60"},
                 ["rollback", "--env=staging", "--to=3f2c1ab", "--pin-digest", "--wait", "--wait-timeout=60"],
                 id="rollback-pin-wait"),
    # promote: from -> environment
    pytest.param({"command": "promote", "from": "staging", "environment": "production",
                  "images": "kai-api-server"},
                 ["promote", "--from=staging", "--to=production", "--image=kai-api-server"], id="promote"),
    pytest.param({"command": "promote", "from": "staging", "environment": "production", "pin-digest": "true",
                  "delivery": "pull-request", "labels": "promote", "wait": "true"},
                 ["promote", "--from=staging", "--to=production", "--pin-digest", "--delivery=pull-request",
                  "--label=promote", "--wait"], id="promote-all"),
    # canary
    pytest.param({"command": "canary-start", "environment": "production", "tag": "5d6e7f8",
                  "images": f"kai-api-server, kai-coordinator=9f9f9f9, kai-point-cloud@{DIGEST}",
                  "canary-weight": "10"},
                 ["canary", "start", "--env=production", "--image=kai-api-server=5d6e7f8",
                  "--image=kai-coordinator=9f9f9f9", f"--image=kai-point-cloud@{DIGEST}", "--weight=10"],
                 id="canary-start"),
    pytest.param({"command": "canary-start", "environment": "production", "images": "kai-api-server",
                  "delivery": "push", "wait": "true", "verify-image": "true", "pin-digest": "false"},
                 ["canary", "start", "--env=production", f"--image=kai-api-server={SHA}", "--verify-image",
                  "--no-pin-digest", "--delivery=push", "--wait"], id="canary-start-default-tag"),
    pytest.param({"command": "canary-promote", "environment": "production"},
                 ["canary", "promote", "--env=production"], id="canary-promote"),
    pytest.param({"command": "canary-abort", "environment": "production", "delivery": "pull-request",
                  "reviewers": "alice", "wait": "true"},
                 ["canary", "abort", "--env=production", "--delivery=pull-request", "--reviewer=alice", "--wait"],
                 id="canary-abort"),
    # watch
    pytest.param({"command": "watch", "environment": "production",
                  "health-checks": "https://api.kai-platform.io/health\n  https://x.io/h?s=api,coordinator\n"},
                 ["watch", "--env=production", "--check=https://api.kai-platform.io/health",
                  "--check=https://x.io/h?s=api,coordinator"], id="watch"),
    pytest.param({"command": "watch", "environment": "production", "health-checks": "https://h.io/ok",
                  "checks": "3", "interval": "0.5", "threshold": "2", "on-failure": "abort",
                  "on-success": "promote"},
                 ["watch", "--env=production", "--check=https://h.io/ok", "--checks=3", "--interval=0.5",
                  "--threshold=2", "--on-failure=abort", "--on-success=promote"], id="watch-gate"),
    # status, validate
    pytest.param({"command": "status"}, ["status"], id="status"),
    pytest.param({"command": "status", "environment": "production"}, ["status", "--env=production"],
                 id="status-env"),
    pytest.param({"command": "validate", "environment": "staging"}, ["validate", "--env=staging"], id="validate"),
    # hold, unhold
    pytest.param({"command": "hold", "environment": "production", "images": "kai-api-server"},
                 ["hold", "--env=production", "--image=kai-api-server", f"--reason={HOLD_REASON}"],
                 id="hold-default-reason"),
    pytest.param({"command": "hold", "environment": "production", "images": "kai-api-server,\nredis",
                  "reason": " incident 42 ", "delivery": "pull-request"},
                 ["hold", "--env=production", "--image=kai-api-server", "--image=redis", "--reason=incident 42",
                  "--delivery=pull-request"], id="hold"),
    pytest.param({"command": "unhold", "environment": "production", "images": "kai-api-server"},
                 ["unhold", "--env=production", "--image=kai-api-server"], id="unhold"),
    # wait
    pytest.param({"command": "wait", "environment": "staging"}, ["wait", "--env=staging"], id="wait"),
    pytest.param({"command": "wait", "environment": "staging", "commit": "ABC1234", "wait-timeout": "30"},
                 ["wait", "--env=staging", "--commit=ABC1234", "--timeout=30"], id="wait-commit"),
    # reconcile
    pytest.param({"command": "reconcile", "environment": "staging"}, ["reconcile", "--env=staging"],
                 id="reconcile"),
    pytest.param({"command": "reconcile", "environment": "production", "images": "kai-api-server, redis",
                  "verify-image": "true", "pin-digest": "TRUE", "delivery": "pull-request", "labels": "auto",
                  "wait": "true", "wait-timeout": "120"},
                 ["reconcile", "--env=production", "--image=kai-api-server", "--image=redis", "--verify-image",
                  "--pin-digest", "--delivery=pull-request", "--label=auto", "--wait", "--wait-timeout=120"],
                 id="reconcile-all"),
    # values are trimmed; a value starting with '-' stays glued to its option
    pytest.param({"command": " validate\n", "environment": "--remote-url=http://127.0.0.1:9/x"},
                 ["validate", "--env=--remote-url=http://127.0.0.1:9/x"], id="dash-value-stays-a-value"),
    pytest.param({"command": "", "environment": "staging"}, ["bump", "--env=staging", f"--tag={SHA}"],
                 id="empty-command-is-bump"),
]


@pytest.mark.parametrize(("inputs", "expected"), MAPPING)
def test_inputs_become_cli_arguments(inputs: dict[str, str], expected: list[str]) -> None:
    request = from_env(step_env(inputs))
    assert list(request.argv) == expected
    assert request.warnings == ()


def test_the_table_covers_every_input_and_every_command() -> None:
    given = {name for case in MAPPING for name in case.values[0]}
    assert given == set(ACTION["inputs"]) - CREDENTIALS - {"python-version"}
    commands = {case.values[0].get("command", "bump").strip() or "bump" for case in MAPPING}
    assert commands == set(COMMANDS)


def test_action_yml_maps_every_input_to_the_variable_the_module_reads() -> None:
    env = RUN_STEP["env"]
    expected = {env_name(name): f"${{{{ inputs.{name} }}}}" for name in ACTION["inputs"]
                if name not in CREDENTIALS | {"python-version"}}
    expected |= {"GITOPS_BOT_TOKEN": "${{ inputs.token }}", "GITOPS_BOT_APP_ID": "${{ inputs.app-id }}",
                 "GITOPS_BOT_APP_PRIVATE_KEY": "${{ inputs.app-private-key }}"}
    assert env == expected
    assert set(CHECKED) <= set(ACTION["inputs"])


@pytest.mark.parametrize(("inputs", "message"), [
    ({"command": "deploy"}, "unknown command 'deploy'; expected one of: bump, revert, rollback, promote, "
                            "canary-start, canary-promote, canary-abort, watch, status, validate, hold, unhold, "
                            "reconcile, wait"),
    ({"dry-run": "yes", "environment": "staging"}, "input 'dry-run' must be true or false, got 'yes'"),
    ({"ref": "", "environment": ""}, "command 'bump' needs the 'environment' or the 'ref' input"),
    ({"environment": "staging", "wait": "1"}, "input 'wait' must be true or false, got '1'"),
    ({"environment": "staging", "verify-image": "yes"}, "input 'verify-image' must be true or false, got 'yes'"),
    ({"environment": "staging", "pin-digest": "on"}, "input 'pin-digest' must be true or false, got 'on'"),
    ({"command": "revert", "environment": "staging"}, "command 'revert' needs the 'commits' input"),
    ({"command": "revert", "environment": "staging", "commits": " ,\n"}, "command 'revert' needs the 'commits' input"),
    # an input must never turn into an option (it could redirect the token: --remote-url=http://evil)
    ({"command": "revert", "environment": "staging", "commits": "--remote-url=http://127.0.0.1:9/x abc1234"},
     "input 'commits': '--remote-url=http://127.0.0.1:9/x' is not a commit SHA"),
    ({"command": "revert", "environment": "staging", "commits": "abc"}, "input 'commits': 'abc' is not a commit SHA"),
    ({"command": "revert", "commits": "abc1234"}, "command 'revert' needs the 'environment' input"),
    ({"command": "rollback", "environment": "staging", "steps": "1", "to": "abc1234"},
     "command 'rollback' takes 'steps' or 'to', not both"),
    ({"command": "rollback", "environment": "staging"}, "command 'rollback' needs the 'steps' or the 'to' input"),
    ({"command": "rollback", "environment": "staging", "to": "HEAD~1"}, "input 'to': 'HEAD~1' is not a commit SHA"),
    ({"command": "rollback", "steps": "1"}, "command 'rollback' needs the 'environment' input"),
    ({"command": "promote", "environment": "production"}, "command 'promote' needs the 'from' input"),
    ({"command": "promote", "from": "staging"}, "command 'promote' needs the 'environment' input (the target)"),
    ({"command": "canary-start", "images": "kai-api-server"}, "command 'canary-start' needs the 'environment' input"),
    ({"command": "canary-start", "environment": "production", "images": "kai-api-server", "tag": ""},
     "image 'kai-api-server' has no tag and the 'tag' input is empty"),
    ({"command": "canary-promote"}, "command 'canary-promote' needs the 'environment' input"),
    ({"command": "canary-abort"}, "command 'canary-abort' needs the 'environment' input"),
    ({"command": "watch", "environment": "production"}, "command 'watch' needs the 'health-checks' input"),
    ({"command": "watch", "health-checks": "https://h.io"}, "command 'watch' needs the 'environment' input"),
    ({"command": "hold", "environment": "production"}, "command 'hold' needs the 'images' input (image names)"),
    ({"command": "unhold", "environment": "production", "images": ", "},
     "command 'unhold' needs the 'images' input (image names)"),
    ({"command": "hold", "images": "kai-api-server"}, "command 'hold' needs the 'environment' input"),
    ({"command": "wait", "environment": "staging", "commit": "--repo=x"},
     "input 'commit': '--repo=x' is not a commit SHA"),
    ({"command": "wait", "environment": "staging", "commit": "abc123"}, "input 'commit': 'abc123' is not a commit SHA"),
    ({"command": "wait"}, "command 'wait' needs the 'environment' input"),
    ({"command": "reconcile"}, "command 'reconcile' needs the 'environment' input"),
])
def test_bad_inputs_are_refused_naming_the_input(inputs: dict[str, str], message: str) -> None:
    assert refused(inputs) == message


def test_an_error_annotation_escapes_what_could_start_a_workflow_command() -> None:
    message = refused({"command": "bump 100%\n::add-mask::x\r\n::warning::y"})
    assert annotation("error", message) == (
        "::error title=gitops-bot::unknown command 'bump 100%25%0A::add-mask::x%0D%0A::warning::y'; expected one "
        "of: bump, revert, rollback, promote, canary-start, canary-promote, canary-abort, watch, status, "
        "validate, hold, unhold, reconcile, wait")


@pytest.mark.parametrize(("inputs", "warned"), [
    ({"command": "rollback", "environment": "staging", "steps": "1", "images": "kai-api-server",
      "canary-weight": "10"}, ["images", "canary-weight"]),
    ({"command": "canary-promote", "environment": "staging", "pin-digest": "true"}, ["pin-digest"]),
    ({"command": "revert", "environment": "staging", "commits": "abc1234", "allow-shared": "true"},
     ["allow-shared"]),
    ({"environment": "staging", "wait-timeout": "30"}, ["wait-timeout"]),  # without wait: true
    ({"command": "unhold", "environment": "staging", "images": "a", "reason": "x", "labels": "l"},
     ["labels", "reason"]),
    ({"command": "status", "commits": "abc1234", "to": "abc1234", "from": "staging", "commit": "abc1234",
      "health-checks": "https://h.io", "checks": "1", "interval": "1", "threshold": "1", "on-failure": "abort",
      "on-success": "promote", "steps": "1", "reviewers": "a", "delivery": "push", "verify-image": "true"},
     ["commits", "steps", "to", "from", "health-checks", "checks", "interval", "threshold", "on-failure",
      "on-success", "reviewers", "delivery", "commit", "verify-image"]),
    ({"command": "status", "environment": "  \n"}, []),  # blank counts as not set
])
def test_inputs_a_command_does_not_read_are_warned_about(inputs: dict[str, str], warned: list[str]) -> None:
    request = from_env(step_env(inputs))
    command = inputs.get("command", "bump")
    assert list(request.warnings) == [f"input '{name}' is not used by command '{command}'" for name in warned]


def test_the_hold_reason_without_a_run_names_the_workflow_only() -> None:
    env = step_env({"command": "hold", "environment": "production", "images": "kai-api-server"})
    env.pop("GITHUB_RUN_ID")
    assert from_env(env).argv[-1] == "--reason=held by Deploy Staging"
    env.pop("GITHUB_WORKFLOW")
    assert from_env(env).argv[-1] == "--reason=held by a workflow"
    env |= {"GITHUB_RUN_ID": "7", "GITHUB_SERVER_URL": "", "GITHUB_REPOSITORY": "o/r"}
    assert from_env(env).argv[-1] == "--reason=held by a workflow (https://github.com/o/r/actions/runs/7)"


@pytest.mark.parametrize(("token", "app_id", "unset"), [
    ("", "123456", ("GITHUB_TOKEN",)),  # the App given as inputs is what the step authenticates with
    ("ghp_explicit_0123456789", "", ()),
    ("ghp_explicit_0123456789", "123456", ()),
    ("", "", ()),
])
def test_a_job_github_token_is_dropped_only_for_an_app(token: str, app_id: str, unset: tuple[str, ...]) -> None:
    env = step_env({"token": token, "app-id": app_id, "app-private-key": "PEMTEXT", "environment": "staging"},
                   {"GITHUB_TOKEN": "ghs_workflow_token_of_another_repo"})
    request = from_env(env)
    assert request.unset == unset
    secrets = {token, "PEMTEXT", "ghs_workflow_token_of_another_repo"} - {""}
    assert [arg for arg in request.argv if any(secret in arg for secret in secrets)] == []


def test_split_takes_newlines_and_the_given_separators() -> None:
    assert split(" a ,b\r\n\n, c d ,", ",") == ["a", "b", "c d"]
    assert split("a b\tc,d\ne", " \t") == ["a", "b", "c,d", "e"]
    assert split("", ",") == []


# --- no input becomes an option -----------------------------------------------------------------

OPTION = re.compile(r"--(?:repo|config|env|ref|image|tag|delivery|label|reviewer|wait-timeout|steps|to|from|weight|"
                    r"check|checks|interval|threshold|on-failure|on-success|reason|commit|timeout)=.*", re.DOTALL)
FLAGS = {"--dry-run", "--wait", "--verify-image", "--no-verify-image", "--pin-digest", "--no-pin-digest"}
WORDS = {"bump", "revert", "rollback", "promote", "canary", "start", "abort", "watch", "status", "validate",
         "hold", "unhold", "wait", "reconcile"}
VALUE = st.text(st.sampled_from("ab1-=@ ,\n\t\r%:/x"), max_size=12)


@settings(max_examples=300)
@given(command=st.sampled_from(sorted(COMMANDS)),
       values=st.dictionaries(st.sampled_from(sorted(set(ACTION["inputs"]) - CREDENTIALS - {"command"})), VALUE))
def test_every_argv_element_is_a_command_word_an_option_with_its_value_or_a_sha(
        command: str, values: dict[str, str]) -> None:
    try:
        args = list(from_env(step_env({**values, "command": command})).argv)
    except InputError:
        return
    positionals = args[args.index("--") + 1:] if "--" in args else []
    options = args[:args.index("--")] if "--" in args else args
    assert all(re.fullmatch(r"[0-9a-fA-F]{4,40}", sha) for sha in positionals), args
    for arg in options:
        assert arg in WORDS or arg in FLAGS or OPTION.fullmatch(arg), (arg, args)
    assert all(not OPTION.fullmatch(arg) or arg.split("=", 1)[1] for arg in options), "empty value"
