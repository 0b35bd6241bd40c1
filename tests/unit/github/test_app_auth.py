"""GitHub App authentication: the JWT, the token exchange, and the minted token used like any token.

The GitHub API is mocked with `responses`; git is real and pushes to the smart-HTTP test server,
which accepts only the installation token the mocked exchange handed out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.env import scrub_environ
from tests.support.ghapp import APP_ID, AppKey
from tests.support.github_mock import SLUG, GitHubMock
from tests.support.gitrepo import Remote, make_remote
from tests.support.http_git import GitHttpServer
from tests.support.inprocess import invoke as run_cli

API = "https://api.github.com"
MINTED = "ghs_" + "m1nt3d" * 6
IMAGE = "kai-api-server=5d6e7f8"


@pytest.fixture(scope="module")
def key() -> AppKey:
    return AppKey.generate()


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: AppKey) -> None:
    home = tmp_path / "home"
    home.mkdir()
    scrub_environ(monkeypatch, home, {"GITOPS_BOT_APP_ID": APP_ID, "GITOPS_BOT_APP_PRIVATE_KEY": key.pem})


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, list(args))


def test_app_token_is_minted_with_a_signed_jwt_and_pushes_over_https_like_a_token(
        gh: GitHubMock, app_env: None, key: AppKey, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    remote = make_remote(tmp_path / "srv")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    trace = tmp_path / "trace2.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
    workdir = tmp_path / "work"
    gh.installation(app_id=int(APP_ID))
    gh.access_token(MINTED)
    with GitHttpServer(tmp_path / "srv", MINTED) as server:
        url = server.url_for("kai-gitops.git")
        code, out, err = run(capsys, "--repo", SLUG, "--remote-url", url, "--workdir", str(workdir),
                             "--output", "json", "bump", "--env", "staging", "--image", IMAGE)
        assert code == 0, err
        assert server.requests and all(r.auth_ok for r in server.requests)
    result = json.loads(out)
    assert result["commit"] == remote.head("staging")
    lookup, mint = gh.rsps.calls
    assert lookup.request.method == "GET"
    assert lookup.request.url.split("?")[0].endswith(f"/repos/{SLUG}/installation")
    assert mint.request.method == "POST"
    assert mint.request.url.endswith("/app/installations/4242/access_tokens")
    assert json.loads(mint.request.body) == {"permissions": {}}
    for call in (lookup, mint):
        key.claims(call.request.headers["Authorization"])
    # masked the moment it exists (the one place it may appear), and nowhere else
    assert f"::add-mask::{MINTED}" in err.splitlines()
    assert MINTED not in out
    assert MINTED not in err.replace(f"::add-mask::{MINTED}", "")
    body_line = key.pem.splitlines()[1]
    assert body_line not in out + err
    # never in git's argv, never in the work directory (.git/config included)
    argvs = [e["argv"] for e in map(json.loads, trace.read_text().splitlines()) if e.get("event") == "start"]
    assert any(a[1:2] == ["push"] for a in argvs)
    assert not [a for a in argvs if any(MINTED in arg for arg in a)]
    files = [p for p in workdir.rglob("*") if p.is_file() and not p.is_symlink()]
    assert (workdir / ".git" / "config") in files
    assert [p for p in files if MINTED.encode() in p.read_bytes()] == []


def test_installation_id_from_the_environment_skips_the_lookup(
        gh: GitHubMock, app_env: None, key: AppKey, remote: Remote, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITOPS_BOT_APP_INSTALLATION_ID", "77")
    # a one-line variable with literal \n, as some secret stores hand it over, is accepted too
    monkeypatch.setenv("GITOPS_BOT_APP_PRIVATE_KEY", key.pem.strip().replace("\n", "\\n"))
    gh.access_token(MINTED, installation_id=77)
    code, _out, err = run(capsys, "--repo", SLUG, "--remote-url", remote.url, "bump", "--env", "staging",
                          "--image", IMAGE)
    assert code == 0, err
    assert len(gh.rsps.calls) == 1
    key.claims(gh.rsps.calls[0].request.headers["Authorization"])


@pytest.mark.parametrize("bad_key", [
    "not a key", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----"])
def test_malformed_key_is_refused_with_exit_2_before_any_request(
        gh: GitHubMock, app_env: None, remote: Remote, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, bad_key: str) -> None:
    monkeypatch.setenv("GITOPS_BOT_APP_PRIVATE_KEY", bad_key)
    refs = remote.refs()
    code, _out, err = run(capsys, "--repo", SLUG, "--remote-url", remote.url, "bump", "--env", "staging",
                          "--image", IMAGE)
    assert code == 2
    assert "GITOPS_BOT_APP_PRIVATE_KEY is not a usable PEM private key" in err
    assert "Traceback" not in err and "internal error" not in err
    assert "AAAA" not in err and "not a key" not in err
    assert len(gh.rsps.calls) == 0
    assert remote.refs() == refs


def test_app_id_that_is_not_a_number_is_refused_with_exit_2(
        gh: GitHubMock, app_env: None, remote: Remote, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITOPS_BOT_APP_ID", "my-app")
    code, _out, err = run(capsys, "--repo", SLUG, "--remote-url", remote.url, "bump", "--env", "staging",
                          "--image", IMAGE)
    assert code == 2
    assert "GITOPS_BOT_APP_ID must be the App's numeric ID" in err


@pytest.mark.parametrize(("step", "status", "said"), [
    ("exchange", 401, "GitHub refused the App's JWT"),
    ("lookup", 404, f"the App is not installed on {SLUG}"),
])
def test_refused_exchange_exits_1_naming_the_cause_and_writes_nothing(
        gh: GitHubMock, app_env: None, remote: Remote, capsys: pytest.CaptureFixture[str],
        step: str, status: int, said: str) -> None:
    refs = remote.refs()
    if step == "lookup":
        gh.installation(status=status, body={"message": "Not Found"})
    else:
        gh.installation(app_id=int(APP_ID))
        gh.access_token(MINTED, status=status, body={"message": "A JSON web token could not be decoded"})
    code, out, err = run(capsys, "--repo", SLUG, "--remote-url", remote.url, "--output", "json",
                         "bump", "--env", "staging", "--image", IMAGE)
    assert code == 1, err
    assert said in err
    assert f"GitHub API {status}" in err
    assert json.loads(out)["exit_code"] == 1
    assert "Traceback" not in err
    assert remote.refs() == refs


def test_app_needs_an_owner_name_repository_to_find_its_installation(
        gh: GitHubMock, app_env: None, remote: Remote, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "--repo", remote.url, "bump", "--env", "staging", "--image", IMAGE)
    assert code == 2
    assert "GITOPS_BOT_APP_INSTALLATION_ID" in err


def test_the_app_key_never_reaches_git(gh: GitHubMock, app_env: None, remote: Remote, key: AppKey,
                                       capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    """git's environment holds neither the key nor the token variables (a hook could print them)."""
    hook_out = tmp_path / "hook-env"
    hooks = remote.bare / "hooks"
    (hooks / "pre-receive").write_text(f"#!/bin/sh\nenv > {hook_out}\n")
    (hooks / "pre-receive").chmod(0o755)
    monkeypatch.setenv("GITOPS_BOT_APP_INSTALLATION_ID", "77")
    gh.access_token(MINTED, installation_id=77)
    code, _out, err = run(capsys, "--repo", SLUG, "--remote-url", remote.url, "bump", "--env", "staging",
                          "--image", IMAGE)
    assert code == 0, err
    seen = hook_out.read_text()
    assert "GITOPS_BOT_APP_PRIVATE_KEY" not in seen
    assert key.pem.splitlines()[1] not in seen
    assert MINTED not in seen


def test_minted_token_and_key_are_redacted_by_the_run_credentials(key: AppKey) -> None:
    """The Credentials main() made share the App: a token minted later is redacted there too."""
    from gitops_bot.github.credentials import Credentials

    creds = Credentials.from_env({"GITOPS_BOT_APP_ID": APP_ID, "GITOPS_BOT_APP_PRIVATE_KEY": key.pem,
                                  "GITOPS_BOT_SIGNING_KEY": "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                                                            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE\n"
                                                            "-----END OPENSSH PRIVATE KEY-----"})
    assert creds.token is None and creds.app is not None
    assert repr(creds).count("PRIVATE") == 0  # neither key is in the repr
    creds.app.minted.append(MINTED)  # as AppLogin.token() records it
    text = f"failed with {MINTED} and {key.pem.splitlines()[2]} and b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE"
    assert creds.redact(text) == "failed with *** and *** and ***"


def test_installation_id_that_is_not_a_number_is_refused_with_exit_2(
        gh: GitHubMock, app_env: None, remote: Remote, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITOPS_BOT_APP_INSTALLATION_ID", "kai")
    code, _out, err = run(capsys, "--repo", SLUG, "--remote-url", remote.url, "bump", "--env", "staging",
                          "--image", IMAGE)
    assert code == 2
    assert "GITOPS_BOT_APP_INSTALLATION_ID must be a number" in err
    assert len(gh.rsps.calls) == 0


def test_enterprise_api_url_is_used_for_the_exchange(
        gh: GitHubMock, app_env: None, key: AppKey, remote: Remote, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    ghe = "https://ghe.example.com/api/v3"
    monkeypatch.setenv("GITHUB_API_URL", ghe)
    ghe_mock = GitHubMock(gh.rsps, api=ghe)
    ghe_mock.installation(body={"id": 9})
    ghe_mock.access_token(MINTED, installation_id=9, body={"token": MINTED})
    code, _out, err = run(capsys, "--repo", SLUG, "--remote-url", remote.url, "bump", "--env", "staging",
                          "--image", IMAGE)
    assert code == 0, err
    assert [c.request.url.split("?")[0].replace(":443", "") for c in gh.rsps.calls] == [
        f"{ghe}/repos/{SLUG}/installation", f"{ghe}/app/installations/9/access_tokens"]
