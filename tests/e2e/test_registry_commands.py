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


def test_rollback_pin_digest_pins_each_restored_tag(registry: Registry, ns: str, bot: RunBot,
                                                    tmp_path: Path) -> None:
    remote = registry_remote(tmp_path, registry.host, ns, files={"web.yaml": CANARY})
    config = str(write_config(tmp_path))
    api = registry.push_index(f"{ns}/api", "1.0.0")
    worker = registry.push_image(f"{ns}/worker", "1.0.0")
    web = registry.push_image(f"{ns}/web", "1.0.0", docker=True)
    proc = bot("--repo", remote.url, "--config", config, "bump", "--env", "staging",
               "--image", "api=1.1.0", "--image", "worker=1.1.0", "--image", "web=1.1.0")
    assert proc.returncode == 0, proc.stderr
    proc = bot("--repo", remote.url, "--config", config, "--output", "json", "rollback", "--env", "staging",
               "--steps", "1", "--pin-digest")
    assert proc.returncode == 0, proc.stderr
    got = {c["image"].rsplit("/", 1)[-1]: (c["to"], c["digest"]) for c in json.loads(proc.stdout)["changes"]}
    assert got == {"api": (f"1.0.0@{api}", api), "worker": (f"1.0.0@{worker}", worker),
                   "web": (f"1.0.0@{web}", web)}
    release = remote.show("staging", API).decode()
    assert "tag: 1.0.0  # moved by gitops-bot\n" in release  # the digest field takes the digest
    assert f'digest: "{api}"' in release
    assert f"image: {registry.host}/{ns}/worker:1.0.0@{worker}\n" in remote.show(
        "staging", "flux/clusters/staging/worker.yaml").decode()
    assert f"tag: 1.0.0@{web}\n" in remote.show("staging", "flux/clusters/staging/web.yaml").decode()


def test_rollback_without_pin_digest_restores_the_old_text(registry: Registry, ns: str, bot: RunBot,
                                                           tmp_path: Path) -> None:
    remote = registry_remote(tmp_path, registry.host, ns)
    config = str(write_config(tmp_path, "registry: {pin-digest: true}\n"))
    before = remote.show("staging", API)
    proc = bot("--repo", remote.url, "--config", config, "bump", "--env", "staging", "--image", "api=1.1.0",
               "--no-pin-digest")
    assert proc.returncode == 0, proc.stderr
    # 1.0.0 is not in the registry: without pinning, rollback does not ask it
    proc = bot("--repo", remote.url, "--config", config, "rollback", "--env", "staging", "--steps", "1",
               "--no-pin-digest")
    assert proc.returncode == 0, proc.stderr
    assert remote.show("staging", API) == before
    # registry.pin-digest: true applies when no flag is given: the missing tag is refused
    assert bot("--repo", remote.url, "--config", config, "bump", "--env", "staging", "--image", "api=1.1.0",
               "--no-pin-digest", "--force").returncode == 0  # --force: the rollback held api
    err = refused(bot, remote, "--config", config, "rollback", "--env", "staging", "--steps", "1")
    assert f"image {registry.host}/{ns}/api:1.0.0 does not exist" in err


CANARY_DIGEST = CANARY.replace("      tag: 1.0.0\n", '      tag: 1.0.0\n      digest: ""\n')


def test_canary_start_pin_digest_and_promote_carries_it(registry: Registry, ns: str, bot: RunBot,
                                                        tmp_path: Path) -> None:
    remote = registry_remote(tmp_path, registry.host, ns, files={"web.yaml": CANARY_DIGEST})
    config = str(write_config(tmp_path))
    web_file = "flux/clusters/staging/web.yaml"
    index = registry.push_index(f"{ns}/web", "2.0.0")
    proc = bot("--repo", remote.url, "--config", config, "--output", "json", "canary", "start", "--env",
               "staging", "--image", "web=2.0.0", "--pin-digest")
    assert proc.returncode == 0, proc.stderr
    [change] = json.loads(proc.stdout)["changes"]
    assert (change["to"], change["digest"]) == (f"2.0.0@{index}", index)
    original = CANARY_DIGEST.format(host=registry.host, ns=ns)
    started = original.replace("enabled: false", "enabled: true").replace('tag: ""', f'tag: "2.0.0@{index}"')
    assert remote.show("staging", web_file) == started.encode()
    proc = bot("--repo", remote.url, "--config", config, "canary", "promote", "--env", "staging")
    assert proc.returncode == 0, proc.stderr
    promoted = original.replace("tag: 1.0.0\n", "tag: 2.0.0\n").replace('digest: ""', f'digest: "{index}"')
    assert remote.show("staging", web_file) == promoted.encode()


def test_canary_pin_digest_from_config_goes_inline(registry: Registry, ns: str, bot: RunBot,
                                                   tmp_path: Path) -> None:
    remote = registry_remote(tmp_path, registry.host, ns, files={"web.yaml": CANARY})
    config = str(write_config(tmp_path, "registry: {pin-digest: true}\n"))
    web_file = "flux/clusters/staging/web.yaml"
    digest = registry.push_image(f"{ns}/web", "2.0.0")
    proc = bot("--repo", remote.url, "--config", config, "canary", "start", "--env", "staging",
               "--image", "web=2.0.0")
    assert proc.returncode == 0, proc.stderr
    assert f'tag: "2.0.0@{digest}"'.encode() in remote.show("staging", web_file)
    assert bot("--repo", remote.url, "--config", config, "canary", "promote", "--env", "staging").returncode == 0
    promoted = CANARY.format(host=registry.host, ns=ns).replace("tag: 1.0.0\n", f"tag: 2.0.0@{digest}\n")
    assert remote.show("staging", web_file) == promoted.encode()


def test_canary_start_takes_a_given_digest_and_refuses_a_bare_one(registry: Registry, ns: str, bot: RunBot,
                                                                  tmp_path: Path) -> None:
    remote = registry_remote(tmp_path, registry.host, ns, files={"web.yaml": CANARY})
    config = str(write_config(tmp_path))
    digest = "sha256:" + "ab" * 32
    err = refused(bot, remote, "--config", config, "canary", "start", "--env", "staging",
                  "--image", f"web@{digest}")
    assert "write NAME=TAG" in err
    proc = bot("--repo", remote.url, "--config", config, "canary", "start", "--env", "staging",
               "--image", f"web=2.0.0@{digest}")  # no registry asked: the digest is written as given
    assert proc.returncode == 0, proc.stderr
    assert f'tag: "2.0.0@{digest}"'.encode() in remote.show("staging", "flux/clusters/staging/web.yaml")


def test_canary_promote_of_a_plain_tag_clears_the_stale_digest(registry: Registry, ns: str, bot: RunBot,
                                                               tmp_path: Path) -> None:
    old = "sha256:" + "cd" * 32
    pinned = CANARY_DIGEST.replace('digest: ""', f'digest: "{old}"')
    remote = registry_remote(tmp_path, registry.host, ns, files={"web.yaml": pinned})
    config = str(write_config(tmp_path))
    for args in (("start", "--image", "web=2.0.0"), ("promote",)):
        proc = bot("--repo", remote.url, "--config", config, "canary", *args, "--env", "staging")
        assert proc.returncode == 0, proc.stderr
    promoted = pinned.format(host=registry.host, ns=ns).replace("tag: 1.0.0\n", "tag: 2.0.0\n").replace(
        f'digest: "{old}"', 'digest: ""')  # the digest of 1.0.0 would still pin the old image
    assert remote.show("staging", "flux/clusters/staging/web.yaml") == promoted.encode()
