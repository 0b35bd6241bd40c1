"""Finding image references in manifests (docs/image-references.md) and reporting bad YAML as file:line."""

from __future__ import annotations

import pytest

from gitops_bot.cli.exits import exit_code
from gitops_bot.manifests.scan import ImageRef, Manifest, find_refs
from gitops_bot.model.errors import ManifestError
from tests.support.builders import helmrelease
from tests.support.paths import REPO

ROOT = REPO / "fixtures"
EDITOR = ROOT / "editor"
TREE = ROOT / "trees" / "mixed"


def refs_of(name: str) -> list[ImageRef]:
    return find_refs(Manifest.parse(name, (EDITOR / name).read_bytes()))


def summary(refs: list[ImageRef]) -> list[tuple[int, str, str, str, str | None]]:
    return [(r.line, r.form, r.repository, str(r.version), r.policy) for r in sorted(refs, key=_line)]


def _line(ref: ImageRef) -> int:
    return ref.line


API = "ghcr.io/kai-platform/kai-api-server"
QA = "ghcr.io/kai-platform/kai-quality-assessment"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("indent-2.yaml", [(22, "values", API, "1a2b3c4", None)]),
        ("indent-4.yaml", [
            (18, "values", "ghcr.io/kai-platform/kai-coordinator", "1a2b3c4", None),
            (21, "string", "ghcr.io/kai-platform/kai-coordinator", "1a2b3c4", None),
            (25, "string", "docker.io/fluent/fluent-bit", "2.2.2", None),
            (31, "values", "ghcr.io/kai-platform/kai-coordinator", "1a2b3c4", None),  # registry + repository
        ]),
        ("flow-maps.yaml", [
            (9, "values", "ghcr.io/kai-platform/kai-point-cloud", "1a2b3c4", None),
            (10, "string", "ghcr.io/kai-platform/kai-point-cloud", "1a2b3c4", None),
            (10, "string", "docker.io/library/busybox", "1.36.1", None),
        ]),
        ("multi-doc.yaml", [  # the ConfigMap's embedded manifest and data.image are text, not references
            (20, "values", QA, "1a2b3c4", None),
            (43, "string", "ghcr.io/kai-platform/kai-image-preprocessing", "1a2b3c4", None),
            (47, "values", QA, "1a2b3c4", None),
        ]),
        ("decoys.yaml", [(46, "values", API, "1a2b3c4", None)]),
        ("workload.yaml", [
            (17, "string", "ghcr.io/kai-platform/kai-format-converter", "1a2b3c4", None),
            (20, "string", "docker.io/library/busybox", "1.36.1", None),
            (23, "string", "ghcr.io/kai-platform/kai-format-converter", "1a2b3c4", None),
            (30, "string", "ghcr.io/kai-platform/kai-format-converter", "1a2b3c4", None),
        ]),
        ("kustomization.yaml", [
            (9, "kustomize", API, "1a2b3c4", None),
            (11, "kustomize", "ghcr.io/kai-platform/kai-coordinator", "1a2b3c4", None),
            (13, "kustomize", "docker.io/bitnami/redis", "7.2.4-debian-12-r9", None),
        ]),
        ("markers.yaml", [
            (13, "string", "ghcr.io/kai-platform/kai-workflow-finalizer", "1a2b3c4", "finalizer"),
            (15, "string", "ghcr.io/kai-platform/kai-workflow-finalizer", "1a2b3c4", None),
            (24, "marker-tag", "ghcr.io/kai-platform/kai-workflow-finalizer", "1a2b3c4", "finalizer"),
            (26, "marker-tag", "cleanup", "1a2b3c4", "cleanup"),
        ]),
        ("thirdparty.yaml", [
            (18, "values", "docker.io/bitnami/redis", "7.2.4-debian-12-r9", None),
            (23, "values", "docker.io/bitnami/redis-exporter", "1.58.0-debian-12-r4", None),
            (34, "values", API, "1a2b3c4", None),
        ]),
        ("digest.yaml", [
            (10, "values", QA, "1a2b3c4@sha256:" + "1" * 64, None),
            (13, "string", QA, "1a2b3c4@sha256:" + "1" * 64, None),
        ]),
        ("bom.yaml", [(12, "values", "ghcr.io/kai-platform/kai-diffusion-nerf", "1a2b3c4", None)]),
        ("crlf.yaml", [(11, "values", "ghcr.io/kai-platform/kai-colmap-sfm", "1a2b3c4", None)]),
    ],
)
def test_references_found_in_fixtures(name: str, expected: list[tuple[object, ...]]) -> None:
    assert summary(refs_of(name)) == expected


@pytest.mark.parametrize("name", sorted(p.name for p in EDITOR.glob("*.yaml") if p.name != "cases.yaml"))
def test_every_site_points_at_its_scalar_text(name: str) -> None:
    """A site's span is exactly the scalar's source text (so the editor splices the right characters)."""
    manifest = Manifest.parse(name, (EDITOR / name).read_bytes())
    for ref in find_refs(manifest):
        for site in (ref.string_site, ref.tag_site, ref.digest_site):
            if site is None:
                continue
            source = manifest.text[site.start : site.end]
            assert source.strip("'\"") == site.value
            assert manifest.text.count("\n", 0, site.start) + 1 == site.line


def test_refs_carry_kind_and_name_of_their_document() -> None:
    refs = refs_of("multi-doc.yaml")
    assert [(r.kind, r.name) for r in refs] == [
        ("HelmRelease", "quality-assessment"), ("HelmRelease", "image-preprocessing"),
        ("HelmRelease", "image-preprocessing"),
    ]
    kustomize = refs_of("kustomization.yaml")
    assert {r.kind for r in kustomize} == {"Kustomization"}
    assert kustomize[0].alt_repository == "kai-api-server"  # the `name` the entry rewrites


def test_bom_and_crlf_are_kept_apart_from_the_text() -> None:
    data = (EDITOR / "bom-crlf.yaml").read_bytes()
    manifest = Manifest.parse("bom-crlf.yaml", data)
    assert manifest.bom
    assert not manifest.text.startswith("\ufeff")
    assert "\r\n" in manifest.text
    assert manifest.encode(manifest.text) == data
    plain = Manifest.parse("crlf.yaml", (EDITOR / "crlf.yaml").read_bytes())
    assert not plain.bom


# --- what is and is not a reference --------------------------------------------------------

_HR = helmrelease("x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_HR + "    image: {repository: kai/api, tag: v1, registry: registry.example.com/}\n",
         [("registry.example.com/kai/api", "v1")]),
        (_HR + "    deep:\n      - list:\n          - image: kai/api:v1\n", [("kai/api", "v1")]),
        (_HR + "    image: {repository: kai/api, tag: 1.10}\n", [("kai/api", "1.10")]),  # a float, a tag
        (_HR + "    chart: {repository: https://charts.example.com, tag: v1}\n", []),
        (_HR + "    image: kai/api\n", []),  # no tag: nothing to move
        (_HR + "    image: {repository: kai/api}\n", []),
        (_HR + "    env: [{name: IMAGE, value: 'kai/api:v1'}]\n", []),
        (_HR + "    images: [kai/api:v1]\n", []),
        ("apiVersion: example.com/v1\nkind: HelmRelease\nspec:\n  values:\n"
         "    image: {repository: kai/api, tag: v1}\n", []),
        ("apiVersion: v1\nkind: ConfigMap\ndata:\n  image: kai/api:v1\n", []),
        ("apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, image: kai/api:v1}]\n"
         "  ephemeralContainers: [{name: b, image: kai/debug:v2}]\n",
         [("kai/api", "v1"), ("kai/debug", "v2")]),
        ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  images:\n"
         "    - {name: kai/api, newTag: v1}\n", [("kai/api", "v1")]),
        ("images:\n  - name: kai/api\n    newTag: v1\n    digest: sha256:" + "a" * 64 + "\n",
         [("kai/api", "v1@sha256:" + "a" * 64)]),
    ],
)
def test_what_counts_as_a_reference(text: str, expected: list[tuple[str, str]]) -> None:
    refs = find_refs(Manifest.parse("kustomization.yaml", text.encode()))
    assert [(r.repository, str(r.version)) for r in refs] == expected


def test_a_kustomization_without_apiversion_is_recognised_only_by_its_file_name() -> None:
    text = b"images:\n  - name: kai/api\n    newTag: v1\n"
    assert len(find_refs(Manifest.parse("base/kustomization.yaml", text))) == 1
    assert find_refs(Manifest.parse("base/images.yaml", text)) == []


def test_marker_on_a_value_that_is_not_a_reference_is_refused_with_its_line() -> None:
    # (a bare `just-text` is a reference without a tag: a whole-reference setter may hold one)
    text = b'a: 1\nb: Just Text # {"$imagepolicy": "flux-system:api"}\n'
    with pytest.raises(ManifestError, match=r"^f\.yaml:2: \$imagepolicy marker on a value"):
        find_refs(Manifest.parse("f.yaml", text))


def test_malformed_marker_is_refused_with_its_line() -> None:
    text = b'a: 1\nb: 2\nc: kai/api:v1 # {"$imagepolicy": "flux-system:api:sha"}\n'
    with pytest.raises(ManifestError, match=r"^f\.yaml:3: malformed \$imagepolicy marker"):
        find_refs(Manifest.parse("f.yaml", text))


def test_marker_text_inside_a_quoted_value_is_not_a_marker() -> None:
    text = b"""note: 'see # {"$imagepolicy": "flux-system:api"}'\nimage: x\n"""
    assert find_refs(Manifest.parse("f.yaml", text)) == []


def test_marker_after_non_ascii_text_on_the_line() -> None:
    text = 'spec:\n  a: "日本 🚀"\n  ü: {äö日本: kai/api:v1} # {"$imagepolicy": "flux-system:api"}\n'.encode()
    refs = find_refs(Manifest.parse("f.yaml", text))
    assert summary(refs) == [(3, "string", "kai/api", "v1", "api")]


@pytest.mark.parametrize(
    "line",
    [
        'image: {repository: kai/api, tag: v1} # {"$imagepolicy": "flux-system:api:tag"}',
        'image: {repository: kai/api, tag: v1} # {"$imagepolicy": "flux-system:api"}',
        'args: [a, b] # {"$imagepolicy": "flux-system:api:tag"}',
    ],
)
def test_marker_on_a_line_with_several_values_is_refused(line: str) -> None:
    """Which value would it set? Guessing once replaced a repository with a tag."""
    text = f"a: 1\n{line}\n".encode()
    with pytest.raises(ManifestError, match=r"^f\.yaml:2: \$imagepolicy marker on a line with several"):
        find_refs(Manifest.parse("f.yaml", text))


def test_marker_on_an_aliased_value_counts_once() -> None:
    text = b'a: &t kai/api:v1 # {"$imagepolicy": "flux-system:api"}\nb: *t\n'
    assert summary(find_refs(Manifest.parse("f.yaml", text))) == [(1, "string", "kai/api", "v1", "api")]


# --- malformed files: ManifestError, exit 2, message starting with file:line ---------------

MALFORMED = {
    "bad-indent.yaml": 9,
    "unclosed-flow.yaml": 8,
    "tab-indent.yaml": 7,
    "control-char.yaml": 10,
    "latin1.yaml": 6,
    "unterminated-quote.yaml": 12,
    "undefined-alias.yaml": 7,
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_yaml_reports_file_and_line(name: str) -> None:
    path = f"clusters/staging/{name}"
    with pytest.raises(ManifestError) as err:
        Manifest.parse(path, (EDITOR / "malformed" / name).read_bytes())
    assert str(err.value).startswith(f"{path}:{MALFORMED[name]}: ")
    assert exit_code(err.value) == 2


def test_malformed_fixtures_are_all_listed() -> None:
    assert {p.name for p in (EDITOR / "malformed").iterdir()} == set(MALFORMED)


def test_empty_and_comment_only_files_have_no_references() -> None:
    assert Manifest.parse("a.yaml", b"").docs == ()
    assert find_refs(Manifest.parse("a.yaml", b"# nothing\n---\n# still nothing\n...\n")) == []


# --- the shared tree ------------------------------------------------------------------------


def test_mixed_tree_references() -> None:
    found = set()
    for path in sorted((TREE / "clusters").rglob("*.yaml")):
        rel = path.relative_to(TREE).as_posix()
        refs = find_refs(Manifest.parse(rel, path.read_bytes()))
        found |= {(rel, r.line, r.repository, str(r.version)) for r in refs}
    staging = {f for f in found if f[0].startswith("clusters/staging/")}
    assert {(f[0].removeprefix("clusters/staging/"), f[1], f[2], f[3]) for f in staging} == {
        ("releases/api-server.yaml", 21, API, "1a2b3c4"),
        ("releases/coordinator.yaml", 17, "ghcr.io/kai-platform/kai-coordinator", "1a2b3c4"),
        ("releases/workers.yaml", 17, "ghcr.io/kai-platform/kai-point-cloud", "1a2b3c4"),
        ("releases/workers.yaml", 38, "ghcr.io/kai-platform/kai-model-generator", "1a2b3c4"),
        ("releases/redis.yaml", 22, "docker.io/bitnami/redis", "7.2.4-debian-12-r9"),
        ("apps/kustomization.yaml", 9, "ghcr.io/kai-platform/kai-format-converter", "1a2b3c4"),
        ("apps/format-converter.yaml", 15, "docker.io/library/busybox", "1.36.1"),
        ("automation/workflow-finalizer.yaml", 16, "ghcr.io/kai-platform/kai-workflow-finalizer", "1a2b3c4"),
    }
    production = {(f[0].removeprefix("clusters/production/"), f[2], f[3]) for f in found} - {
        (f[0].removeprefix("clusters/production/"), f[2], f[3]) for f in staging
    }
    assert {(f[1], f[2]) for f in production} == {
        (API, "0f9e8d7"), ("ghcr.io/kai-platform/kai-coordinator", "0f9e8d7"),
        ("ghcr.io/kai-platform/kai-point-cloud", "0f9e8d7"),
        ("ghcr.io/kai-platform/kai-model-generator", "0f9e8d7"),
        ("docker.io/bitnami/redis", "7.2.4-debian-12-r9"),
        ("ghcr.io/kai-platform/kai-format-converter", "0f9e8d7"),
        ("docker.io/library/busybox", "1.36.1"),
    }
