"""The fast path: files that cannot hold a wanted image are only syntax-checked, never parsed.

It must never change a plan, and a malformed file must still stop the run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_bot.manifests.nodes import check_syntax
from gitops_bot.manifests.scan import Manifest
from gitops_bot.model.errors import ManifestError
from gitops_bot.model.images import Wanted
from gitops_bot.planning.plan import Rules, make_plan, needles
from tests.support.paths import REPO

EDITOR = REPO / "fixtures" / "editor"
CASES: list[dict[str, Any]] = yaml.safe_load((EDITOR / "cases.yaml").read_text(encoding="utf-8"))["cases"]
TREE_FILES = sorted(p for p in (REPO / "fixtures" / "trees" / "mixed").rglob("*.yaml"))
ALL_FILES = sorted(EDITOR.glob("*.yaml")) + TREE_FILES


def test_needles_cover_names_aliases_and_markers() -> None:
    wanted = [Wanted.parse("api=1", None), Wanted.parse("docker.io/bitnami/redis=7", None)]
    assert set(needles(wanted, {"api": "ghcr.io/kai-platform/kai-api-server"})) == {
        b"$imagepolicy", b"image.toolkit.fluxcd.io", b"api", b"kai-api-server", b"redis"}  # policies too


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['file']}[{' '.join(c['bump'])}]")
def test_fast_path_gives_the_same_plan(case: dict[str, Any]) -> None:
    aliases = case.get("aliases", {})
    wanted = [Wanted.parse(spec, None) for spec in case["bump"]]
    files = {p.relative_to(REPO).as_posix(): p.read_bytes() for p in ALL_FILES if p.name != "cases.yaml"}
    everything = [Manifest.parse(name, data) for name, data in files.items()]
    keys = needles(wanted, aliases)
    candidates = [m for m in everything if any(k in files[m.path] for k in keys)]
    rules = Rules(aliases=aliases, allow_missing=True)
    try:
        full = make_plan(everything, wanted, rules)
    except ManifestError as err:  # refused: the fast path refuses it the same way
        with pytest.raises(ManifestError, match=str(err).split(":")[0]):
            make_plan(candidates, wanted, rules)
        return
    fast = make_plan(candidates, wanted, rules)
    assert full.changes == fast.changes
    assert full.files == fast.files


def test_fast_path_skips_files_without_the_image() -> None:
    staging = REPO / "fixtures" / "trees" / "mixed" / "clusters" / "staging"
    files = {p.relative_to(staging).as_posix(): p.read_bytes() for p in staging.rglob("*.yaml")}
    keys = needles([Wanted.parse("kai-point-cloud=1", None)], {})
    parsed = sorted(name for name, data in files.items() if any(k in data for k in keys))
    # the image's release, the decoy that names it, and the file with a setter marker
    assert parsed == ["automation/workflow-finalizer.yaml", "config/kai-settings.yaml", "releases/workers.yaml"]
    assert len(files) > len(parsed) + 3


# An undefined alias is an error of composition, not of syntax: only parsed files are checked for it
# (and for duplicate keys).
SYNTAX_ERRORS = sorted(p for p in (EDITOR / "malformed").iterdir() if p.name != "undefined-alias.yaml")


@pytest.mark.parametrize("path", SYNTAX_ERRORS, ids=lambda p: p.name)
def test_syntax_check_refuses_every_malformed_fixture_with_file_and_line(path: Path) -> None:
    with pytest.raises(ManifestError) as full:
        Manifest.parse(path.name, path.read_bytes())
    with pytest.raises(ManifestError) as fast:
        check_syntax(path.read_bytes(), path.name)
    assert str(fast.value).split(":")[:2] == str(full.value).split(":")[:2]


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_syntax_check_accepts_every_valid_fixture(path: Path) -> None:
    check_syntax(path.read_bytes(), path.name)


@pytest.mark.parametrize(("text", "says"), [
    (b"a: &x 1\nb: *y\n", "alias *y refers to no anchor"),
    (b"- &a [x, x]\n- &b [*a, *a]\n- &c [*b, *b]\n- &d [*c, *c]\n- &e [*d, *d]\n- &f [*e, *e]\n"
     b"- &g [*f, *f]\n- &h [*g, *g]\n- &i [*h, *h]\n- &j [*i, *i]\n- &k [*j, *j]\n- &l [*k, *k]\n"
     b"- &m [*l, *l]\n- &n [*m, *m]\n- &o [*n, *n]\n- &p [*o, *o]\n- &q [*p, *p]\n- &r [*q, *q]\n", "alias"),
])
def test_a_checked_only_file_with_a_bad_alias_still_stops_the_run(text: bytes, says: str) -> None:
    # libyaml's parser alone does not resolve aliases: the syntax check must still refuse these
    with pytest.raises(ManifestError, match=re.escape(says)):
        check_syntax(text, "x.yaml")


def test_stars_that_are_not_aliases_stay_on_the_fast_path() -> None:
    check_syntax(b'schedule: "*/5 * * * *"\nglob: foo*\nitems: ["a*b"]\n', "x.yaml")
