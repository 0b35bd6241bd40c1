"""`--verify-image`/`--pin-digest` on the other commands that set tags: promote, rollback, canary start."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunBot, refused
from tests.support.registry import Registry, docker_config, running
from tests.support.registry_tree import API, PROD_API, registry_remote, write_config

CANARY = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: kai
spec:
  values:
    image:
      repository: {host}/{ns}/web
      tag: 1.0.0
    canary:
      enabled: false
      weight: 20
      image:
        tag: ""
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with running(tmp_path_factory.mktemp("registry"), "basic") as reg:
        yield reg


@pytest.fixture
def ns() -> str:
    return "m" + secrets.token_hex(4)


@pytest.fixture
def bot(run_bot: RunBot, registry: Registry, tmp_path: Path) -> RunBot:
    env = {"DOCKER_CONFIG": str(docker_config(tmp_path / "docker", registry.host))}
    return lambda *args, **kw: run_bot(*args, env=env, **kw)


def test_promote_verifies_and_pins(registry: Registry, ns: str, bot: RunBot, tmp_path: Path) -> None:
    remote = registry_remote(tmp_path, registry.host, ns)
    config = str(write_config(tmp_path))
    assert bot("--repo", remote.url, "--config", config, "bump", "--env", "staging",
               "--image", "api=1.5.0").returncode == 0
    err = refused(bot, remote, "--config", config, "promote", "--from", "staging", "--to", "production",
                  "--image", "api", "--verify-image")
    assert f"image {registry.host}/{ns}/api:1.5.0 does not exist" in err
    index = registry.push_index(f"{ns}/api", "1.5.0")
    proc = bot("--repo", remote.url, "--config", config, "--output", "json", "promote", "--from", "staging",
               "--to", "production", "--image", "api", "--verify-image", "--pin-digest")
    assert proc.returncode == 0, proc.stderr
    [change] = json.loads(proc.stdout)["changes"]
    assert (change["to"], change["digest"]) == (f"1.5.0@{index}", index)
    assert f'digest: "{index}"'.encode() in remote.show("main", PROD_API)


def test_rollback_verifies_the_old_tags_still_exist(registry: Registry, ns: str, bot: RunBot,
                                                    tmp_path: Path) -> None:
    remote = registry_remote(tmp_path, registry.host, ns)
    config = str(write_config(tmp_path, "registry: {verify: true}\n"))
    registry.push_image(f"{ns}/api", "1.1.0")
    proc = bot("--repo", remote.url, "--config", config, "bump", "--env", "staging", "--image", "api=1.1.0")
    assert proc.returncode == 0, proc.stderr
    err = refused(bot, remote, "--config", config, "rollback", "--env", "staging", "--steps", "1")
    assert f"image {registry.host}/{ns}/api:1.0.0 does not exist" in err
    registry.push_image(f"{ns}/api", "1.0.0")
    proc = bot("--repo", remote.url, "--config", config, "rollback", "--env", "staging", "--steps", "1")
    assert proc.returncode == 0, proc.stderr
    assert b"tag: 1.0.0" in remote.show("staging", API)


def test_canary_start_verifies_its_tag(registry: Registry, ns: str, bot: RunBot, tmp_path: Path) -> None:
    remote = registry_remote(tmp_path, registry.host, ns, files={"web.yaml": CANARY})
    config = str(write_config(tmp_path))
    err = refused(bot, remote, "--config", config, "canary", "start", "--env", "staging",
                  "--image", "web=2.0.0", "--verify-image")
    assert f"image {registry.host}/{ns}/web:2.0.0 does not exist" in err
    registry.push_image(f"{ns}/web", "2.0.0")
    proc = bot("--repo", remote.url, "--config", config, "canary", "start", "--env", "staging",
               "--image", "web=2.0.0", "--verify-image")
    assert proc.returncode == 0, proc.stderr
    web = remote.show("staging", "flux/clusters/staging/web.yaml")
    assert web == CANARY.format(host=registry.host, ns=ns).replace("enabled: false", "enabled: true").replace(
        'tag: ""', 'tag: "2.0.0"').encode()
