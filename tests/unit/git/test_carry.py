"""A lost push's re-plan lists the environment at the new head from the diff, not from `ls-tree`.

`Repo.carry` turns the listing of a folder at the old head and `diff_tree(old, new)` into the
listing at the new head. It must be exactly what `git ls-tree -r` prints there (entries, modes,
ids, order), whatever the winners changed: files edited, added, removed, made executable, turned
into links or into folders, inside and outside the folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_bot.git.objects import Repo, TreeEntry
from gitops_bot.git.runner import Git
from tests.support.gitrepo import git, isolate_git

FOLDER = "env/prod"
NAMES = ["a.yaml", "b.yaml", "a-b.yaml", "a.b/c.yaml", "sub/d.yaml", "sub/deeper/e.yaml", "x!y.yaml"]
PLACES = [f"{FOLDER}/{n}" for n in NAMES] + ["env/prod-2/f.yaml", "env/g.yaml", "other/h.yaml"]


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path / "home", monkeypatch)


def write(work: Path, files: dict[str, tuple[str, bytes]]) -> str:
    """Replace the checkout's files with `files` (path -> (kind, data)), commit; the commit id."""
    for child in work.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    for path, (kind, data) in files.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "link":
            target.symlink_to(data.decode())
        else:
            target.write_bytes(data)
            if kind == "exec":
                target.chmod(0o755)
    git("add", "-A", cwd=work)
    git("commit", "-q", "--allow-empty", "-m", "state", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def listed(work: Path, commit: str) -> list[TreeEntry]:
    """What git lists under FOLDER at `commit`, asked afresh."""
    return Repo(Git(work / ".git")).ls_tree(commit, [FOLDER], recursive=True)


kinds = st.sampled_from(["file", "exec", "link"])
states = st.dictionaries(st.sampled_from(PLACES), st.tuples(kinds, st.binary(min_size=1, max_size=8)), max_size=8)


def valid(files: dict[str, tuple[str, bytes]]) -> dict[str, tuple[str, bytes]]:
    """Drop the files that sit where another file needs a folder, and link targets git cannot hold."""
    kept = {p: (k, d if k != "link" else d.hex().encode()) for p, (k, d) in files.items()}
    return {p: v for p, v in kept.items() if not any(q.startswith(f"{p}/") for q in kept)}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=states, after=states, folder_is_a_file=st.booleans())
def test_the_carried_listing_is_what_ls_tree_lists(tmp_path: Path, before: dict[str, tuple[str, bytes]],
                                                   after: dict[str, tuple[str, bytes]], folder_is_a_file: bool) -> None:
    work = tmp_path / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    git("init", "-q", "-b", "main", str(work), cwd=tmp_path)
    old = write(work, valid(before))
    after = valid(after)
    if folder_is_a_file:  # the environment's folder replaced by a file of that name
        after = {p: v for p, v in after.items() if not p.startswith(f"{FOLDER}/")} | {FOLDER: ("file", b"x")}
    new = write(work, after)

    store = Repo(Git(work / ".git"))
    assert store.ls_tree(old, [FOLDER], recursive=True) == listed(work, old)
    store.paths(old)  # and every file of the repository (values files are looked up in it)
    store.carry(old, new, store.diff_tree(old, new))

    def no_process(*_args: object, **_kw: object) -> list[TreeEntry]:
        raise AssertionError("listed by git, not carried")

    store._ls_tree = no_process  # type: ignore[method-assign]
    assert store.ls_tree(new, [FOLDER], recursive=True) == listed(work, new)
    assert list(store.listings[new].items()) == list((Repo(Git(work / ".git")).listing(new) or {}).items())
    assert old not in store.listings  # let go: the re-plan reads the new head


def test_a_folder_listed_at_another_commit_is_not_carried(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", str(work), cwd=tmp_path)
    first = write(work, {f"{FOLDER}/a.yaml": ("file", b"1")})
    second = write(work, {f"{FOLDER}/a.yaml": ("file", b"2")})
    third = write(work, {f"{FOLDER}/a.yaml": ("file", b"3"), f"{FOLDER}/b.yaml": ("file", b"4")})
    store = Repo(Git(work / ".git"))
    store.ls_tree(first, [FOLDER], recursive=True)
    store.carry(second, third, store.diff_tree(second, third))  # a diff from a commit not listed
    assert store.ls_tree(third, [FOLDER], recursive=True) == listed(work, third)  # asked git: two files
    assert [e.path for e in store.ls_tree(first, [FOLDER], recursive=True)] == [f"{FOLDER}/a.yaml"]
