"""A clone of this repository runs its tests with nothing beside it (CI clones into an empty folder)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.paths import REPO

# The team's shared folder beside the checkout: "../shared/…", or `REPO.parent / "shared"`.
OUTSIDE = re.compile(r"""\.\./shared\b|(REPO|REPO)\.parent\b|["']shared["']""")


def test_no_test_reads_files_beside_the_checkout() -> None:
    offenders = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        if path.name == Path(__file__).name:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_flux_schemas_are_vendored_with_their_source() -> None:
    folder = REPO / "tests" / "data" / "schemas"
    schemas = sorted(p.name for p in folder.glob("*.json"))
    assert schemas == ["gitrepository-source-v1.json", "helmrelease-helm-v2.json",
                       "helmrepository-source-v1.json", "kustomization-kustomize-v1.json",
                       "ocirepository-source-v1.json"]
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert all(name in readme for name in schemas)
    assert "fluxcd/helm-controller" in readme
