"""Flux ImagePolicy resolution (docs/image-references.md): a setter marker of a policy the tree defines
(ImagePolicy -> spec.imageRepositoryRef -> ImageRepository spec.image) is found by the image's
repository, by NAMESPACE:POLICY, and `status` names the image, not the policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote, make_remote

AUTOMATION = "flux/clusters/staging/automation/policies.yaml"
WORKER = "flux/clusters/staging/automation/worker.yaml"
POLICIES = b"""\
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata:
  name: kai-worker
  namespace: flux-system
spec:
  image: ghcr.io/kai-platform/kai-batch-worker
  interval: 5m
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata:
  name: batch
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: kai-worker
  policy:
    semver:
      range: 1.x
"""
# A workload whose tag alone is marked (`:tag`): without the policy objects, the marker only knows
# the policy's name; with them, it is the image ghcr.io/kai-platform/kai-batch-worker.
WORKER_DOC = b"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: batch
  namespace: kai
spec:
  interval: 10m
  chart:
    spec:
      chart: batch
      sourceRef: {kind: HelmRepository, name: kai-charts, namespace: flux-system}
  values:
    worker:
      imageName: ghcr.io/kai-platform/kai-batch-worker
      imageTag: 1.0.0 # {"$imagepolicy": "flux-system:batch:tag"}
"""
IMAGE = "ghcr.io/kai-platform/kai-batch-worker"


@pytest.fixture
def tree(tmp_path: Path) -> Remote:
    return make_remote(tmp_path / "r", extra={AUTOMATION: POLICIES, WORKER: WORKER_DOC})


@pytest.mark.parametrize("name", [IMAGE, "kai-batch-worker", "flux-system:batch", "batch"])
def test_a_policy_marker_is_bumped_by_repository_or_by_policy(tree: Remote, run_bot: RunBot, name: str) -> None:
    proc = run_bot("--repo", tree.url, "--output", "json", "bump", "--env", "staging", "--image", f"{name}=1.1.0")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [(c["file"], c["line"], c["image"], c["from"], c["to"]) for c in result["changes"]] == [
        (WORKER, 15, IMAGE, "1.0.0", "1.1.0")]
    assert tree.show("staging", WORKER) == WORKER_DOC.replace(b"imageTag: 1.0.0", b"imageTag: 1.1.0")


def test_status_names_the_image_of_the_policy(tree: Remote, run_bot: RunBot) -> None:
    proc = run_bot("--repo", tree.url, "--output", "json", "status", "--env", "staging")
    assert proc.returncode == 0, proc.stderr
    staging = json.loads(proc.stdout)["environments"]["staging"]
    assert staging[IMAGE] == "1.0.0"
    assert "batch" not in staging
    text = run_bot("--repo", tree.url, "status", "--env", "staging").stdout
    assert any(line.split()[:2] == ["kai-batch-worker", "1.0.0"] for line in text.splitlines())


def test_without_the_policy_objects_only_the_policy_name_finds_the_marker(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "r", extra={WORKER: WORKER_DOC})
    assert "matches no image reference" in refused(run_bot, remote, "bump", "--env", "staging",
                                                   "--image", f"{IMAGE}=1.1.0")
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "flux-system:batch=1.1.0")
    assert proc.returncode == 0, proc.stderr


def test_a_policy_of_another_namespace_is_not_this_one(tree: Remote, run_bot: RunBot) -> None:
    assert "matches no image reference" in refused(run_bot, tree, "bump", "--env", "staging",
                                                   "--image", "team-b:batch=1.1.0")
