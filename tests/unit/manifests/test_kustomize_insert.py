"""A kustomize `images:` entry without `newTag` (or `digest`) gets the key inserted in the entry's own
indentation and style (docs/editing.md)."""

from __future__ import annotations

import pytest

from gitops_bot.manifests.scan import Manifest
from gitops_bot.model.images import Wanted
from gitops_bot.planning.plan import Rules, make_plan

DIGEST = "sha256:" + "c" * 64


def bump(text: str, *specs: str, name: str = "kustomization.yaml") -> str:
    manifest = Manifest.parse(name, text.encode())
    plan = make_plan([manifest], [Wanted.parse(s, None) for s in specs], Rules())
    return plan.files[name].decode()


def test_a_rename_only_entry_gets_new_tag_at_its_keys_indentation() -> None:
    text = ("resources:\n  - app.yaml\nimages:\n    - name: ghcr.io/acme/app\n"
            "      newName: registry.example.com/acme/app  # mirrored\n    - name: other\n      newTag: '1'\n")
    assert bump(text, "app=1.2.3") == text.replace(
        "  # mirrored\n", "  # mirrored\n      newTag: 1.2.3\n")


def test_a_tag_that_yaml_would_read_as_a_number_is_inserted_quoted() -> None:
    text = "images:\n- name: app\n  newName: ghcr.io/acme/app\n"
    assert bump(text, "app=1.10", name="Kustomization") == text + '  newTag: "1.10"\n'


def test_a_flow_entry_gets_the_key_before_its_brace() -> None:
    text = "images:\n  - {name: app, newName: ghcr.io/acme/app}\n"
    assert bump(text, "app=2.0.0") == "images:\n  - {name: app, newName: ghcr.io/acme/app, newTag: 2.0.0}\n"


def test_a_digest_is_inserted_beside_the_tag_and_both_at_once() -> None:
    text = "images:\n  - name: ghcr.io/acme/app\n    newTag: 1.0.0\n"
    assert bump(text, f"app@{DIGEST}") == text + f"    digest: {DIGEST}\n"
    bare = "images:\n  - name: ghcr.io/acme/app\n"
    both = bump(bare, f"app=1.0.1@{DIGEST}")
    assert sorted(both.splitlines()[2:]) == [f"    digest: {DIGEST}", "    newTag: 1.0.1"]


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_line_endings_and_the_rest_of_the_file_stay(newline: str) -> None:
    text = "images:\n  - name: app\n    newName: ghcr.io/acme/app\n# trailing comment\n".replace("\n", newline)
    assert bump(text, "app=3") == text.replace(
        f"acme/app{newline}", f'acme/app{newline}    newTag: "3"{newline}')


def test_an_entry_at_the_end_of_a_file_without_newline() -> None:
    assert bump("images:\n  - name: app\n    newName: x/app", "app=v1") == (
        "images:\n  - name: app\n    newName: x/app\n    newTag: v1")
