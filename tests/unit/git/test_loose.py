"""The in-memory write path: trees in git's order, objects git accepts, two processes per commit."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_bot.git.loose import TREE_MODE, LooseWriter, folders_of, parse_tree, tree_content
from gitops_bot.git.objects import Repo
from gitops_bot.git.plumbing import CommitWriter
from gitops_bot.git.runner import Git
from tests.support.gitrepo import git, isolate_git
from tests.unit.git.test_plumbing import _DATA, _PATH, AUTHOR, checkout_tree, random_edit, seeded


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path / "home", monkeypatch)


def test_tree_entries_sort_as_git_sorts_them_with_folders_ending_in_a_slash(tmp_path: Path) -> None:
    blob = bytes(20)
    entries = {b"a0": (b"100644", blob), b"a": (TREE_MODE, blob), b"a.b": (b"100644", blob),
               b"a-": (b"100755", blob), b"ab": (TREE_MODE, blob)}
    content = tree_content(entries)
    assert list(parse_tree(content)) == [b"a-", b"a.b", b"a", b"a0", b"ab"]
    assert parse_tree(content) == entries


def test_objects_written_from_memory_are_the_ones_git_writes(tmp_path: Path) -> None:
    commit = seeded(tmp_path / "work", {"x/y.yaml": b"a: 1\n", "x.yaml": b"b: 2\n", "x-y/z": b""})
    store = LooseWriter(tmp_path / "work" / ".git" / "objects")
    data = b"kind: ConfigMap\n"
    (tmp_path / "data").write_bytes(data)
    assert store.write("blob", data) == git("hash-object", str(tmp_path / "data"), cwd=tmp_path / "work")
    assert store.write("blob", data) == store.write("blob", data)  # written once, found after
    root = git("rev-parse", f"{commit}^{{tree}}", cwd=tmp_path / "work")
    raw = subprocess.run(["git", "cat-file", "tree", root], cwd=tmp_path / "work", capture_output=True,
                         check=True).stdout
    assert store.write("tree", tree_content(parse_tree(raw))) == root
    assert git("cat-file", "-t", store.write("blob", b"new\n"), cwd=tmp_path / "work") == "blob"


def test_folders_of_lists_parents_before_children() -> None:
    assert folders_of(["a/b/c.yaml", "a/d.yaml", "e.yaml"]) == ["", "a", "a/b"]


def test_a_commit_of_an_edit_starts_two_git_processes_and_passes_fsck(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    commit = seeded(work, {"flux/a/x.yaml": b"tag: 1\n", "flux/b.yaml": b"c: 1\n", "flux/a.b": b"z\n"},
                    executable=["flux/a/x.yaml"])
    edits = {"flux/a/x.yaml": b"tag: 2\n", "flux/new/deep/n.yaml": b"n: 1\n", "top.yaml": b"t: 1\n"}
    trace = tmp_path / "trace.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
    store = CommitWriter(Git(work / ".git"))
    made = store.commit_files(commit, edits, "edit\n", AUTHOR)
    monkeypatch.delenv("GIT_TRACE2_EVENT")
    starts = [json.loads(ln)["argv"][1] for ln in trace.read_text().splitlines()
              if json.loads(ln)["event"] == "start"]
    assert starts == ["cat-file", "commit-tree"]
    assert Repo.tree_of(store, made) == checkout_tree(work, edits)
    assert git("ls-tree", made, "--", "flux/a/x.yaml", cwd=work).split()[0] == "100755"  # the mode is kept
    git("fsck", "--strict", "--no-dangling", cwd=work)


def test_a_folder_where_a_file_was_takes_gits_own_way_the_file_is_replaced(tmp_path: Path) -> None:
    work = tmp_path / "work"
    commit = seeded(work, {"a/b.yaml": b"x: 1\n", "c.yaml": b"y: 1\n"})
    store = CommitWriter(Git(work / ".git"))
    tree = store.tree_with(commit, {"c.yaml/d.yaml": b"z: 1\n"})
    assert git("ls-tree", "-r", "--name-only", tree, cwd=work).split() == ["a/b.yaml", "c.yaml/d.yaml"]


def test_with_the_planners_listing_a_commit_starts_only_commit_tree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    commit = seeded(work, {"flux/a/x.yaml": b"tag: 1\n", "flux/b.yaml": b"c: 1\n", "flux/a.b": b"z\n",
                           "flux/a-/y": b"", "top": b""}, executable=["flux/a/x.yaml"])
    edits = {"flux/a/x.yaml": b"tag: 2\n", "flux/new/deep/n.yaml": b"n: 1\n", "flux/a-/y": b"y\n"}
    store = CommitWriter(Git(work / ".git"))
    assert store.listing(commit) is not None  # what read_file does first
    trace = tmp_path / "trace.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
    made = store.commit_files(commit, edits, "edit\n", AUTHOR)
    monkeypatch.delenv("GIT_TRACE2_EVENT")
    starts = [json.loads(ln)["argv"][1] for ln in trace.read_text().splitlines()
              if json.loads(ln)["event"] == "start"]
    assert starts == ["commit-tree"]
    assert Repo.tree_of(store, made) == checkout_tree(work, edits)
    git("fsck", "--strict", "--no-dangling", cwd=work)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.dictionaries(_PATH, _DATA, min_size=1, max_size=12),
       changed=st.lists(st.tuples(st.integers(min_value=0), _DATA), max_size=6),
       added=st.dictionaries(_PATH, _DATA, max_size=4))
def test_random_edits_from_the_listing_make_the_same_tree_as_git_add(
        base: dict[str, bytes], changed: list[tuple[int, bytes]], added: dict[str, bytes], tmp_path: Path) -> None:
    work, files, _names, edits = random_edit(tmp_path, base, changed, added)
    commit = seeded(work, files)
    store = CommitWriter(Git(work / ".git"))
    store.listing(commit)
    assert Repo.tree_of(store, store.commit_files(commit, edits, "edit\n", AUTHOR)) == checkout_tree(work, edits)
    shutil.rmtree(work.parent)
