"""Image policies read from the tree's Flux ImagePolicy/ImageRepository objects, and target selection."""

from __future__ import annotations

import pytest

from gitops_bot.manifests.imagepolicies import tree_policies
from gitops_bot.manifests.scan import Manifest
from gitops_bot.model.errors import UsageError
from gitops_bot.model.policy import Policy
from gitops_bot.ops.reconcile import find_targets, select

OBJECTS = """\
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: api, namespace: flux-system}
spec:
  image: ghcr.io/kai-platform/kai-api-server
  exclusionList: ['^dev-']
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: api, namespace: flux-system}
spec:
  imageRepositoryRef: {name: api}
  filterTags: {pattern: '^main-(?P<ts>[0-9]+)$', extract: '$ts'}
  policy:
    numerical: {order: asc}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: orphan, namespace: apps}
spec:
  imageRepositoryRef: {name: gone}
  policy:
    semver: {range: '1.x'}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: broken, namespace: flux-system}
spec:
  imageRepositoryRef: {name: api}
  policy:
    semver: {range: 'not a range'}
"""
RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: api-server, namespace: kai}
spec:
  values:
    image:
      repository: ghcr.io/kai-platform/kai-api-server
      tag: main-100
    sidecar:
      image: docker.io/bitnami/redis:7.2.1
"""


def manifests() -> list[Manifest]:
    return [Manifest.parse("env/automation.yaml", OBJECTS.encode()), Manifest.parse("env/api.yaml", RELEASE.encode())]


def test_tree_policies_resolve_their_repository() -> None:
    found = {p.key: p for p in tree_policies(manifests())}
    api = found["flux-system:api"].policy
    assert api is not None
    assert (api.kind, api.image, api.exclusions) == ("numerical", "ghcr.io/kai-platform/kai-api-server", ("^dev-",))
    assert api.latest(["main-5", "main-12", "main-x", "dev-99"]) == "main-12"
    assert found["apps:orphan"].policy is None
    assert "ImageRepository apps/gone is not in the environment" in found["apps:orphan"].problem
    assert found["flux-system:broken"].policy is None
    assert "semver range 'not a range'" in found["flux-system:broken"].problem


def test_targets_from_config_and_tree_config_wins() -> None:
    config = {"bitnami/redis": Policy("bitnami/redis", "semver", range="7.2.x"),
              "kai-api-server": Policy("kai-api-server", "alphabetical"),
              "not-here": Policy("not-here", "alphabetical")}
    targets, skipped = find_targets(config, manifests(), {})
    by_repo = {t.repository: t for t in targets}
    assert set(by_repo) == {"docker.io/bitnami/redis", "ghcr.io/kai-platform/kai-api-server"}
    assert by_repo["ghcr.io/kai-platform/kai-api-server"].policy.name == "kai-api-server"  # not the tree's
    reasons = {s.image: s.reason for s in skipped}
    assert "no image reference in the environment" in reasons["not-here"]
    assert "apps:orphan" in reasons and "flux-system:broken" in reasons
    # without a config policy for it, the tree's ImagePolicy applies
    targets, _ = find_targets({}, manifests(), {})
    [api] = targets
    assert (api.policy.name, api.names) == ("flux-system:api", ("ghcr.io/kai-platform/kai-api-server",))


def test_image_selection() -> None:
    targets, skipped = find_targets({"redis": Policy("redis", "semver", range="7.x")}, manifests(), {})
    chosen, _ = select(targets, skipped, ["flux-system:api"], {})
    assert [t.policy.name for t in chosen] == ["flux-system:api"]
    chosen, _ = select(targets, skipped, ["kai-api-server", "bitnami/redis"], {})
    assert [t.policy.name for t in chosen] == ["flux-system:api", "redis"]
    with pytest.raises(UsageError, match="image 'worker' has no policy"):
        select(targets, skipped, ["worker"], {})
    with pytest.raises(UsageError, match="ImageRepository apps/gone is not in the environment"):
        select(targets, skipped, ["apps:orphan"], {})


def test_a_policy_name_that_would_select_another_image_is_not_applied() -> None:
    marked = RELEASE.replace("tag: main-100", 'tag: main-100 # {"$imagepolicy": "flux-system:api:tag"}').replace(
        "sidecar:\n      image: docker.io/bitnami/redis:7.2.1", "sidecar:\n      image: quay.io/other/api:1.0")
    found = [Manifest.parse("env/automation.yaml", OBJECTS.encode()), Manifest.parse("env/api.yaml", marked.encode())]
    targets, skipped = find_targets({}, found, {})
    assert targets == []
    assert any("its name also selects quay.io/other/api" in s.reason for s in skipped)
