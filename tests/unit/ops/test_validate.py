"""`validate` reports what would make Flux or kustomize fail, once, at its own file:line."""

from __future__ import annotations

from gitops_bot.model.tree import RepoFile
from gitops_bot.ops.validate import check_files
from tests.support.builders import helmrelease

HR = helmrelease("app", "ghcr.io/acme/app", "TAG",
                 spec="  interval: 1h\n  chartRef: {kind: OCIRepository, name: app}\n")


def problems(files: dict[str, str], elsewhere: tuple[str, ...] = ()) -> list[str]:
    repo_files = [RepoFile(path, text.encode()) for path, text in files.items()]
    found, _docs = check_files(repo_files, [*files, *elsewhere])
    return [str(p) for p in found]


def test_every_kustomization_file_name_is_a_kustomization() -> None:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        assert problems({f"apps/{name}": "resources:\n  - ./app.yaml\n  - ./missing.yaml\n",
                         "apps/app.yaml": HR.replace("TAG", "1.0")}) == [
            f"apps/{name}:3: resources entry './missing.yaml' does not exist"]


def test_entries_resolve_relative_to_the_file_anywhere_in_the_repository() -> None:
    files = {"kubernetes/apps/default/kustomization.yaml":
             "components:\n  - ../../components/common\n  - ../../components/gone\n"
             "resources:\n  - ./app\n  - https://github.com/acme/x//deploy?ref=v1\n  - ${CLUSTER}/extra.yaml\n",
             "kubernetes/apps/default/app/helmrelease.yaml": HR.replace("TAG", "1.0")}
    elsewhere = ("kubernetes/components/common/kustomization.yaml",)
    assert problems(files, elsewhere) == [
        "kubernetes/apps/default/kustomization.yaml:3: components entry '../../components/gone' does not exist"]


def test_data_files_patches_and_values_are_only_required_to_be_yaml() -> None:
    files = {
        "app/kustomization.yaml": (
            "resources:\n  - ./helmrelease.yaml\n"
            "patches:\n  - path: ./patch.yaml\n"
            "configMapGenerator:\n  - name: cfg\n    files:\n      - config.yaml=./config.yaml\n"
            "  - name: values\n    files:\n      - ./values.yaml\n"),
        "app/helmrelease.yaml": HR.replace("TAG", "1.0"),
        "app/patch.yaml": helmrelease("app", values="    replicas: 2\n"),
        "app/config.yaml": "- a list\n- of settings\n",
        "app/values.yaml": "replicaCount: 1\n",
        "app/unlisted.yaml": "just: data\n",
    }
    assert problems(files) == []


def test_a_listed_resource_must_be_an_object() -> None:
    files = {"app/kustomization.yaml": "resources:\n  - ./thing.yaml\n", "app/thing.yaml": "just: data\n"}
    assert problems(files) == ["app/thing.yaml:1: a kustomize resource without apiVersion and kind"]


def test_substitutions_and_inline_digests_are_valid_tags() -> None:
    digest = "sha256:" + "f" * 64
    for tag in ("${APP_TAG}", "${APP_TAG:=1.0.0}", f"4.0.19.3001@{digest}", "16"):
        assert problems({"hr.yaml": HR.replace("TAG", tag)}) == [], tag


def test_an_invalid_tag_is_reported_once_at_its_line_even_through_aliases() -> None:
    text = HR.replace("    image:\n", "    image: &image\n").replace("TAG", '"bad tag"')
    text += "    sidecar:\n      image: *image\n"
    assert problems({"hr.yaml": text}) == ["hr.yaml:11: invalid tag 'bad tag' for ghcr.io/acme/app"]


def test_required_fields_of_flux_objects() -> None:
    ks = ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n"
          "spec:\n  interval: 1h\n  path: ./apps\n  sourceRef: {kind: GitRepository, name: flux-system}\n")
    assert problems({"ks.yaml": ks}) == ["ks.yaml:5: Kustomization apps: spec.prune is required"]
    assert problems({"ks.yaml": ks.replace("  interval: 1h\n", "  interval: 1h\n  prune: true\n")}) == []


def test_invalid_yaml_is_reported_once_at_its_own_line() -> None:
    assert problems({"a.yaml": "a: 1\nb: *nope\n"}) == [
        "a.yaml:2: invalid YAML: alias *nope refers to no anchor &nope before it"]
