"""GITHUB_API_URL and GITHUB_GRAPHQL_URL are inputs: a value that is not an http(s) URL is bad input
(exit 2, naming the variable), never an internal error, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import RunBot
from tests.support.gitrepo import Remote

SLUG = "kai-platform/kai-gitops"
TOKEN = "ghp_url_check_token_0123456789"
BAD_URLS = ["ftp://api.example.com", "not a url", "http://[::1", "https://"]


def refused(run_bot: RunBot, remote: Remote, *args: str, env: dict[str, str]) -> str:
    refs = remote.refs()
    proc = run_bot("--repo", SLUG, "--remote-url", remote.url, *args, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert remote.refs() == refs
    return proc.stderr


def _app_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_api_url_for_wait_and_app_auth_is_bad_input(run_bot: RunBot, remote: Remote, url: str) -> None:
    wait = {"GITOPS_BOT_TOKEN": TOKEN, "GITHUB_API_URL": url}
    err = refused(run_bot, remote, "bump", "--env", "staging",
                  "--image", "kai-api-server=5d6e7f8", "--wait", env=wait)
    assert "GITHUB_API_URL" in err
    app = {"GITOPS_BOT_APP_ID": "12345", "GITOPS_BOT_APP_PRIVATE_KEY": _app_key(),
           "GITOPS_BOT_APP_INSTALLATION_ID": "678", "GITHUB_API_URL": url}
    err = refused(run_bot, remote, "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8", env=app)
    assert "GITHUB_API_URL" in err
    assert TOKEN not in err and "PRIVATE KEY" not in err


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_graphql_url_for_signed_commits_is_bad_input(run_bot: RunBot, remote: Remote, tmp_path: Path,
                                                         url: str) -> None:
    config = tmp_path / "signed.yaml"
    config.write_text("commit:\n  sign: github\n")
    err = refused(run_bot, remote, "--config", str(config), "bump", "--env", "staging",
                  "--image", "kai-api-server=5d6e7f8",
                  env={"GITOPS_BOT_TOKEN": TOKEN, "GITHUB_GRAPHQL_URL": url})
    assert "GITHUB_GRAPHQL_URL" in err
