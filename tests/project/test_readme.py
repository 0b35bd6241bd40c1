"""Every gitops-bot command shown in README.md runs, as written, against a fixture remote.

The commands are extracted from the README's `sh` blocks and from inline code that starts with
`gitops-bot `, and run in the README's order, as a reader following it would: the repository is the
fixture (given as `--repo kai-platform/kai-gitops --remote-url FIXTURE` unless the command names its
own), the configuration is the README's own example, and the GitHub API is a permissive `responses`
stand-in (pull requests are "created"). The synopses of the command table are checked against the
CLI's options, so the README cannot drift from the code again.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import click
import pytest
import responses

from gitops_bot.cli import app as cli
from tests.support.env import clean_env
from tests.support.github_mock import SLUG, GitHubMock
from tests.support.gitrepo import Remote, git, make_remote
from tests.support.paths import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
TOKEN = "ghp_readme_test_token_0123456789abcdef"
SHA = "0123456789abcdef0123456789abcdef01234567"


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)


def shown_commands() -> list[str]:
    """gitops-bot command lines in README order: `sh` blocks and inline code spans."""
    found: list[tuple[int, str]] = []
    for match in re.finditer(r"^```sh\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL):
        for offset, line in enumerate(match.group(1).splitlines()):
            words = shlex.split(line, comments=True)
            while words:  # `a && b`: each command of the line
                part = words[:words.index("&&")] if "&&" in words else words
                words = words[len(part) + 1:]
                if part[:1] == ["gitops-bot"]:
                    found.append((match.start() + offset, " ".join(shlex.quote(w) for w in part)))
    outside = re.sub(r"^```.*?^```", lambda m: " " * len(m.group(0)), README, flags=re.MULTILINE | re.DOTALL)
    for match in re.finditer(r"`(gitops-bot [^`]+)`", outside):
        found.append((match.start(), match.group(1)))
    return [text for _, text in sorted(found)]


COMMANDS = shown_commands()
NEEDS_REGISTRY = re.compile(r"--verify-image|--pin-digest|\breconcile\b")


def test_the_readme_shows_the_commands_a_user_needs() -> None:
    verbs = {shlex.split(c)[i] for c in COMMANDS for i in range(1, 4)
             if i < len(shlex.split(c)) and not shlex.split(c)[i].startswith("-")}
    assert {"bump", "status", "promote", "history", "rollback", "revert", "unhold"} <= verbs
    assert len(COMMANDS) >= 11
    assert COMMANDS[0].startswith("gitops-bot --repo . --config examples/self.gitops-bot.yaml --dry-run bump")


# --- running them -------------------------------------------------------------------------------


def permissive_github(rsps: responses.RequestsMock) -> None:
    gh = GitHubMock(rsps)
    gh.repo()
    rsps.get(gh.url(f"{gh.repo_url}/pulls"), json=[])
    rsps.post(gh.url(f"{gh.repo_url}/pulls"), status=201, json=gh.pull_json(7))
    rsps.patch(gh.url(f"{gh.repo_url}/pulls/7"), json=gh.pull_json(7))
    rsps.post(gh.url(f"{gh.repo_url}/issues/7/labels"), json=[{"name": "deploy"}])
    rsps.post(gh.url(f"{gh.repo_url}/pulls/7/requested_reviewers"), json=gh.pull_json(7))
    rsps.post(gh.url(f"{gh.api}/graphql"), json={"data": {"enablePullRequestAutoMerge": {
        "actor": {"login": "bot"}, "clientMutationId": None}}})


class Reader:
    """Runs README commands in-process (the installed command's entry point) with a clean environment."""

    def __init__(self, tmp: Path, remote: Remote, config: Path) -> None:
        self.tmp, self.remote, self.config = tmp, remote, config
        self.home = tmp / "home"
        self.home.mkdir()

    def argv(self, command: str, substitutions: dict[str, str]) -> list[str]:
        for placeholder, value in substitutions.items():
            command = command.replace(placeholder, value)
        words = shlex.split(command)
        assert words[0] == "gitops-bot"
        args = words[1:]
        if "--repo" in args:  # the README's own dry run on "this project's flux/ tree": the fixture
            args[args.index("--repo") + 1] = self.remote.url
            return args
        return ["--config", str(self.config), "--repo", SLUG, "--remote-url", self.remote.url, *args]

    def run(self, args: list[str]) -> tuple[int, str]:
        env = clean_env(self.home, {"GITOPS_BOT_TOKEN": TOKEN, "DOCKER_CONFIG": str(self.home / ".docker")})
        # Nothing but loopback: an HTTP client that is not the mocked GitHub API (a registry named in
        # a README command) meets a closed port on 127.0.0.1 instead of the internet.
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env[proxy] = "http://127.0.0.1:9"
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
        out = io.StringIO()
        with mock.patch.dict(os.environ, env, clear=True), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(out), contextlib.chdir(REPO):  # relative paths as in the README
            try:
                cli.main(args)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        return code, out.getvalue()


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Reader]:
    config = tmp_path / "readme.gitops-bot.yaml"
    config.write_text(next(b for b in blocks("yaml") if b.startswith("gitops:")), encoding="utf-8")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        permissive_github(rsps)
        yield Reader(tmp_path, make_remote(tmp_path / "remote"), config)


def test_every_command_in_the_readme_runs(reader: Reader) -> None:
    # Some history first, so that the runbook's history, rollback and revert have deploys to work on.
    deploys = {}
    for env, tag in (("staging", "1111111"), ("production", "2222222"), ("production", "3333333"),
                     ("staging", "4444444")):
        code, out = reader.run(reader.argv(f"gitops-bot bump --env {env} --image api={tag} --delivery push", {}))
        assert code == 0, out
        deploys[tag] = reader.remote.head("main" if env == "production" else "staging")
    substitutions = {'"$GITHUB_SHA"': SHA, "$GITHUB_SHA": SHA}
    failures = []
    for command in COMMANDS:
        subs = dict(substitutions)
        if " revert " in f" {command} ":
            subs["3f2c1ab"] = deploys["4444444"][:7]  # a staging deploy commit
        else:
            subs["3f2c1ab"] = deploys["2222222"][:7]  # a known-good production commit
        code, out = reader.run(reader.argv(command, subs))
        if NEEDS_REGISTRY.search(command):
            # The README's registry examples name ghcr.io, which a test cannot reach (loopback only):
            # they must parse, plan, and stop at the registry with exit 1, writing nothing.
            # tests/e2e/test_registry_*.py run the same commands against a real loopback registry.
            if code != 1 or "registry ghcr.io unreachable" not in out or "Traceback" in out:
                failures.append(f"{command}\n  exit {code} (expected 1 at the registry): {out.strip()}")
        elif code != 0 or "Traceback" in out:
            failures.append(f"{command}\n  exit {code}: {out.strip()}")
    assert failures == []
    # the runbook's push rollback really landed on production's branch
    assert "Gitops-Bot-Rollback-To:" in git("log", "--format=%B", "-3", "refs/heads/main", cwd=reader.remote.bare)


# --- the command table's synopses match the CLI ---------------------------------------------------


def _command_table() -> list[str]:
    section = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)`", section, flags=re.MULTILINE)


def _options_of(path: list[str]) -> set[str]:
    cli._register()
    command: click.Command = cli.cli
    names = {o for p in command.params for o in getattr(p, "opts", [])}
    for word in path:
        assert isinstance(command, click.Group), path
        command = command.commands[word]
        names |= {o for p in command.params for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]}
    return names


@pytest.mark.parametrize("synopsis", _command_table())
def test_each_synopsis_names_real_options(synopsis: str) -> None:
    for part in synopsis.split(" · "):
        words = part.replace("\\|", "|").split()
        path = []
        for word in words:
            if not re.fullmatch(r"[a-z]+", word):
                break
            path.append(word)
        if path and path[0] == "canary" and len(path) == 1:
            path.append("start")
        known = _options_of(path)
        used = set(re.findall(r"--[a-z][a-z-]*", part))
        assert used <= known, f"{part}: {sorted(used - known)} not options of {' '.join(path)}"


def test_hold_and_unhold_take_delivery_but_no_pull_request_options() -> None:
    for name in ("hold", "unhold"):
        options = _options_of([name])
        assert "--delivery" in options
        assert not {"--label", "--reviewer", "--auto-merge"} & options
