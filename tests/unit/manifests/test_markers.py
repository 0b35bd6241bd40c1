"""Flux setter markers (docs/image-references.md): `:digest`, tagless whole references, NAMESPACE:POLICY."""

from __future__ import annotations

import pytest

from gitops_bot.cli.exits import exit_code
from gitops_bot.manifests.scan import Manifest, find_refs
from gitops_bot.model.errors import UsageError
from gitops_bot.model.images import Wanted
from gitops_bot.planning.plan import Plan, Rules, make_plan, make_restore_plan

OLD, NEW = "sha256:" + "a" * 64, "sha256:" + "b" * 64
THING = f"""apiVersion: example.com/v1
kind: Thing
metadata:
  name: app
spec:
  image:
    name: ghcr.io/acme/app # {{"$imagepolicy": "team-a:app:name"}}
    version: 1.0.0 # {{"$imagepolicy": "team-a:app:tag"}}
    sha: {OLD} # {{"$imagepolicy": "team-a:app:digest"}}
"""
WHOLE = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/app # {"$imagepolicy": "team-a:app"}
"""


def plan(files: dict[str, str], *specs: str) -> Plan:
    manifests = [Manifest.parse(path, text.encode()) for path, text in files.items()]
    return make_plan(manifests, [Wanted.parse(s, None) for s in specs], Rules())


def test_tag_and_digest_setters_of_one_mapping_make_one_reference() -> None:
    (ref,) = find_refs(Manifest.parse("t.yaml", THING.encode()))
    assert (ref.repository, str(ref.version), ref.policy_namespace, ref.policy) == (
        "ghcr.io/acme/app", f"1.0.0@{OLD}", "team-a", "app")


def test_digest_setter_takes_the_digest_and_tag_setter_the_tag() -> None:
    both = plan({"t.yaml": THING}, f"team-a:app=1.0.1@{NEW}")
    assert both.files["t.yaml"] == THING.replace("1.0.0 #", "1.0.1 #").replace(OLD, NEW).encode()
    digest_only = plan({"t.yaml": THING}, f"team-a:app@{NEW}")
    assert digest_only.files["t.yaml"] == THING.replace(OLD, NEW).encode()
    assert [(c.old, c.new) for c in digest_only.changes] == [(f"1.0.0@{OLD}", f"1.0.0@{NEW}")]


def test_a_lone_digest_setter_is_a_reference_of_its_own() -> None:
    text = f"spec:\n  sha: {OLD} # {{\"$imagepolicy\": \"flux-system:app:digest\"}}\n"
    result = plan({"d.yaml": text}, f"flux-system:app@{NEW}")
    assert result.files["d.yaml"] == text.replace(OLD, NEW).encode()


def test_whole_reference_setter_on_a_reference_without_a_tag() -> None:
    (ref,) = find_refs(Manifest.parse("w.yaml", WHOLE.encode()))
    assert (ref.repository, str(ref.version), ref.policy) == ("ghcr.io/acme/app", "", "app")
    result = plan({"w.yaml": WHOLE}, "team-a:app=2.0.0")
    assert result.files["w.yaml"] == WHOLE.replace("acme/app #", "acme/app:2.0.0 #").encode()
    pinned = plan({"w.yaml": WHOLE}, f"app@{NEW}")  # by image name too; a digest alone pins it
    assert pinned.files["w.yaml"] == WHOLE.replace("acme/app #", f"acme/app@{NEW} #").encode()


def two_namespaces() -> dict[str, str]:
    return {"a.yaml": WHOLE.replace("ghcr.io/acme/app #", "ghcr.io/acme/app:1.0 #"),
            "b.yaml": WHOLE.replace("ghcr.io/acme/app #", "ghcr.io/acme/app-b:1.0 #").replace("team-a", "team-b")}


def test_namespace_policy_touches_only_the_markers_of_that_namespace() -> None:
    result = plan(two_namespaces(), "team-b:app=1.1")
    assert sorted(result.files) == ["b.yaml"]
    assert [(c.image, c.new) for c in result.changes] == [("ghcr.io/acme/app-b", "1.1")]


def test_a_bare_policy_of_two_namespaces_is_refused_listing_them() -> None:
    with pytest.raises(UsageError) as err:
        plan(two_namespaces(), "app=1.1")
    assert str(err.value) == ("image 'app' is ambiguous: policies team-a:app, team-b:app have that name; "
                              "give NAMESPACE:POLICY")
    assert exit_code(err.value) == 2


@pytest.mark.parametrize("spec", ["team-a:app=1.0", "team-a:app@" + NEW, "flux-system:api"])
def test_namespace_policy_names_parse(spec: str) -> None:
    assert Wanted.parse(spec, "1.0").name == spec.partition("=")[0].partition("@")[0]


@pytest.mark.parametrize("spec", ["a:b:c=1", ":app=1", "team-a:=1"])
def test_malformed_namespace_policy_names_are_refused(spec: str) -> None:
    with pytest.raises(UsageError, match="NAMESPACE:POLICY"):
        Wanted.parse(spec, None)


def test_a_docker_style_name_colon_tag_still_gets_its_hint() -> None:
    with pytest.raises(UsageError, match=r"write NAME=TAG, here kai-api=1\.2"):
        Wanted.parse("kai-api:1.2", None)


POLICY = """apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata:
  name: worker-images
  namespace: team-a
spec:
  image: ghcr.io/acme/worker
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata:
  name: worker
  namespace: team-a
spec:
  imageRepositoryRef:
    name: worker-images
  policy:
    semver: {range: 1.x}
"""
TAG_ONLY = 'spec:\n  values:\n    workerTag: 1.0.0 # {"$imagepolicy": "team-a:worker:tag"}\n'


def test_a_marker_of_a_policy_the_tree_defines_also_matches_its_image() -> None:
    files = {"policy.yaml": POLICY, "values.yaml": TAG_ONLY}
    result = plan(files, "ghcr.io/acme/worker=1.1.0")
    assert result.files == {"values.yaml": TAG_ONLY.replace("1.0.0", "1.1.0").encode()}
    assert [(c.image, c.old, c.new) for c in result.changes] == [("ghcr.io/acme/worker", "1.0.0", "1.1.0")]
    assert sorted(plan(files, "worker=1.2.0").files) == ["values.yaml"]  # its last segment too


def test_without_the_policy_a_tag_marker_matches_only_its_policy_name() -> None:
    with pytest.raises(UsageError, match="matches no image reference"):
        plan({"values.yaml": TAG_ONLY}, "ghcr.io/acme/worker=1.1.0")
    assert sorted(plan({"values.yaml": TAG_ONLY}, "team-a:worker=1.1.0").files) == ["values.yaml"]


def test_rollback_to_a_tagless_whole_reference_removes_the_tag_again() -> None:
    bumped = WHOLE.replace("ghcr.io/acme/app #", "ghcr.io/acme/app:1.0.1 #")
    target = find_refs(Manifest.parse("d.yaml", WHOLE.encode()))
    restore = make_restore_plan([Manifest.parse("d.yaml", bumped.encode())], target)
    assert restore.files["d.yaml"] == WHOLE.encode()
    assert [(c.old, c.new) for c in restore.changes] == [("1.0.1", "")]
