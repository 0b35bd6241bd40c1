"""A token too short to be a secret is refused, and never turns every `t` of a message into ***."""

from __future__ import annotations

import base64

import pytest

from gitops_bot.cli.exits import exit_code
from gitops_bot.github.credentials import MIN_TOKEN_LENGTH, Credentials
from gitops_bot.model.errors import UsageError
from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote


def test_a_one_character_token_does_not_redact_every_letter() -> None:
    creds = Credentials("t", "GITOPS_BOT_TOKEN")
    assert creds.redact("git fetch from https://example.test/kai-gitops.git failed") == (
        "git fetch from https://example.test/kai-gitops.git failed")
    basic = base64.b64encode(b"x-access-token:t").decode()
    assert creds.redact(f"Authorization: Basic {basic}") == "Authorization: Basic ***"
    assert creds.maskable is None


def test_a_token_long_enough_to_be_a_secret_is_redacted() -> None:
    token = "g" * MIN_TOKEN_LENGTH
    assert Credentials(token).redact(f"x {token} y") == "x *** y"
    assert Credentials(token).maskable == token


@pytest.mark.parametrize("token", ["t", "abc", "x" * (MIN_TOKEN_LENGTH - 1)])
def test_a_short_token_is_refused(token: str) -> None:
    with pytest.raises(UsageError, match=r"in GITHUB_TOKEN is \d+ character\(s\) long, too short") as err:
        Credentials(token, "GITHUB_TOKEN").check()
    assert exit_code(err.value) == 2
    assert len(token) < 3 or token not in str(err.value)


def test_the_cli_refuses_a_short_token_before_using_it(remote: Remote, run_bot: RunBot) -> None:
    refs = remote.refs()
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8",
                   env={"GITOPS_BOT_TOKEN": "t", "GITHUB_ACTIONS": "true"})
    assert proc.returncode == 2
    assert "gitops-bot: error: the token in GITOPS_BOT_TOKEN is 1 character(s) long" in proc.stderr
    assert "::add-mask::" not in proc.stderr
    assert "***" not in proc.stderr
    assert remote.refs() == refs
    assert refused(run_bot, remote, "status", code=0) == ""  # without the token: runs as usual
