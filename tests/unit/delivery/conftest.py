"""The in-process CLI for the pull-request delivery tests: `--repo SLUG --remote-url <remote>`, JSON
output, a token in the environment that must never appear in what the bot prints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.env import scrub_environ
from tests.support.github_mock import SLUG
from tests.support.gitrepo import Remote
from tests.support.inprocess import invoke as run_cli

TOKEN = "ghp_pr_test_token_1234567890"
Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
           remote: Remote) -> Invoke:
    home = tmp_path / "home"
    home.mkdir()
    scrub_environ(monkeypatch, home, {"GITOPS_BOT_TOKEN": TOKEN})

    def run(*args: str) -> tuple[int, str, str]:
        return run_cli(capsys, ["--repo", SLUG, "--remote-url", remote.url, "--output", "json", *args], TOKEN)

    return run


def bump_prod(invoke: Invoke, image: str = "kai-api-server=2.0.0", *extra: str) -> tuple[int, str, str]:
    return invoke("bump", "--env", "production", "--image", image, *extra)
