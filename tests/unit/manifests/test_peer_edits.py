"""Edits other image updaters make (Flux image automation, Argo CD Image Updater, Renovate): each a
byte-exact fixture pair in fixtures/editor/peers/ (`NAME.yaml` in, `NAME.expected.yaml` out)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gitops_bot.cli.exits import exit_code
from gitops_bot.manifests.scan import Manifest
from gitops_bot.model.errors import ManifestError
from gitops_bot.model.images import Wanted
from gitops_bot.planning.plan import Plan, Rules, make_plan
from tests.support.paths import REPO

PEERS = REPO / "fixtures" / "editor" / "peers"
DIGEST = "sha256:" + "e" * 64

# fixture -> (--image requests, {dotted path in the output: value YAML must read there})
CASES: dict[str, tuple[list[str], dict[str, Any]]] = {
    "merge-override": (["kai-api-server=5d6e7f8"], {
        "spec.values.image.tag": "5d6e7f8", "spec.values.migrations.image.tag": "5d6e7f8",
        "spec.values.defaults.tag": "5d6e7f8", "spec.values.image.pullPolicy": "IfNotPresent"}),
    "anchored-tag": (["kai-api-server=5d6e7f8"], {
        "spec.values.image.tag": "5d6e7f8", "spec.values.migrations.image.tag": "5d6e7f8"}),
    "kustomize-block": (["kai-api-server=5d6e7f8", "kai-coordinator=5d6e7f8"], {
        "images.0.newTag": "5d6e7f8", "images.1.newTag": "5d6e7f8", "images.2.newTag": "7.2.4-debian-12-r9"}),
    "kustomize-flow": (["kai-api-server=20240101"], {"images.0.newTag": "20240101", "images.1.newTag": "1a2b3c4"}),
    "kustomize-digest": ([f"kai-api-server=5d6e7f8@{DIGEST}"], {
        "images.0.newTag": "5d6e7f8", "images.0.digest": DIGEST}),
    "inline-digest": ([f"kai-api-server=5d6e7f8@{DIGEST}"], {"spec.values.image.tag": f"5d6e7f8@{DIGEST}"}),
}


def plan(name: str, data: bytes, specs: list[str]) -> Plan:
    return make_plan([Manifest.parse(name, data)], [Wanted.parse(s, None) for s in specs], Rules())


def read(data: bytes, dotted: str) -> Any:
    value: Any = yaml.safe_load(data)
    for step in dotted.split("."):
        value = value[int(step)] if step.isdigit() else value[step]
    return value


def test_every_peer_fixture_has_a_case() -> None:
    names = {p.name.removesuffix(".expected.yaml").removesuffix(".yaml") for p in PEERS.glob("*.yaml")}
    assert names == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_peer_edit_is_byte_exact_and_reads_back(name: str) -> None:
    specs, reads = CASES[name]
    before = (PEERS / f"{name}.yaml").read_bytes()
    expected = (PEERS / f"{name}.expected.yaml").read_bytes()
    result = plan(f"{name}.yaml", before, specs)
    assert result.files == {f"{name}.yaml": expected}
    for dotted, value in reads.items():  # re-parsed, the file says what Helm / kustomize will get
        assert read(expected, dotted) == value, dotted
    # the edited file is already where it should be: planning again changes nothing
    assert plan(f"{name}.yaml", expected, specs).files == {}


def test_a_tag_merged_into_a_mapping_of_another_image_is_refused() -> None:
    text = (b"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: a}\nspec:\n"
            b"  values:\n    base: &b {repository: ghcr.io/k/api, tag: old1}\n"
            b"    worker: {<<: *b, repository: ghcr.io/k/worker}\n")
    with pytest.raises(ManifestError) as err:
        plan("f.yaml", text, ["ghcr.io/k/api=new1"])
    assert str(err.value).startswith("f.yaml:7: the scalar at line 6 is also the tag of ghcr.io/k/worker "
                                     "(merged with <<)")
    assert exit_code(err.value) == 2


def test_an_alias_of_the_tag_outside_image_fields_is_refused_naming_it() -> None:
    text = (b"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: a}\nspec:\n"
            b"  values:\n    image:\n      repository: ghcr.io/k/api\n      tag: &t v1\n"
            b"    podLabels:\n      version: *t\n")
    with pytest.raises(ManifestError, match=r"^f\.yaml:8: the anchored value &t is also used by \*t \(line 10\)"):
        plan("f.yaml", text, ["ghcr.io/k/api=v2"])


def test_an_anchored_tag_aliased_by_another_image_is_refused() -> None:
    text = (b"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: a}\nspec:\n"
            b"  values:\n    image: {repository: ghcr.io/k/api, tag: &t v1}\n"
            b"    sidecar: {repository: ghcr.io/k/proxy, tag: *t}\n")
    with pytest.raises(ManifestError, match=r"^f\.yaml:6: the anchored value &t is also used by \*t \(line 7\)"):
        plan("f.yaml", text, ["ghcr.io/k/api=v2"])


def test_an_entry_at_the_end_of_a_file_without_final_newline_gets_its_key() -> None:
    text = b"images:\n  - name: ghcr.io/k/api\n    newName: mirror.example.com/k/api"
    out = plan("kustomization.yaml", text, ["ghcr.io/k/api=v2"]).files["kustomization.yaml"]
    assert out == text + b"\n    newTag: v2"


def test_crlf_entry_keeps_crlf() -> None:
    text = b"images:\r\n  - name: ghcr.io/k/api # keep\r\nresources: []\r\n"
    out = plan("kustomization.yaml", text, ["ghcr.io/k/api=v2"]).files["kustomization.yaml"]
    assert out == b"images:\r\n  - name: ghcr.io/k/api # keep\r\n    newTag: v2\r\nresources: []\r\n"
