"""requirements/action.lock, the Action's install (docs/trust-model.md): every runtime dependency of
pyproject.toml, and everything they need, pinned with hashes."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.paths import REPO

LOCK = REPO / "requirements" / "action.lock"
REGENERATE = ("uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 "
              "-o requirements/action.lock")


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), from the lock's `name==version ; marker \\` entries."""
    entries: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for raw in LOCK.read_text(encoding="utf-8").splitlines():
        text = raw.strip().rstrip("\\").strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("--hash="):
            entries[name][1].append(text.removeprefix("--hash="))
            continue
        req = Requirement(text)
        assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", text
        name = canonicalize_name(req.name)
        entries[name] = (next(iter(req.specifier)).version, [])
    return entries


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"]]


def test_every_entry_is_pinned_with_sha256_hashes() -> None:
    entries = locked()
    assert entries
    for name, (version, hashes) in entries.items():
        assert hashes, f"{name}=={version} has no hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


def test_the_lock_covers_pyprojects_runtime_dependencies() -> None:
    entries = locked()
    for req in runtime_requirements():
        name = canonicalize_name(req.name)
        assert name in entries, f"{req} (pyproject.toml) is not in the lock: run `{REGENERATE}`"
        assert req.specifier.contains(entries[name][0], prereleases=True), (
            f"the lock pins {name}=={entries[name][0]}, outside pyproject.toml's {req}: run `{REGENERATE}`")


def test_the_lock_holds_what_the_dependencies_need() -> None:
    """Walk the installed dependencies' own requirements (this interpreter's markers, no extras):
    with --no-deps, a distribution missing from the lock would be missing from the Action."""
    entries = locked()
    env = default_environment()
    seen: set[str] = set()
    pending = list(runtime_requirements())
    while pending:
        req = pending.pop()
        name = canonicalize_name(req.name)
        if name in seen or (req.marker is not None and not req.marker.evaluate({**env, "extra": ""})):
            continue
        seen.add(name)
        assert name in entries, f"{name} (needed by the runtime dependencies) is not in the lock"
        pending += [Requirement(r) for r in metadata.requires(req.name) or []]
    assert seen <= set(entries)


def test_the_lock_says_how_to_regenerate_it() -> None:
    assert REGENERATE in LOCK.read_text(encoding="utf-8")
