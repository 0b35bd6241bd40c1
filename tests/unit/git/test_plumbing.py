"""The write path without a work tree makes the same tree as a checkout, an edit and `git add -A`.

The plumbing commit (read-tree into a temporary index, hash-object, update-index, write-tree,
commit-tree) is compared, by tree id, with what git itself records for the same edits made to files
of a real checkout: on the fixture trees (fixtures/trees, flux/) and on random trees and edits.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_bot.git.objects import Repo
from gitops_bot.git.plumbing import CommitWriter
from gitops_bot.git.runner import Git
from gitops_bot.git.workspace import Workspace
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.errors import GitError
from tests.support.gitrepo import ROOT, Remote, git, isolate_git

AUTHOR = "gitops-bot <bot@example.com>"


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path / "home", monkeypatch)


class LocalStore(CommitWriter):
    """The plumbing over an existing repository (its .git), as the Workspace uses it."""

    def __init__(self, git_dir: Path):
        super().__init__(Git(git_dir))


def seeded(work: Path, files: dict[str, bytes], executable: Iterable[str] = ()) -> str:
    """A repository in `work` whose one commit holds `files`; its commit id."""
    git("init", "-q", "-b", "main", str(work), cwd=work.parent)
    for path, data in files.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if path in executable:
            target.chmod(0o755)
    git("add", "-A", cwd=work)
    git("commit", "-q", "--allow-empty", "-m", "seed", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def checkout_tree(work: Path, edits: dict[str, bytes]) -> str:
    """The tree git records for `edits` written into the checkout in `work` and added."""
    for path, data in edits.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    git("add", "-A", cwd=work)
    return git("write-tree", cwd=work)


def copy_tree(source: Path, prefix: str) -> dict[str, bytes]:
    return {f"{prefix}/{p.relative_to(source).as_posix()}": p.read_bytes()
            for p in sorted(source.rglob("*")) if p.is_file() and not p.is_symlink()}


def edits_of(files: dict[str, bytes]) -> dict[str, bytes]:
    """Edit every other YAML file (a tag moved, or a comment added) and add files in new folders."""
    edits = {}
    for i, (path, data) in enumerate(sorted(files.items())):
        if path.endswith((".yaml", ".yml")) and i % 2 == 0:
            edits[path] = data.replace(b"tag:", b"tag: 9f8e7d6 #", 1) if b"tag:" in data else data + b"# edited\n"
    edits["flux/clusters/new-env/releases/new.yaml"] = b"apiVersion: v1\nkind: ConfigMap\n"
    edits[".gitops-bot/holds.yaml"] = b"holds:\n  ghcr.io/acme/api: frozen\n"
    return edits


FIXTURE_TREES = [("flux", ROOT / "flux"), *((f"fixtures/trees/{p.name}", p)
                                           for p in sorted((ROOT / "fixtures" / "trees").iterdir()))]


@pytest.mark.parametrize(("prefix", "source"), FIXTURE_TREES, ids=[p for p, _ in FIXTURE_TREES])
def test_fixture_tree_commit_without_work_tree_matches_a_checkout(prefix: str, source: Path,
                                                                  tmp_path: Path) -> None:
    files = copy_tree(source, prefix)
    assert files
    executable = {sorted(files)[0]}  # its mode is kept: still executable after the edit
    work = tmp_path / "work"
    base = seeded(work, {**files, "README.md": b"top\n"}, executable)
    os.symlink("README.md", work / "link-to-readme")  # entries the edit does not touch stay as they are
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "link", cwd=work)
    base = git("rev-parse", "HEAD", cwd=work)
    bare = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)

    edits = edits_of(files)
    edits[sorted(files)[0]] = files[sorted(files)[0]] + b"# still executable\n"
    with Workspace.open(bare.as_uri(), Credentials(), workdir=None, progress=False) as ws:
        assert ws.fetch("main") == base
        read = {f.path: f.data for f in ws.read_files(base, prefix)}
        assert read
        assert read == {p: files[p] for p in read}  # the planners' input: name and bytes, from objects
        made = ws.commit_files(base, edits, "deploy\n\nbody\n", AUTHOR)
        made_tree = ws.tree_of(made)
        assert ws.parents(made) == [base]
        assert ws.commit_text(made).endswith("\n\ndeploy\n\nbody\n")  # the message verbatim
        assert [p.name for p in ws.root.iterdir()] == [".git"]  # no file of the repository on disk
        local = ws.root / ".git"
        mode = git("ls-tree", made, "--", sorted(files)[0], cwd=local).split()[0]
        assert mode == "100755"
        assert git("ls-tree", made, "--", "link-to-readme", cwd=local).split()[0] == "120000"
    assert made_tree == checkout_tree(work, edits)


def test_an_edit_that_changes_nothing_gives_the_base_tree(tmp_path: Path) -> None:
    work = tmp_path / "work"
    base = seeded(work, {"a/b.yaml": b"x: 1\n"})
    store = LocalStore(work / ".git")
    assert store.tree_with(base, {"a/b.yaml": b"x: 1\n"}) == store.tree_of(base)
    assert store.tree_with(base, {}) == store.tree_of(base)


@pytest.mark.parametrize("path", ["../outside.yaml", "/etc/passwd", "a/../../b.yaml", ".git/config",
                                  "a/./b.yaml", "a//b.yaml", ""])
def test_paths_that_leave_the_repository_are_refused(path: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    base = seeded(work, {"a/b.yaml": b"x: 1\n"})
    with pytest.raises(GitError, match=r"refusing to write .*: it leaves the repository"):
        LocalStore(work / ".git").tree_with(base, {path: b"y: 2\n"})
    assert not (tmp_path / "outside.yaml").exists()


# -- the property: random trees, random edits -----------------------------------------------------------

_NAME = st.sampled_from(["a", "b", "c", "apps", "x.yaml", "y.yml", "z-1.yaml", "A", "a.b", "a-", "a0"])
_PATH = st.lists(_NAME, min_size=1, max_size=4).map("/".join)
_DATA = st.binary(max_size=64)


def _fits(path: str, files: Mapping[str, bytes]) -> bool:
    """`path` can be a file next to `files`: none of them is its folder, and it is no folder of theirs."""
    parts = path.split("/")
    folders = {"/".join(parts[:i]) for i in range(1, len(parts))}
    return not folders & files.keys() and not any(k.startswith(path + "/") for k in files)


def random_edit(tmp_path: Path, base: Mapping[str, bytes], changed: Sequence[tuple[int, bytes]],
                added: Mapping[str, bytes]) -> tuple[Path, dict[str, bytes], list[str], dict[str, bytes]]:
    """One Hypothesis example's edit: a fresh work folder (examples share `tmp_path`), the base
    files that fit together, their sorted names, and the edits (changed files, then new ones)."""
    files = _consistent(base)
    names = sorted(files)
    edits = {names[i % len(names)]: data for i, data in changed}
    edits.update(_consistent(added, files))
    run = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}"
    run.mkdir()
    return run / "work", files, names, edits


def _consistent(files: Mapping[str, bytes], beside: Mapping[str, bytes] | None = None) -> dict[str, bytes]:
    """The paths of `files` that can all be files together (and next to `beside`), shortest first."""
    kept: dict[str, bytes] = {}
    for path in sorted(files, key=lambda p: (len(p), p)):
        if path not in (beside or {}) and _fits(path, {**(beside or {}), **kept}):
            kept[path] = files[path]
    return kept


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.dictionaries(_PATH, _DATA, min_size=1, max_size=12),
       changed=st.lists(st.tuples(st.integers(min_value=0), _DATA), max_size=6),
       added=st.dictionaries(_PATH, _DATA, max_size=4), executable=st.sets(st.integers(min_value=0), max_size=3))
def test_random_edits_make_the_same_tree_as_git_add(base: dict[str, bytes], changed: list[tuple[int, bytes]],
                                                    added: dict[str, bytes], executable: set[int],
                                                    tmp_path: Path) -> None:
    work, files, names, edits = random_edit(tmp_path, base, changed, added)
    commit = seeded(work, files, {names[i % len(names)] for i in executable})
    store = LocalStore(work / ".git")
    plumbing = store.commit_files(commit, edits, "edit\n", AUTHOR)
    assert Repo.tree_of(store, plumbing) == checkout_tree(work, edits)
    shutil.rmtree(work.parent)


def test_a_commit_fetches_no_blob_outside_the_edit(remote: Remote) -> None:
    """Building the tree checks no blob of the rest of the repository: in a blob-less store that
    check would fetch every one of them."""
    staging, api = "flux/clusters/staging", "flux/clusters/staging/releases/api-server.yaml"
    with Workspace.open(remote.url, Credentials(), workdir=None, progress=False) as ws:
        head = ws.fetch("staging")
        data = {f.path: f.data for f in ws.read_files(head, staging)}[api]
        local = ws.root / ".git"
        missing_before = set(git("rev-list", "--objects", "--missing=print", head, cwd=local).split())
        made = ws.commit_files(head, {api: data.replace(b"tag: 1a2b3c4", b"tag: 5d6e7f8")}, "bump\n", AUTHOR)
        missing_after = set(git("rev-list", "--objects", "--missing=print", head, cwd=local).split())
        assert {m for m in missing_before if m.startswith("?")}
        assert missing_after == missing_before
        assert git("ls-tree", "-r", made, "--", api, cwd=local).split()[2] != \
            git("ls-tree", "-r", head, "--", api, cwd=local).split()[2]
