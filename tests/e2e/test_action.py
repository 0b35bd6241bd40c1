"""Run the composite action's own steps, as the GitHub runner would, against a bare GitOps remote.

`CompositeAction` reads action.yml and executes its `run:` steps in order with
`bash --noprofile --norc -eo pipefail`, each with the environment the runner gives a composite step:
the job's GITHUB_*/RUNNER_* variables, the step's `env:` evaluated against the action's inputs
(given value, else default), and fresh GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV /
GITHUB_PATH files whose contents are read back after the step. The action's `outputs:` are then
evaluated from the steps' outputs. Steps with `uses:` (setup-python) are not run; the harness
stands in for them with the outputs a test gives (`python-path` of a python3 on this machine).

The action itself is a copy of this repository's files (what a commit would hold) in a temporary
folder, as the runner downloads an action: its install step builds a venv under RUNNER_TEMP and
pip-installs GITHUB_ACTION_PATH there. The stand-in python3 makes that venv see the test
environment's packages (a `.pth` file, not `--system-site-packages`, which would be the base
interpreter's), and pip runs with no index and no build isolation, so nothing is fetched.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.gitrepo import Remote, git
from tests.support.paths import REPO

SHA = "0123456789abcdef0123456789abcdef01234567"  # GITHUB_SHA of the app-repo run
TOKEN = "ghp_dummyTokenForTheActionHarness0123456789"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


# --- the harness -------------------------------------------------------------------------------


@dataclass
class StepRun:
    name: str
    id: str | None
    ran: bool
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]
    summary: str

    @property
    def ok(self) -> bool:
        return all(step.returncode == 0 for step in self.steps)

    @property
    def stdout(self) -> str:
        return "".join(step.stdout for step in self.steps)

    def log(self) -> str:
        return "\n".join(f"--- {s.name} (exit {s.returncode})\n{s.stdout}{s.stderr}"
                         for s in self.steps if s.ran)


def read_file_command(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT/GITHUB_ENV file: `name=value` lines and `name<<DELIMITER` blocks."""
    values: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for item in lines:
                if item == delimiter:
                    break
                body.append(item)
            else:
                raise AssertionError(f"{path.name}: no closing {delimiter!r} for {name!r}")
            values[name] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            values[name] = value
    return values


class CompositeAction:
    def __init__(self, action_path: Path, work: Path, *, github: Mapping[str, str],
                 uses_outputs: Mapping[str, Mapping[str, str]] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.action_path = action_path
        self.metadata = yaml.safe_load((action_path / "action.yml").read_text(encoding="utf-8"))
        assert self.metadata["runs"]["using"] == "composite"
        self.temp = work / "runner-temp"
        self.workspace = work / "workspace"
        self.home = work / "home"
        for folder in (self.temp, self.workspace, self.home):
            folder.mkdir(parents=True, exist_ok=True)
        self.github = {"action_path": str(action_path), "workspace": str(self.workspace), **github}
        self.uses_outputs = uses_outputs or {}
        self.job_env = {
            "PATH": os.environ["PATH"], "HOME": str(self.home), "LANG": "C.UTF-8",
            "CI": "true", "GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux", "RUNNER_TEMP": str(self.temp),
            "GITHUB_WORKSPACE": str(self.workspace), "GITHUB_ACTION_PATH": str(action_path),
            **{f"GITHUB_{key.upper()}": value for key, value in github.items()},
            **(env or {}),
        }

    def _expression(self, expr: str, inputs: Mapping[str, str], steps: Mapping[str, StepRun]) -> str:
        parts = expr.split(".")
        if parts[0] == "inputs" and len(parts) == 2:
            return self._input(parts[1], inputs, steps)
        if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
            step = steps.get(parts[1])
            return step.outputs.get(parts[3], "") if step else ""
        if parts[0] == "github" and len(parts) == 2:
            return self.github[parts[1]]
        if parts[0] == "runner" and parts[1:] == ["temp"]:
            return str(self.temp)
        raise NotImplementedError(f"the harness cannot evaluate ${{{{ {expr} }}}}")

    def _evaluate(self, text: Any, inputs: Mapping[str, str], steps: Mapping[str, StepRun]) -> str:
        if isinstance(text, bool):
            return "true" if text else "false"
        return EXPRESSION.sub(lambda m: self._expression(m.group(1), inputs, steps), str(text))

    def _input(self, name: str, inputs: Mapping[str, str], steps: Mapping[str, StepRun]) -> str:
        declared = self.metadata["inputs"]
        if name not in declared:
            raise KeyError(f"action.yml declares no input {name!r}")
        if name in inputs:
            return inputs[name]
        return self._evaluate(declared[name].get("default", ""), inputs, steps)

    def run(self, inputs: Mapping[str, str], *, only: set[str] | None = None) -> ActionRun:
        unknown = set(inputs) - set(self.metadata["inputs"])
        assert not unknown, f"inputs action.yml does not declare: {unknown}"
        steps: dict[str, StepRun] = {}
        runs: list[StepRun] = []
        summary = ""
        exported: dict[str, str] = {}
        path_entries: list[str] = []
        for index, step in enumerate(self.metadata["runs"]["steps"]):
            name = step.get("name") or step.get("uses") or f"step {index}"
            record = StepRun(name=name, id=step.get("id"), ran=False)
            runs.append(record)
            if record.id:
                steps[record.id] = record
            if "if" in step:
                raise NotImplementedError(f"{name}: the harness does not evaluate `if:`")
            if "uses" in step or (only is not None and name not in only and record.id not in only):
                record.outputs = dict(self.uses_outputs.get(record.id or "", {}))
                continue
            assert step.get("shell") == "bash", f"{name}: composite run steps must say shell: bash"
            files = {kind: self.temp / f"_runner_file_commands/{kind}_{uuid.uuid4().hex}"
                     for kind in ("set_output", "step_summary", "set_env", "add_path")}
            for file in files.values():
                file.parent.mkdir(exist_ok=True)
                file.touch()
            script = self.temp / f"_step_{index}.sh"
            script.write_text(step["run"], encoding="utf-8")
            env = {**self.job_env, **exported,
                   "GITHUB_OUTPUT": str(files["set_output"]),
                   "GITHUB_STEP_SUMMARY": str(files["step_summary"]),
                   "GITHUB_ENV": str(files["set_env"]), "GITHUB_PATH": str(files["add_path"])}
            if path_entries:
                env["PATH"] = os.pathsep.join([*reversed(path_entries), env["PATH"]])
            for key, value in (step.get("env") or {}).items():
                env[key] = self._evaluate(value, inputs, steps)
            cwd = self._evaluate(step.get("working-directory", str(self.workspace)), inputs, steps)
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                                  cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
            record.ran = True
            record.returncode, record.stdout, record.stderr = proc.returncode, proc.stdout, proc.stderr
            record.outputs = read_file_command(files["set_output"])
            summary += files["step_summary"].read_text(encoding="utf-8")
            exported.update(read_file_command(files["set_env"]))
            path_entries += files["add_path"].read_text(encoding="utf-8").split()
            if proc.returncode != 0:
                break  # a failing step ends the composite action, as on the runner
        outputs = {name: self._evaluate(spec["value"], inputs, steps)
                   for name, spec in self.metadata["outputs"].items()}
        return ActionRun(runs, outputs, summary)


# --- fixtures ----------------------------------------------------------------------------------


def _repository_files() -> list[str]:
    """The files a commit of this repository would hold: tracked plus new, minus ignored."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    return [name for name in listed if name and (REPO / name).is_file()]


@pytest.fixture
def action_path(tmp_path: Path) -> Path:
    """This repository, checked out as the runner checks out an action (_actions/OWNER/REPO/REF)."""
    target = tmp_path / "_actions" / "kai-platform" / "gitops-bot" / "main"
    for name in _repository_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target / name)
    return target


@pytest.fixture
def python_stand_in(tmp_path: Path) -> Path:
    """What setup-python provides: a python3, here one whose venvs see the test environment.

    A venv made by the test environment's interpreter is based on the *base* interpreter (and its
    `--system-site-packages` are the base's, not the test environment's), so on a clean machine it
    has neither gitops-bot's dependencies nor `wheel`. The stand-in makes the venv as the install
    step asks, then adds the test environment's site-packages to it with a `.pth` file: the offline
    install (`PIP_NO_INDEX`) finds every dependency and the build tools there, and nothing is fetched.
    """
    if importlib.util.find_spec("wheel") is None:
        pytest.fail("the install step builds gitops-bot offline with the test environment's setuptools, "
                    "which needs the `wheel` package there: pip install -e '.[test]'")
    test_env = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    path = tmp_path / "toolcache" / "python3"
    path.parent.mkdir()
    path.write_text(
        "#!/bin/bash\n"
        'if [ "$1" = -m ] && [ "$2" = venv ]; then\n'
        '  shift 2\n'
        f'  "{sys.executable}" -m venv "$@" || exit $?\n'
        '  for last; do :; done\n'  # the venv folder is the last argument
        '  site=$("$last/bin/python" -c "import sysconfig; print(sysconfig.get_paths()[\'purelib\'])")\n'
        f"  printf '%s\\n' {' '.join(shlex.quote(p) for p in test_env)} > \"$site/_gitops_bot_test_env.pth\"\n"
        '  exit 0\n'
        "fi\n"
        f'exec "{sys.executable}" "$@"\n', encoding="utf-8")
    path.chmod(0o755)
    return path


GITHUB = {
    "ref": "refs/heads/staging", "sha": SHA, "repository": "kai-platform/kai",
    "server_url": "https://github.com", "api_url": "http://127.0.0.1:9",  # nothing may call the API
    "run_id": "4242", "run_attempt": "1", "workflow": "Deploy Staging", "event_name": "push",
    "actor": "kai-ci",
}


@pytest.fixture
def action(action_path: Path, python_stand_in: Path, tmp_path: Path) -> CompositeAction:
    return CompositeAction(
        action_path, tmp_path / "runner", github=GITHUB,
        uses_outputs={"python": {"python-path": str(python_stand_in), "python-version": "3.11"}},
        env={"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
             "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"},
    )


# --- the action, end to end --------------------------------------------------------------------


def _changed_lines(bare: Path, old: str, new: str) -> list[str]:
    diff = git("diff", "--unified=0", old, new, cwd=bare)
    return [line for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_bump_runs_every_step_and_pushes_one_commit(action: CompositeAction, remote: Remote) -> None:
    before, main_before = remote.head("staging"), remote.head("main")

    run = action.run({
        "command": "bump",
        "environment": "staging",
        "images": " kai-api-server=5d6e7f8,\nkai-coordinator=5d6e7f8\n",
        "gitops-repository": remote.url,
        "token": TOKEN,
    })

    assert run.ok, run.log()
    assert [s.name for s in run.steps if not s.ran] == ["Set up Python"]
    # the run step's console script turned the inputs into the CLI's argv, values glued to options
    assert (f"gitops-bot --repo={remote.url} bump --env=staging --image=kai-api-server=5d6e7f8 "
            f"--image=kai-coordinator=5d6e7f8 --tag={SHA}") in run.steps[3].stdout.splitlines()
    head = remote.head("staging")
    assert remote.count("staging") == 2
    assert run.outputs == {
        "environment": "staging", "changed": "true", "commit-sha": head, "pull-request-number": "",
        "pull-request-url": "", "pull-request-operation": "", "health-status": "", "wait-state": "",
    }
    assert remote.head("main") == main_before

    # The pushed commit changes exactly the two tags, and says so in its trailers.
    assert _changed_lines(remote.bare, before, head) == [
        "-      tag: 1a2b3c4  # updated by gitops-bot", "+      tag: 5d6e7f8  # updated by gitops-bot",
        '-      tag: "1a2b3c4"  # updated by gitops-bot', '+      tag: "5d6e7f8"  # updated by gitops-bot',
    ]
    trailers = remote.message(head).splitlines()
    assert "Gitops-Bot-Environment: staging" in trailers
    assert "Gitops-Bot-Image: ghcr.io/kai-platform/kai-api-server 1a2b3c4 -> 5d6e7f8" in trailers
    assert "Gitops-Bot-Image: ghcr.io/kai-platform/kai-coordinator 1a2b3c4 -> 5d6e7f8" in trailers
    assert f"Gitops-Bot-Source: kai-platform/kai@{SHA}" in trailers
    assert "Gitops-Bot-Run: https://github.com/kai-platform/kai/actions/runs/4242" in trailers

    # The job summary shows the change; the token was registered as a secret and never printed.
    assert "kai-api-server" in run.summary
    assert "5d6e7f8" in run.summary
    assert run.steps[0].stdout == f"::add-mask::{TOKEN}\n"
    for step in run.steps:
        leaked = [line for line in (step.stdout + step.stderr).splitlines()
                  if TOKEN in line and line != f"::add-mask::{TOKEN}"]
        assert leaked == [], step.name
    assert TOKEN not in run.summary


def test_bump_by_ref_with_the_default_tag_in_a_dry_run(action: CompositeAction, remote: Remote) -> None:
    """No environment: github.ref picks it; no tag on the image: github.sha is the tag.

    Another step of the job may have put a venv (with its own gitops-bot) where ours goes: it is
    replaced by a fresh one, whose gitops-bot is this action's."""
    planted = action.temp / "gitops-bot-venv" / "bin"
    planted.mkdir(parents=True)
    for name in ("gitops-bot", "gitops-bot-action"):
        (planted / name).write_text("#!/bin/sh\necho planted; exit 0\n", encoding="utf-8")
        (planted / name).chmod(0o755)
    (planted.parent / ".gitops-bot-action").write_text("stamp", encoding="utf-8")
    refs = remote.refs()

    run = action.run({"images": "kai-api-server", "gitops-repository": remote.url, "token": TOKEN,
                      "dry-run": "true"})

    assert run.ok, run.log()
    assert "planted" not in run.log()
    assert not (planted.parent / ".gitops-bot-action").exists()
    assert "gitops-bot, version" in run.steps[2].stdout
    assert run.outputs["environment"] == "staging"
    assert run.outputs["changed"] == "true"
    assert run.outputs["commit-sha"] == ""
    assert SHA in run.summary
    assert remote.refs() == refs  # nothing pushed anywhere


def test_the_install_step_uses_the_hashed_lock_only() -> None:
    """The dependencies are the lock's pins (--require-hashes --no-deps, wheels only); the project
    itself is copied from the action, so pip builds nothing and resolves nothing."""
    metadata = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    [install] = [s for s in metadata["runs"]["steps"] if s.get("name") == "Install gitops-bot"]
    pip_lines = [ln for ln in install["run"].replace("\\\n", " ").splitlines() if "pip install" in ln]
    assert len(pip_lines) == 1
    words = pip_lines[0].split()
    for flag in ("--require-hashes", "--no-deps", "--only-binary=:all:"):
        assert flag in words
    assert words[words.index("-r") + 1] == '"$GITHUB_ACTION_PATH/requirements/action.lock"'


# --- the token mask step ----------------------------------------------------------------------


def test_the_token_is_masked_line_by_line_and_required(action: CompositeAction) -> None:
    run = action.run({"token": "first\nsecond"}, only={"Mask the token"})
    assert run.ok
    assert run.steps[0].stdout == "::add-mask::first\n::add-mask::second\n"
    empty = action.run({"token": ""}, only={"Mask the token"})
    assert empty.steps[0].returncode == 2
    assert "::add-mask::" not in empty.steps[0].stdout
    key_only = action.run({"token": "", "app-private-key": "k1"}, only={"Mask the token"})
    assert key_only.steps[0].returncode == 2  # an App needs its ID too


def test_an_app_key_replaces_the_token_and_is_masked_line_by_line(action: CompositeAction) -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1\nzzz2\n-----END RSA PRIVATE KEY-----"
    run = action.run({"token": "", "app-id": "123456", "app-private-key": pem}, only={"Mask the token"})
    assert run.ok, run.log()
    assert run.steps[0].stdout == "".join(f"::add-mask::{line}\n" for line in pem.split("\n"))


def test_outputs_file_parser_reads_both_forms(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_text("a=1\nb<<EOF_x\nline 1\nline=2\nEOF_x\nc=x<<y\n", encoding="utf-8")
    assert read_file_command(path) == {"a": "1", "b": "line 1\nline=2", "c": "x<<y"}


def test_action_outputs_come_from_the_run_step() -> None:
    metadata = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert {name: spec["value"] for name, spec in metadata["outputs"].items()} == {
        name: f"${{{{ steps.run.outputs.{name} }}}}" for name in (
            "environment", "changed", "commit-sha", "pull-request-number", "pull-request-url",
            "pull-request-operation", "health-status", "wait-state")}
    assert json.dumps(metadata).count('"id": "run"') == 1
