"""Reading the object store: commits, trees, blobs, history walks and diffs, as typed values.

`Repo` is the part of the git layer that needs no remote and no work tree: every query the
project makes of commits and trees is a method here (docs/reading-yaml.md says how history uses
them). Blobs a partial clone lacks are fetched by `Workspace` (workspace.py), which extends this.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from gitops_bot.git.catfile import CatFile, Found
from gitops_bot.git.runner import Git
from gitops_bot.model.errors import GitError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's id of the tree with no entries
NO_OBJECT = "0" * 40
REGULAR = ("100644", "100755")
LINK = "120000"
GITLINK = "160000"  # a submodule's commit
NO_MODE = "000000"  # the side of a diff where the file is absent


class TreeEntry(NamedTuple):
    """One `ls-tree` line: mode, type (blob, tree, commit), object id and repository path."""

    mode: str
    type: str
    sha: str
    path: str


class RawChange(NamedTuple):
    """One `--raw` line of a diff: both sides' mode and object id (NO_OBJECT: absent), the status, the path."""

    old_mode: str
    new_mode: str
    old: str
    new: str
    status: str
    path: str


class LogEntry(NamedTuple):
    """One commit of a `log --raw` walk: its formatted fields and the files it changed."""

    fields: tuple[str, ...]
    changes: tuple[RawChange, ...]


class Repo:
    """Queries of one repository's objects: each one git command through the runner, or one
    request to the store's `cat-file --batch` (catfile.py)."""

    def __init__(self, git: Git):
        self.git = git
        self.reader = CatFile(git)  # every object read of this store, by one process
        weakref.finalize(self, self.reader.close)
        # (tree-ish, path) -> mode of the files listed so far: a commit on them keeps their modes
        self.modes: dict[tuple[str, str], str] = {}
        # commit id -> every file of its tree (`ls-tree -r`), once listed: later questions about
        # that commit's files are answered without a process (a commit id never changes its tree)
        self.listings: dict[str, dict[str, TreeEntry]] = {}
        self.folders: dict[str, dict[str, TreeEntry]] = {}  # ... and its folders' entries (`ls-tree -t`)
        # folder -> (commit, its files at that commit): the newest listing of each folder read whole
        # (an environment); a lost push's re-plan gets it from the diff instead of `ls-tree` (carry)
        self.folder_files: dict[str, tuple[str, list[TreeEntry]]] = {}

    # -- names -----------------------------------------------------------------------------------
    def rev_parse(self, *revs: str) -> str:
        """The object id `revs` names (one per line for several)."""
        return self.git.out("rev-parse", *revs)

    def resolve(self, rev: str) -> str | None:
        """The object `rev` names (`commit:path`, `sha^{commit}`...), or None when it names none."""
        result = self.git.run("rev-parse", "--verify", "--quiet", rev, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def tree_of(self, commit: str) -> str:
        return self.git.out("rev-parse", f"{commit}^{{tree}}")

    def has_commit(self, oid: str) -> bool:
        return self.git.run("cat-file", "-e", f"{oid}^{{commit}}", check=False).returncode == 0

    # -- commits and history ---------------------------------------------------------------------
    def is_ancestor(self, commit: str, of: str) -> bool:
        return self.git.run("merge-base", "--is-ancestor", commit, of, check=False).returncode == 0

    def merge_base(self, one: str, other: str) -> str | None:
        return self.git.run("merge-base", one, other, check=False).stdout.strip() or None

    def rev_list(self, *revs: str, reverse: bool = False) -> list[str]:
        """Commits reachable from `revs` (`a..b` ranges too), newest first unless `reverse`."""
        return self.git.out("rev-list", *(["--reverse"] if reverse else []), *revs, "--").split()

    def parents(self, commit: str) -> list[str]:
        return self.git.out("rev-list", "--parents", "-n", "1", commit, "--").split()[1:]

    def subjects(self, *revs: str) -> list[str]:
        """The subject line of each commit of `revs` (a range, or `-1 SHA`), newest first."""
        return self.git.out("log", "--format=%s", *revs, "--").splitlines()

    def commit_text(self, commit: str) -> str:
        """The raw commit object: headers, a blank line, the message."""
        return self.git.run("cat-file", "commit", commit).stdout

    def log_raw(self, head: str, paths: Sequence[str], fields: Sequence[str], *,
                first_parent: bool = True) -> list[LogEntry]:
        """The commits of `head` that touch `paths`, newest first, with the `--format` `fields`
        (placeholders such as %H, %B) and their `--raw` changes against the first parent."""
        fmt = "%x1e" + "".join(f"{f}%x1f" for f in fields)
        out = self.git.out("log", *(["--first-parent"] if first_parent else []), "--raw", "--no-abbrev",
                           "--no-renames", "-z", f"--format={fmt}", head, "--", *paths)
        entries = []
        for record in filter(None, out.split("\x1e")):
            *values, raw = record.split("\x1f", len(fields))
            entries.append(LogEntry(tuple(values), tuple(_raw(raw))))
        return entries

    # -- trees and diffs -------------------------------------------------------------------------
    def listing(self, commit: str) -> dict[str, TreeEntry] | None:
        """Every file of `commit` (a full object id) by path, listed once; None for another name."""
        if commit not in self.listings:
            if len(commit) != 40 or any(c not in "0123456789abcdef" for c in commit):
                return None
            entries = self._ls_tree(commit, (), recursive=True, folders=True)
            self.listings[commit] = {e.path: e for e in entries if e.type != "tree"}
            self.folders[commit] = {e.path: e for e in entries if e.type == "tree"}
        return self.listings[commit]

    def ls_tree(self, treeish: str, paths: Sequence[str] = (), *, recursive: bool = False) -> list[TreeEntry]:
        """The entries of `treeish` (a commit or tree) at `paths` (all when empty), by full path."""
        listed = self.listings.get(treeish)
        if listed is None and recursive and not paths:
            listed = self.listing(treeish)  # every file, once: paths() and the commit's tree use it too
        if listed is not None and all(plain_path(p.rstrip("/")) for p in paths):
            if recursive:
                found = _under(listed, paths)
            elif all(p in listed for p in paths):  # files only: a folder's own entry is not listed
                wanted = set(paths)
                found = [e for e in listed.values() if e.path in wanted]
            else:
                found = None
            if found is not None:
                for entry in found:
                    self.modes[(treeish, entry.path)] = entry.mode
                return found
        folder = paths[0] if recursive and len(paths) == 1 and plain_path(paths[0]) else None
        kept = self.folder_files.get(folder) if folder is not None else None
        if kept is not None and kept[0] == treeish:  # listed before, or carried to this commit
            for entry in kept[1]:
                self.modes[(treeish, entry.path)] = entry.mode
            return list(kept[1])
        found = self._ls_tree(treeish, paths, recursive=recursive)
        if folder is not None and len(treeish) == 40:  # a commit or tree id: what it lists never changes
            self.folder_files[folder] = (treeish, found)
        return list(found)

    def carry(self, old: str, new: str, changes: Sequence[RawChange]) -> None:
        """What was listed at commit `old` (every file, folders read whole), listed at `new` from
        `changes` (`diff_tree(old, new)`, every file): what a re-plan on the branch's new head
        reads, without an `ls-tree`. The listing of `old` is let go: the re-plan reads `new`."""
        listed = self.listings.pop(old, None)
        self.folders.pop(old, None)  # folder ids are not in the diff: the tree writer reads them
        if listed is not None and new not in self.listings:
            added = False
            for change in changes:
                if change.new_mode == NO_MODE:
                    listed.pop(change.path, None)
                else:
                    added = added or change.path not in listed
                    listed[change.path] = _entry(change)
            if added:  # git's order: by path, byte by byte
                listed = dict(sorted(listed.items(), key=lambda item: item[0].encode()))
            self.listings[new] = listed
        for folder, (commit, entries) in list(self.folder_files.items()):
            if commit != old:
                continue
            prefix = f"{folder}/"
            touched = {c.path: c for c in changes if c.path == folder or c.path.startswith(prefix)}
            files = [e for e in entries if e.path not in touched]
            files += [_entry(c) for c in touched.values() if c.new_mode != NO_MODE]
            files.sort(key=lambda e: e.path.encode())  # git's order: by path, byte by byte
            self.folder_files[folder] = (new, files)

    def _ls_tree(self, treeish: str, paths: Sequence[str], *, recursive: bool,
                 folders: bool = False) -> list[TreeEntry]:
        """`ls-tree` itself; with `folders`, the folders' own entries too (`-t`)."""
        flags = [*(["-r"] if recursive else []), *(["-t"] if folders else [])]
        out = self.git.out("ls-tree", *flags, "-z", "--full-tree", treeish, "--", *paths)
        entries = []
        for item in filter(None, out.split("\0")):
            meta, path = item.split("\t", 1)
            mode, kind, sha = meta.split()
            entries.append(TreeEntry(mode, kind, sha, path))
            if kind != "tree":
                self.modes[(treeish, path)] = mode
        return entries

    def paths(self, treeish: str) -> list[str]:
        """Every file path of the repository at `treeish` (from its trees: no blob is fetched)."""
        listed = self.listing(treeish)
        if listed is not None:
            return list(listed)
        return list(filter(None, self.git.out("ls-tree", "-r", "-z", "--name-only", "--full-tree",
                                              treeish).split("\0")))

    def diff_tree(self, old: str, new: str, paths: Sequence[str] = ()) -> list[RawChange]:
        """What changed between two commits or trees, file by file (renames as delete + add)."""
        return _raw(self.git.out("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", "--raw",
                                 old, new, "--", *paths))

    def diff(self, old: str, new: str) -> str:
        """The patch between two commits, as `git diff` prints it (no colour, no external tool)."""
        return self.git.run("diff", "--no-color", "--no-ext-diff", old, new, "--").stdout

    def missing_in(self, tree: str) -> set[str]:
        """Blobs under `tree` not in the clone; listed without fetching them (rev-list --missing)."""
        out = self.git.out("rev-list", "--objects", "--missing=print", tree)
        return {line[1:].split()[0] for line in out.splitlines() if line.startswith("?")}

    def cat(self, shas: Iterable[str]) -> dict[str, bytes]:
        """The contents of objects, by id."""
        wanted = list(dict.fromkeys(shas))
        contents: dict[str, bytes] = {}
        for sha, found in zip(wanted, self.reader.read(wanted), strict=True):
            if found is None:
                raise GitError(f"object {sha} is not in the clone of {self.git.credentials.redact(self.git.url)}")
            contents[sha] = found[1]
        return contents

    def objects(self, names: Sequence[str]) -> list[Found]:
        """(type, content) of the object each of `names` names (`commit:path`...), None for one
        that names none."""
        return self.reader.read(names)

    def close(self) -> None:
        self.reader.close()


def plain_path(path: str) -> bool:
    """`path` names the same file to git's path lookups as to a listing: no `.`, `..`, empty part,
    wildcard, pathspec magic or line break."""
    parts = path.split("/")
    return all(parts) and not any(p in (".", "..") for p in parts) and not path.startswith(":") \
        and not any(c in path for c in "*?[\\\n\r")


def _entry(change: RawChange) -> TreeEntry:
    """The listing's entry of the file a diff added or changed."""
    return TreeEntry(change.new_mode, "commit" if change.new_mode == GITLINK else "blob", change.new, change.path)


def _under(listed: dict[str, TreeEntry], paths: Sequence[str]) -> list[TreeEntry]:
    """The files of a listing at or under `paths` (all when empty), in the listing's order."""
    if not paths:
        return list(listed.values())
    exact = {p.rstrip("/") for p in paths}
    prefixes = tuple(f"{p}/" for p in exact)
    return [e for e in listed.values() if e.path in exact or e.path.startswith(prefixes)]


def _raw(raw: str) -> list[RawChange]:
    """`--raw -z` entries: `:MODE MODE OLD NEW STATUS\\0PATH\\0` (what precedes the first is skipped)."""
    out = []
    tokens = raw.split("\0")
    i = 0
    while i < len(tokens):
        meta = tokens[i].strip("\n")
        if not meta.startswith(":") or i + 1 >= len(tokens):
            i += 1
            continue
        old_mode, new_mode, old, new, status = meta[1:].split(" ", 4)
        out.append(RawChange(old_mode, new_mode, old, new, status, tokens[i + 1]))
        i += 2
    return out
