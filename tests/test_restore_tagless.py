"""Restores that must bring back exactly what the target commit held (docs/reading-yaml.md)."""

from __future__ import annotations

from gitops_bot.manifests import Manifest, find_refs
from gitops_bot.plan import make_restore_plan

TAGLESS = """apiVersion: apps/v1
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


def test_rollback_to_a_tagless_whole_reference_removes_the_tag_again() -> None:
    bumped = TAGLESS.replace("ghcr.io/acme/app #", "ghcr.io/acme/app:1.0.1 #")
    target = find_refs(Manifest.parse("d.yaml", TAGLESS.encode()))
    plan = make_restore_plan([Manifest.parse("d.yaml", bumped.encode())], target)
    assert plan.files["d.yaml"] == TAGLESS.encode()
    assert [(c.old, c.new) for c in plan.changes] == [("1.0.1", "")]
