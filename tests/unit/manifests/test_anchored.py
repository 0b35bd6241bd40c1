"""An anchored scalar is edited when every alias of it is an image field of the same image; otherwise
the run is refused naming the aliases (docs/editing.md)."""

from __future__ import annotations

import pytest

from gitops_bot.manifests.scan import Manifest
from gitops_bot.model.errors import ManifestError
from gitops_bot.model.images import Wanted
from gitops_bot.planning.plan import Rules, environment_refs, make_plan, make_restore_plan

HR = """apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app
spec:
  values:
    controllers:
      main:
        containers:
          app:
            image:
              repository: ghcr.io/acme/app
              tag: &tag 1.0.0  # shared
          worker:
            image:
              repository: ghcr.io/acme/app
              tag: *tag
"""


def plan(text: str, spec: str) -> str:
    manifest = Manifest.parse("hr.yaml", text.encode())
    return make_plan([manifest], [Wanted.parse(spec, None)], Rules()).files["hr.yaml"].decode()


def test_an_anchor_whose_aliases_are_all_fields_of_the_same_image_is_edited_in_place() -> None:
    assert plan(HR, "app=1.1.0") == HR.replace("&tag 1.0.0", "&tag 1.1.0")


def test_a_value_that_must_be_quoted_keeps_its_anchor() -> None:
    assert plan(HR, "app=1.10") == HR.replace("&tag 1.0.0", '&tag "1.10"')


@pytest.mark.parametrize(("old", "new", "line"), [
    ("repository: ghcr.io/acme/app\n              tag: *tag", "repository: ghcr.io/acme/other\n              tag: *tag",
     17),
    ("          worker:\n", "          worker:\n            env:\n              VERSION: *tag\n", 19),
])
def test_an_alias_elsewhere_is_refused_naming_it(old: str, new: str, line: int) -> None:
    text = HR.replace(old, new)
    with pytest.raises(ManifestError) as err:
        plan(text, "ghcr.io/acme/app=1.1.0")
    assert str(err.value).startswith("hr.yaml:13: the anchored value &tag is also used by *tag (line ")
    assert f"{line}" in str(err.value).split("(line ")[1].split(")")[0]


def test_rollback_restores_an_anchored_value_with_its_anchor() -> None:
    old = Manifest.parse("hr.yaml", HR.encode())
    bumped = plan(HR, "app=1.1.0")
    current = Manifest.parse("hr.yaml", bumped.encode())
    restored = make_restore_plan([current], environment_refs([old]))
    assert restored.files["hr.yaml"].decode() == HR
