"""How the installed CLI edits manifests it does not own: duplicate keys refused, values YAML 1.1
readers take for numbers quoted, every setter of a Flux policy moved, merge keys edited in place,
rename-only kustomize entries left alone."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunBot, refused
from tests.support.builders import helmrelease
from tests.support.gitrepo import make_remote


def test_duplicate_keys_are_refused_with_file_and_line(tmp_path: Path, run_bot: RunBot) -> None:
    path = "flux/clusters/staging/releases/extra.yaml"
    # line 10: a second `tag:` in the same image mapping
    doc = helmrelease("extra", "ghcr.io/kai-platform/kai-extra", "a", values="      tag: b\n").encode()
    remote = make_remote(tmp_path / "r", extra={path: doc})
    stderr = refused(run_bot, remote, "bump", "--env", "staging", "--image", "kai-extra=c")
    assert f"{path}:10: invalid YAML: duplicate key 'tag'" in stderr


def test_a_flux_policy_moves_all_its_setters(tmp_path: Path, run_bot: RunBot) -> None:
    path = "flux/clusters/staging/config/settings.yaml"
    doc = (b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n"
           b'  img: ghcr.io/acme/foo:1.0 # {"$imagepolicy": "flux-system:barpolicy"}\n'
           b'  t: "1.0" # {"$imagepolicy": "flux-system:barpolicy:tag"}\n')
    remote = make_remote(tmp_path / "r", extra={path: doc})
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "foo=2.0")
    assert proc.returncode == 0, proc.stderr
    assert remote.show("staging", path) == doc.replace(b"foo:1.0", b"foo:2.0").replace(b'"1.0"', b'"2.0"')


def test_an_overridden_merge_key_in_image_values_is_edited_in_place(tmp_path: Path, run_bot: RunBot) -> None:
    """docs/editing.md: a scalar that overrides a merge key is edited in place (the anchor's own tag too,
    since it is the same image)."""
    path = "flux/clusters/staging/releases/merged.yaml"
    doc = (b"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: merged}\nspec:\n"
           b"  values:\n    base: &b {repository: ghcr.io/k/merged, tag: olda}\n"
           b"    image: {<<: *b, tag: override}\n")
    remote = make_remote(tmp_path / "r", extra={path: doc})
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "merged=new1")
    assert proc.returncode == 0, proc.stderr
    assert remote.show("staging", path) == doc.replace(b"olda", b"new1").replace(b"override", b"new1")


def test_rename_only_kustomize_entries_are_not_references(tmp_path: Path, run_bot: RunBot) -> None:
    kustomization = b"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n" \
                    b"images:\n  - name: redis\n    newName: mirror.example.com/bitnami/redis\n"
    remote = make_remote(tmp_path / "r", extra={"flux/clusters/staging/extra/kustomization.yaml": kustomization})
    proc = run_bot("--repo", remote.url, "--output", "json", "status", "--env", "staging")
    assert proc.returncode == 0, proc.stderr
