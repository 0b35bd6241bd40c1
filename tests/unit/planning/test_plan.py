"""Planning over a whole environment tree: what changes where, holds, policy, missing images."""

from __future__ import annotations

import pytest

from gitops_bot.cli.exits import exit_code
from gitops_bot.config.settings import Config
from gitops_bot.manifests.scan import Manifest
from gitops_bot.model.errors import PolicyError, UsageError
from gitops_bot.model.images import Wanted
from gitops_bot.planning.plan import Change, Plan, Rules, Skip, make_plan
from tests.support.builders import helmrelease
from tests.support.paths import REPO

TREE = REPO / "fixtures" / "trees" / "mixed"
STAGING = "clusters/staging"
API = "ghcr.io/kai-platform/kai-api-server"
DIGEST = "sha256:" + "ab" * 32


def environment(env: str = "staging") -> list[Manifest]:
    root = TREE / "clusters" / env
    paths = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))
    return [Manifest.parse(p.relative_to(TREE).as_posix(), p.read_bytes()) for p in paths]


def original(path: str) -> bytes:
    return (TREE / path).read_bytes()


def plan(*specs: str, env: str = "staging", tag: str | None = None, **rules: object) -> Plan:
    return make_plan(environment(env), [Wanted.parse(s, tag) for s in specs], Rules(**rules))  # type: ignore[arg-type]


def test_bump_one_image_changes_one_scalar_of_one_file() -> None:
    result = plan("kai-api-server=5d6e7f8")
    path = f"{STAGING}/releases/api-server.yaml"
    assert result.changes == (
        Change(path, 21, "HelmRelease", "api-server", API, "1a2b3c4", "5d6e7f8"),
    )
    assert result.files == {path: original(path).replace(b"tag: 1a2b3c4  #", b"tag: 5d6e7f8  #")}
    assert result.changed
    assert result.skipped == ()


def test_change_json_is_the_contract_shape() -> None:
    change = plan("kai-api-server=5d6e7f8").changes[0]
    assert change.to_json() == {
        "file": f"{STAGING}/releases/api-server.yaml", "line": 21, "kind": "HelmRelease",
        "name": "api-server", "image": API, "from": "1a2b3c4", "to": "5d6e7f8",
    }


def test_bump_every_kai_image_leaves_redis_decoys_and_workloads_alone() -> None:
    kai = ["kai-api-server", "kai-coordinator", "kai-point-cloud", "kai-model-generator",
           "kai-format-converter", "kai-workflow-finalizer"]
    result = plan(*kai, tag="5d6e7f8")
    assert sorted(result.files) == [
        f"{STAGING}/apps/kustomization.yaml",
        f"{STAGING}/automation/workflow-finalizer.yaml",
        f"{STAGING}/releases/api-server.yaml",
        f"{STAGING}/releases/coordinator.yaml",
        f"{STAGING}/releases/workers.yaml",
    ]
    changes = [(c.file.removeprefix(f"{STAGING}/"), c.line, c.kind, c.old, c.new) for c in result.changes]
    assert sorted(changes) == [
        ("apps/kustomization.yaml", 9, "Kustomization", "1a2b3c4", "5d6e7f8"),
        ("automation/workflow-finalizer.yaml", 16, "CronJob", "1a2b3c4", "5d6e7f8"),
        ("releases/api-server.yaml", 21, "HelmRelease", "1a2b3c4", "5d6e7f8"),
        ("releases/coordinator.yaml", 17, "HelmRelease", "1a2b3c4", "5d6e7f8"),
        ("releases/workers.yaml", 17, "HelmRelease", "1a2b3c4", "5d6e7f8"),
        ("releases/workers.yaml", 38, "HelmRelease", "1a2b3c4", "5d6e7f8"),
    ]
    for path, new in result.files.items():
        assert new == original(path).replace(b"1a2b3c4", b"5d6e7f8"), path


def test_third_party_redis_is_bumped_only_by_its_own_name() -> None:
    result = plan("docker.io/bitnami/redis=7.2.5-debian-12-r0")
    path = f"{STAGING}/releases/redis.yaml"
    assert list(result.files) == [path]
    assert result.files[path] == original(path).replace(b"7.2.4-debian-12-r9", b"7.2.5-debian-12-r0")
    assert [c.image for c in result.changes] == ["docker.io/bitnami/redis"]


def test_a_name_on_another_registry_matches_nothing() -> None:
    with pytest.raises(UsageError, match=r"'ghcr\.io/bitnami/redis' matches no image reference") as err:
        plan("ghcr.io/bitnami/redis=7.2.5")
    assert exit_code(err.value) == 2


def test_aliases_from_the_tree_config() -> None:
    config = Config.from_file(TREE / ".gitops-bot.yaml")
    result = plan("coordinator=2.0.0", aliases=config.images)
    path = f"{STAGING}/releases/coordinator.yaml"
    assert list(result.files) == [path]
    assert result.files[path] == original(path).replace(
        b"kai-coordinator:1a2b3c4", b"kai-coordinator:2.0.0"
    )


def test_a_marker_policy_name_selects_its_reference() -> None:
    result = plan("workflow-finalizer=5d6e7f8")
    assert [c.file for c in result.changes] == [f"{STAGING}/automation/workflow-finalizer.yaml"]


def test_already_at_the_wanted_tag_changes_nothing() -> None:
    result = plan("kai-api-server=1a2b3c4", "redis=7.2.4-debian-12-r9")
    assert result == Plan()
    assert not result.changed


def test_an_unknown_image_is_refused_unless_allowed() -> None:
    with pytest.raises(UsageError, match="'kai-nope' matches no image reference") as err:
        plan("kai-nope=1.0", "kai-api-server=5d6e7f8")
    assert exit_code(err.value) == 2
    result = plan("kai-nope=1.0", "kai-api-server=5d6e7f8", allow_missing=True)
    assert result.skipped == (Skip("kai-nope", "no matching image reference in the environment"),)
    assert [c.image for c in result.changes] == [API]


def test_two_names_for_one_image_with_different_tags_are_refused() -> None:
    with pytest.raises(UsageError, match="both select"):
        plan("api=1.0", "kai-api-server=2.0", aliases={"api": API})
    same = plan("api=2.0", "kai-api-server=2.0", f"{API}=2.0", aliases={"api": API})
    assert [(c.image, c.new) for c in same.changes] == [(API, "2.0")]  # one change, listed once


def test_held_images_are_skipped_and_the_rest_applied() -> None:
    holds = {API: "incident 42"}
    result = plan("kai-api-server=5d6e7f8", "kai-coordinator=5d6e7f8", holds=holds)
    assert result.skipped == (Skip(API, "held: incident 42"),)
    assert [c.image for c in result.changes] == ["ghcr.io/kai-platform/kai-coordinator"]
    forced = plan("kai-api-server=5d6e7f8", holds=holds, force=True)
    assert [c.image for c in forced.changes] == [API]
    assert forced.skipped == ()


def test_semver_policy_refuses_downgrades_and_non_semver_tags() -> None:
    release = helmrelease("a", values="    image: {repository: kai/api, tag: v1.4.2}\n")
    manifests = [Manifest.parse("r.yaml", release.encode())]

    def bump(tag: str, **rules: object) -> Plan:
        return make_plan(manifests, [Wanted.parse(f"kai/api={tag}", None)], Rules(policy="semver", **rules))  # type: ignore[arg-type]

    assert [c.new for c in bump("v1.5.0").changes] == ["v1.5.0"]
    with pytest.raises(PolicyError, match="downgrade") as err:
        bump("v1.4.1")
    assert exit_code(err.value) == 2
    assert [c.new for c in bump("v1.4.1", allow_downgrade=True).changes] == ["v1.4.1"]
    with pytest.raises(PolicyError, match="not a semantic version"):
        bump("1a2b3c4")
    assert make_plan(manifests, [Wanted.parse("kai/api=1a2b3c4", None)], Rules()).changed  # policy any


def test_digest_pinning() -> None:
    result = plan(f"kai-coordinator@{DIGEST}")
    path = f"{STAGING}/releases/coordinator.yaml"
    pinned = f"kai-coordinator:1a2b3c4@{DIGEST}".encode()  # the digest pins, the tag stays for readers
    assert result.files[path] == original(path).replace(b"kai-coordinator:1a2b3c4", pinned)
    # a values mapping without a digest key gets the digest inline in its tag (docs/editing.md)
    path = f"{STAGING}/releases/api-server.yaml"
    inline = plan(f"kai-api-server@{DIGEST}")
    assert inline.files[path] == original(path).replace(b"tag: 1a2b3c4 ", f"tag: 1a2b3c4@{DIGEST} ".encode())
    assert [(c.line, c.old, c.new) for c in inline.changes] == [(21, "1a2b3c4", f"1a2b3c4@{DIGEST}")]


def test_production_is_planned_from_its_own_tree() -> None:
    result = plan("kai-api-server=1a2b3c4", env="production")
    assert [(c.file, c.old, c.new) for c in result.changes] == [
        ("clusters/production/releases/api-server.yaml", "0f9e8d7", "1a2b3c4")
    ]



def test_a_node_repeated_through_an_alias_is_edited_once_and_listed_once() -> None:
    src = (b"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: a}\nspec:\n"
           b"  values:\n    image: &img\n      repository: ghcr.io/x/api\n      tag: \"1\"\n"
           b"    sidecar:\n      image: *img\n")
    plan = make_plan([Manifest.parse("a.yaml", src)], [Wanted.parse("api=2", None)], Rules())
    assert len(plan.changes) == 1
    assert plan.files["a.yaml"] == src.replace(b'tag: "1"', b'tag: "2"')
