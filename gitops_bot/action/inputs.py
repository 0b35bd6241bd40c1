"""The Action's inputs, as the command line of the CLI (action.yml's "Run gitops-bot" step).

action.yml maps every input to an `INPUT_*` environment variable (`wait-timeout` ->
`INPUT_WAIT_TIMEOUT`); `from_env` reads that mapping and returns the argv the CLI runs with. It
is pure: no I/O, and nothing read but the mapping it is given.

The argv is built so that no input value can become an option: every value is glued to its option
(`--env=VALUE`, never `--env VALUE`), and the revert SHAs, the only positionals, come after `--`.
SHAs use the CLI's own grammar (gitops_bot/model/commits.py), bare image names the one of
gitops_bot/model/images.py. Each option is added only when its input is set; an input that the
command does not read gives a warning rather than being dropped silently. The token and the App
key never appear here: they reach the CLI as GITOPS_BOT_* variables of the step (docs/github.md).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gitops_bot.model.commits import SHORTEST, SHORTEST_WAIT, is_commit_sha
from gitops_bot.model.images import takes_default_tag

# Inputs whose value, when the command does not read it, is worth a warning. `ref` and `tag` always
# have a value (their defaults), `wait` and `dry-run` default to false.
CHECKED = ("environment", "images", "commits", "steps", "to", "from", "canary-weight", "health-checks",
           "checks", "interval", "threshold", "on-failure", "on-success", "labels", "reviewers", "delivery",
           "reason", "wait-timeout", "commit", "verify-image", "pin-digest", "allow-shared")
# The options of `watch` whose values the CLI checks (name of the input, option).
WATCH_TUNING = (("checks", "--checks"), ("interval", "--interval"), ("threshold", "--threshold"),
                ("on-failure", "--on-failure"), ("on-success", "--on-success"))
_SPACE = string.whitespace
_TRUE, _FALSE = ("true", "True", "TRUE"), ("false", "False", "FALSE", "")  # YAML 1.2 core booleans


class InputError(ValueError):
    """An input the Action refuses before running anything (exit 2)."""


@dataclass(frozen=True)
class ActionRequest:
    """What the run step does: run the CLI with `argv`, after printing `warnings`."""

    argv: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    # Variables to take out of the CLI's environment: a job-level GITHUB_TOKEN would otherwise
    # replace the App given as inputs (docs/github.md).
    unset: tuple[str, ...] = ()


def env_name(name: str) -> str:
    """The variable action.yml maps input `name` to: `wait-timeout` -> `INPUT_WAIT_TIMEOUT`."""
    return "INPUT_" + name.upper().replace("-", "_")


def split(value: str, separators: str) -> list[str]:
    """The non-empty items of `value`, split at newlines and `separators`, each trimmed."""
    items = re.split(f"[\n{re.escape(separators)}]", value)
    return [item.strip(_SPACE) for item in items if item.strip(_SPACE)]


@dataclass
class _Reader:
    """The inputs of one run, remembering which ones the command read."""

    environ: Mapping[str, str]
    command: str
    used: set[str] = field(default_factory=set)

    def raw(self, name: str) -> str:
        self.used.add(name)
        return self.environ.get(env_name(name), "")

    def text(self, name: str) -> str:
        return self.raw(name).strip(_SPACE)

    def items(self, name: str, separators: str) -> list[str]:
        return split(self.raw(name), separators)

    def flag(self, name: str) -> bool:
        value = self.text(name)
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise InputError(f"input '{name}' must be true or false, got '{value}'")

    def option(self, name: str, option: str) -> list[str]:
        """`[option=VALUE]` when the input is set, else nothing."""
        value = self.text(name)
        return [f"{option}={value}"] if value else []

    def required(self, name: str, option: str, what: str = "") -> list[str]:
        value = self.text(name)
        if not value:
            raise InputError(f"command '{self.command}' needs the '{name}' input{what}")
        return [f"{option}={value}"]

    def environment(self) -> list[str]:
        return self.required("environment", "--env")

    def images(self, tag: str | None = None) -> list[str]:
        """`--image=ITEM` per item of `images`; with `tag`, a bare NAME becomes NAME=TAG."""
        argv = []
        for item in self.items("images", ","):
            if tag is not None and takes_default_tag(item):
                if not tag:
                    raise InputError(f"image '{item}' has no tag and the 'tag' input is empty")
                item = f"{item}={tag}"
            argv.append(f"--image={item}")
        return argv

    def switch(self, name: str) -> list[str]:
        """`--NAME` / `--no-NAME` for a true / false input, nothing for an empty one."""
        if not self.text(name):
            return []
        return [f"--{name}"] if self.flag(name) else [f"--no-{name}"]

    def registry(self) -> list[str]:
        return self.switch("verify-image") + self.switch("pin-digest")

    def edits(self) -> list[str]:
        """The options of the commands that set tags: the registry checks, and `--allow-shared`
        (edit a values file that another environment on the branch reads, docs/image-references.md)."""
        return self.registry() + (["--allow-shared"] if self.flag("allow-shared") else [])

    def delivery(self) -> list[str]:
        return self.option("delivery", "--delivery")

    def pull_request(self) -> list[str]:
        labels = [f"--label={item}" for item in self.items("labels", ",")]
        reviewers = [f"--reviewer={item}" for item in self.items("reviewers", ", \t")]
        return self.delivery() + labels + reviewers

    def wait(self) -> list[str]:
        """`--wait [--wait-timeout=S]`: after a push, wait for Flux (docs/github.md)."""
        if not self.flag("wait"):
            return []
        return ["--wait", *self.option("wait-timeout", "--wait-timeout")]

    def sha(self, name: str, value: str, shortest: int) -> str:
        if not is_commit_sha(value, shortest):
            raise InputError(f"input '{name}': '{value}' is not a commit SHA")
        return value


def _bump(r: _Reader) -> list[str]:
    environment, ref, tag = r.text("environment"), r.text("ref"), r.text("tag")
    if environment:
        target = [f"--env={environment}"]
    elif ref:
        target = [f"--ref={ref}"]
    else:
        raise InputError("command 'bump' needs the 'environment' or the 'ref' input")
    tagged = [f"--tag={tag}"] if tag else []
    return ["bump", *target, *r.images(), *tagged, *r.edits(), *r.pull_request(), *r.wait()]


def _revert(r: _Reader) -> list[str]:
    shas = [r.sha("commits", item, SHORTEST) for item in r.items("commits", ", \t")]
    if not shas:
        raise InputError("command 'revert' needs the 'commits' input")
    return ["revert", *r.environment(), *r.pull_request(), *r.wait(), "--", *shas]


def _rollback(r: _Reader) -> list[str]:
    env = r.environment()
    steps, to = r.text("steps"), r.text("to")
    if steps and to:
        raise InputError("command 'rollback' takes 'steps' or 'to', not both")
    if not steps and not to:
        raise InputError("command 'rollback' needs the 'steps' or the 'to' input")
    target = [f"--steps={steps}"] if steps else [f"--to={r.sha('to', to, SHORTEST)}"]
    return ["rollback", *env, *target, *r.edits(), *r.pull_request(), *r.wait()]


def _promote(r: _Reader) -> list[str]:
    source = r.required("from", "--from")
    target = r.required("environment", "--to", " (the target)")
    return ["promote", *source, *target, *r.images(), *r.edits(), *r.pull_request(), *r.wait()]


def _canary_start(r: _Reader) -> list[str]:
    env = r.environment()
    images = r.images(tag=r.text("tag"))
    return ["canary", "start", *env, *images, *r.option("canary-weight", "--weight"), *r.edits(),
            *r.pull_request(), *r.wait()]


def _canary_finish(action: str) -> Callable[[_Reader], list[str]]:
    def build(r: _Reader) -> list[str]:
        return ["canary", action, *r.environment(), *r.pull_request(), *r.wait()]

    return build


def _watch(r: _Reader) -> list[str]:
    env = r.environment()
    checks = [f"--check={url}" for url in r.items("health-checks", " \t")]
    if not checks:
        raise InputError("command 'watch' needs the 'health-checks' input")
    tuning = [arg for name, option in WATCH_TUNING for arg in r.option(name, option)]
    return ["watch", *env, *checks, *tuning]


def _report(command: str) -> Callable[[_Reader], list[str]]:
    def build(r: _Reader) -> list[str]:
        return [command, *r.option("environment", "--env")]

    return build


def _hold(command: str) -> Callable[[_Reader], list[str]]:
    def build(r: _Reader) -> list[str]:
        env = r.environment()
        images = r.images()
        if not images:
            raise InputError(f"command '{command}' needs the 'images' input (image names)")
        reason = [f"--reason={r.text('reason') or default_reason(r.environ)}"] if command == "hold" else []
        return [command, *env, *images, *reason, *r.delivery()]

    return build


def _wait(r: _Reader) -> list[str]:
    env = r.environment()
    commit = r.text("commit")
    pinned = [f"--commit={r.sha('commit', commit, SHORTEST_WAIT)}"] if commit else []
    return ["wait", *env, *pinned, *r.option("wait-timeout", "--timeout")]


def _reconcile(r: _Reader) -> list[str]:
    return ["reconcile", *r.environment(), *r.images(), *r.edits(), *r.pull_request(), *r.wait()]


COMMANDS: dict[str, Callable[[_Reader], list[str]]] = {
    "bump": _bump, "revert": _revert, "rollback": _rollback, "promote": _promote,
    "canary-start": _canary_start, "canary-promote": _canary_finish("promote"),
    "canary-abort": _canary_finish("abort"), "watch": _watch, "status": _report("status"),
    "validate": _report("validate"), "hold": _hold("hold"), "unhold": _hold("unhold"),
    "reconcile": _reconcile, "wait": _wait,
}


def default_reason(environ: Mapping[str, str]) -> str:
    """`hold` without a reason: the workflow, and a link to its run."""
    reason = f"held by {environ.get('GITHUB_WORKFLOW') or 'a workflow'}"
    run_id = environ.get("GITHUB_RUN_ID")
    if run_id:
        server = environ.get("GITHUB_SERVER_URL") or "https://github.com"
        reason += f" ({server}/{environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{run_id})"
    return reason


def from_env(environ: Mapping[str, str]) -> ActionRequest:
    """The CLI run the inputs in `environ` ask for; InputError names the input at fault."""
    command = environ.get(env_name("command"), "").strip(_SPACE) or "bump"
    build = COMMANDS.get(command)
    if build is None:
        raise InputError(f"unknown command '{command}'; expected one of: {', '.join(COMMANDS)}")
    reader = _Reader(environ, command)
    globals_ = [*reader.option("gitops-repository", "--repo"), *reader.option("config", "--config")]
    if reader.flag("dry-run"):
        globals_.append("--dry-run")
    argv = [*globals_, *build(reader)]
    warnings = tuple(f"input '{name}' is not used by command '{command}'" for name in CHECKED
                     if name not in reader.used and environ.get(env_name(name), "").strip(_SPACE))
    app_only = not environ.get("GITOPS_BOT_TOKEN") and bool(environ.get("GITOPS_BOT_APP_ID"))
    return ActionRequest(tuple(argv), warnings, ("GITHUB_TOKEN",) if app_only else ())
