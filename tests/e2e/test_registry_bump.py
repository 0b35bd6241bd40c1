"""`--verify-image` and `--pin-digest` end to end, against a real registry (Debian's docker-registry)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunBot, refused
from tests.support.registry import PASSWORD, USER, Registry, docker_config, running
from tests.support.registry_tree import API, WORKER_FILE, registry_remote, write_config


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with running(tmp_path_factory.mktemp("registry"), "basic") as reg:
        yield reg


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with running(tmp_path_factory.mktemp("token-registry"), "token") as reg:
        yield reg


def _ns() -> str:
    return "t" + secrets.token_hex(4)  # one namespace per test: the module's registry is shared


def _env(tmp_path: Path, reg: Registry, **extra: str) -> dict[str, str]:
    return {"DOCKER_CONFIG": str(docker_config(tmp_path / "docker", reg.host)), **extra}


def _with(run_bot: RunBot, env: dict[str, str]) -> RunBot:
    return lambda *args, **kw: run_bot(*args, env=env, **kw)


def test_verify_passes_an_existing_tag(registry: Registry, run_bot: RunBot, tmp_path: Path) -> None:
    ns = _ns()
    registry.push_image(f"{ns}/api", "1.1.0")
    remote = registry_remote(tmp_path, registry.host, ns)
    proc = run_bot("--repo", remote.url, "--config", str(write_config(tmp_path)), "--output", "json",
                   "bump", "--env", "staging", "--image", "api=1.1.0", "--verify-image",
                   env=_env(tmp_path, registry))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["commit"] == remote.head("staging")
    assert b"tag: 1.1.0  # moved by gitops-bot" in remote.show("staging", API)


def test_verify_refuses_a_missing_tag_and_writes_nothing(registry: Registry, run_bot: RunBot,
                                                         tmp_path: Path) -> None:
    ns = _ns()
    registry.push_image(f"{ns}/api", "1.1.0")
    remote = registry_remote(tmp_path, registry.host, ns)
    config = str(write_config(tmp_path))
    err = refused(_with(run_bot, _env(tmp_path, registry)), remote, "--config", config, "bump", "--env",
                  "staging", "--image", "api=1.1.0", "--image", "worker=9.9.9", "--verify-image", code=2)
    assert f"image {registry.host}/{ns}/worker:9.9.9 does not exist" in err
    assert "nothing was written" in err


def test_registry_verify_in_config_applies_without_the_flag(registry: Registry, run_bot: RunBot,
                                                           tmp_path: Path) -> None:
    ns = _ns()
    remote = registry_remote(tmp_path, registry.host, ns)
    config = str(write_config(tmp_path, "registry:\n  verify: true\n"))
    err = refused(_with(run_bot, _env(tmp_path, registry)), remote, "--config", config, "bump", "--env",
                  "staging", "--image", "api=2.0.0", code=2)
    assert f"{registry.host}/{ns}/api:2.0.0 does not exist" in err
    # the flag overrides the config
    proc = run_bot("--repo", remote.url, "--config", config, "bump", "--env", "staging",
                   "--image", "api=2.0.0", "--no-verify-image", env=_env(tmp_path, registry))
    assert proc.returncode == 0, proc.stderr
    assert b"tag: 2.0.0" in remote.show("staging", API)


def test_stopped_registry_is_a_run_time_failure(tmp_path: Path, run_bot: RunBot) -> None:
    with running(tmp_path / "reg", "basic") as reg:
        ns = _ns()
        reg.push_image(f"{ns}/api", "1.1.0")
        remote = registry_remote(tmp_path, reg.host, ns)
        reg.stop()
        err = refused(_with(run_bot, _env(tmp_path, reg)), remote, "--config", str(write_config(tmp_path)),
                      "bump", "--env", "staging", "--image", "api=1.1.0", "--verify-image", code=1)
    assert f"registry {reg.host} unreachable: connection failed" in err
    assert "internal error" not in err


def test_pin_writes_the_index_digest_the_registry_reports(registry: Registry, run_bot: RunBot,
                                                          tmp_path: Path) -> None:
    ns = _ns()
    index = registry.push_index(f"{ns}/api", "2.0.0")
    worker = registry.push_image(f"{ns}/worker", "2.0.0", docker=True)
    remote = registry_remote(tmp_path, registry.host, ns)
    before_api = remote.show("staging", API)
    proc = run_bot("--repo", remote.url, "--config", str(write_config(tmp_path)), "--output", "json",
                   "bump", "--env", "staging", "--tag", "2.0.0", "--image", "api", "--image", "worker",
                   "--pin-digest", env=_env(tmp_path, registry))
    assert proc.returncode == 0, proc.stderr
    assert index == registry.head_digest(f"{ns}/api", "2.0.0")  # what Docker-Content-Digest says
    assert remote.show("staging", API) == before_api.replace(b"tag: 1.0.0", b"tag: 2.0.0").replace(
        b'digest: ""', f'digest: "{index}"'.encode())
    assert f"image: {registry.host}/{ns}/worker:2.0.0@{worker}".encode() in remote.show("staging", WORKER_FILE)
    changes = {c["image"]: c for c in json.loads(proc.stdout)["changes"]}
    assert changes[f"{registry.host}/{ns}/api"]["digest"] == index
    assert changes[f"{registry.host}/{ns}/api"]["to"] == f"2.0.0@{index}"
    assert changes[f"{registry.host}/{ns}/worker"]["digest"] == worker


def test_pin_of_a_missing_tag_is_refused(registry: Registry, run_bot: RunBot, tmp_path: Path) -> None:
    ns = _ns()
    remote = registry_remote(tmp_path, registry.host, ns)
    err = refused(_with(run_bot, _env(tmp_path, registry)), remote,
                  "--config", str(write_config(tmp_path, "registry: {pin-digest: true}\n")),
                  "bump", "--env", "staging", "--image", "api=3.0.0", code=2)
    assert f"{registry.host}/{ns}/api:3.0.0 does not exist" in err


def test_bearer_token_registry_verify_and_pin(token_registry: Registry, run_bot: RunBot, tmp_path: Path) -> None:
    ns = _ns()
    digest = token_registry.push_image(f"{ns}/api", "1.2.0")
    remote = registry_remote(tmp_path, token_registry.host, ns)
    assert token_registry.tokens is not None
    seen = len(token_registry.tokens.requests)
    proc = run_bot("--repo", remote.url, "--config", str(write_config(tmp_path)), "bump", "--env", "staging",
                   "--image", "api=1.2.0", "--verify-image", "--pin-digest", env=_env(tmp_path, token_registry))
    assert proc.returncode == 0, proc.stderr
    assert f'digest: "{digest}"'.encode() in remote.show("staging", API)
    asked = token_registry.tokens.requests[seen:]
    assert asked, "the client never asked the token service"
    assert all(r["query"]["scope"] == [f"repository:{ns}/api:pull"] for r in asked)
    assert all(r["query"]["service"] == [token_registry.tokens.service] for r in asked)
    assert all(r["authorization"].startswith("Basic ") for r in asked)


def test_bearer_registry_without_credentials_needs_a_login(token_registry: Registry, run_bot: RunBot,
                                                           tmp_path: Path) -> None:
    ns = _ns()
    token_registry.push_image(f"{ns}/api", "1.2.0")
    remote = registry_remote(tmp_path, token_registry.host, ns)
    err = refused(run_bot, remote, "--config", str(write_config(tmp_path)), "bump", "--env", "staging",
                  "--image", "api=1.2.0", "--verify-image", code=1)
    assert f"registry {token_registry.host} needs credentials: docker login" in err


def test_anonymous_pull_of_a_public_image(token_registry: Registry, run_bot: RunBot, tmp_path: Path) -> None:
    digest = token_registry.push_image("public/api", "1.0.1")
    remote = registry_remote(tmp_path, token_registry.host, "public")
    proc = run_bot("--repo", remote.url, "--config", str(write_config(tmp_path)), "bump", "--env", "staging",
                   "--image", "api=1.0.1", "--pin-digest")
    assert proc.returncode == 0, proc.stderr
    assert f'digest: "{digest}"'.encode() in remote.show("staging", API)


@pytest.mark.parametrize("password", [PASSWORD, "wrong-" + PASSWORD])
def test_registry_credentials_leak_nowhere(registry: Registry, token_registry: Registry, run_bot: RunBot,
                                           tmp_path: Path, password: str) -> None:
    import base64

    for reg in (registry, token_registry):
        ns = _ns()
        reg.push_image(f"{ns}/api", "1.3.0")
        root = tmp_path / reg.auth
        root.mkdir()
        remote = registry_remote(root, reg.host, ns)
        outputs, summary = root / "out.txt", root / "summary.md"
        env = {"DOCKER_CONFIG": str(docker_config(root / "docker", reg.host, USER, password)),
               "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
        seen = len(reg.tokens.issued) if reg.tokens else 0
        proc = run_bot("-v", "--repo", remote.url, "--config", str(write_config(root)), "--output", "json",
                       "bump", "--env", "staging", "--image", "api=1.3.0", "--verify-image", "--pin-digest",
                       env=env)
        assert proc.returncode == (0 if password == PASSWORD else 1), proc.stderr
        if password != PASSWORD:
            assert f"registry {reg.host}" in proc.stderr and "refused the credentials" in proc.stderr
        secrets_ = [password, base64.b64encode(f"{USER}:{password}".encode()).decode()]
        secrets_ += reg.tokens.issued[seen:] if reg.tokens else []
        texts = [proc.stdout, proc.stderr, outputs.read_text() if outputs.exists() else "",
                 summary.read_text() if summary.exists() else "", remote.message("staging")]
        for secret in secrets_:
            assert all(secret not in text for text in texts)
