"""Writing commits without a work tree: new blobs and trees written from memory, `commit-tree`.

Nothing of the repository is ever written to disk as files. The base commit's trees along the edited
paths are rebuilt from the `ls-tree -r -t` listing the planner read (each checked against its id), or
else read in one request to the store's `cat-file --batch` (trees only: no blob is needed); the
edited files and the trees above them are stored as loose objects from memory (loose.py), and the
tree is committed (`commit-tree`, signed when commit.sign says so): one git process for an edit. An edit loose.py
does not build (a file where a folder was) takes git's own way: the base's tree read into an index
of our own (`read-tree`), blobs stored (`hash-object -w --stdin`), put in that index (`update-index
--index-info`), the tree written (`write-tree`). Either way the tree is the one `git add` of the
same edits in a checkout would give (tests/unit/git/test_plumbing.py, test_loose.py).
A revert is a three-way merge of trees (`merge-tree --write-tree`), never a checkout.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from gitops_bot.git.loose import (
    Entries,
    LooseWriter,
    Unsupported,
    build_tree,
    folders_of,
    object_id,
    parse_tree,
    tree_content,
)
from gitops_bot.git.objects import EMPTY_TREE, REGULAR, Repo
from gitops_bot.git.signing import NO_SIGNING, Signing
from gitops_bot.model.errors import GitError

Signer = Callable[[], contextlib.AbstractContextManager[Signing]]


class MergedTree(NamedTuple):
    """The outcome of a tree merge: the tree written, and the paths that conflicted (none: clean)."""

    tree: str
    conflicts: tuple[str, ...] = ()


def identity(author: str) -> dict[str, str]:
    """Author and committer environment for `Name <email>`."""
    name, _, email = author.partition(" <")
    email = email.rstrip(">")
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}


class CommitWriter(Repo):
    """Plumbing that adds objects to the repository: blobs, trees, commits."""

    signer: Signer | None = None  # how commits are signed (commit.sign: ssh|gpg); the session sets it

    def hash_blob(self, data: bytes) -> str:
        """Store `data` as a blob; its id."""
        return self.git.run_bytes("hash-object", "-w", "--stdin", stdin=data).decode().strip()

    def tree_with(self, base: str, files: Mapping[str, bytes]) -> str:
        """The tree of `base` (a commit or tree) with `files` (path -> contents) written over it.

        A file keeps the mode it has in `base` (an executable stays executable); a new one is 100644.
        """
        for path in files:
            if any(part in ("", ".", "..", ".git") for part in path.split("/")):
                raise GitError(f"refusing to write {path}: it leaves the repository")
        if not files:
            return self.tree_of(base)
        built = self._tree_in_memory(base, files)
        if built is not None:
            return built
        unknown = sorted(p for p in files if (base, p) not in self.modes)
        if unknown:  # listed already when the planner read them: else one ls-tree
            self.ls_tree(base, unknown)
        lines = []
        for path, data in sorted(files.items()):
            mode = self.modes.get((base, path), "100644")
            lines.append(f"{mode if mode in REGULAR else '100644'} {self.hash_blob(data)}\t{path}\0")
        with tempfile.TemporaryDirectory(prefix="gitops-bot-index-") as folder:
            index = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
            self.git.run("read-tree", base, extra_env=index)
            if lines:
                self.git.run("update-index", "-z", "--index-info", stdin="".join(lines), extra_env=index)
            # --missing-ok: the blobs of files outside the edit are not in a blob-less store, and
            # checking them would make git fetch every one of them
            return self.git.out_env("write-tree", "--missing-ok", extra_env=index)

    def _tree_in_memory(self, base: str, files: Mapping[str, bytes]) -> str | None:
        """`tree_with` in two steps: the base's trees along the edited paths read in one request
        (the store's `cat-file --batch`), the new blobs and trees stored as loose objects from memory (loose.py). None
        when the edit is one git should build (a file where a folder was, a SHA-256 repository...)."""
        objects = self.git.cwd / "objects"
        if len(base) != 40 or any(c not in "0123456789abcdef" for c in base) or not objects.is_dir() \
                or any("\n" in p or "\r" in p for p in files):
            return None
        folders = folders_of(list(files))
        trees = self._listed_trees(base, folders)
        if trees is None:
            names = [f"{base}^{{tree}}", *(f"{base}:{f}" for f in folders[1:])]
            found = self.objects(names)
            if found[0] is None or found[0][0] != "tree":
                return None
            trees = {}
            for folder, obj in zip(folders, found, strict=True):
                if obj is not None and obj[0] != "tree":
                    return None  # a file where the edit needs a folder
                trees[folder] = None if obj is None else parse_tree(obj[1])
        store = LooseWriter(objects)
        modes = {}
        for path in files:
            parent, _, name = path.rpartition("/")
            entry = (trees.get(parent) or {}).get(name.encode())
            modes[path] = entry[0] if entry is not None and entry[0].decode() in REGULAR else b"100644"
        try:
            return build_tree(trees, {p: store.write("blob", d) for p, d in files.items()}, modes, store)
        except Unsupported:
            return None

    def _listed_trees(self, base: str, folders: Sequence[str]) -> dict[str, Entries | None] | None:
        """The entries of `folders` of `base` rebuilt from the listing the planner read (no process),
        each folder checked against its listed id; None when there is no listing or one differs."""
        files, listed = self.listings.get(base), self.folders.get(base)
        if files is None or listed is None or any(f in files for f in folders):
            return None
        trees: dict[str, Entries | None] = {f: ({} if f == "" or f in listed else None) for f in folders}
        for entry in (*listed.values(), *files.values()):
            parent, _, name = entry.path.rpartition("/")
            found = trees.get(parent)
            if found is not None:
                if "\ufffd" in name:  # a name that is not UTF-8 was decoded with losses: ask git
                    return None
                found[name.encode()] = (entry.mode.lstrip("0").encode(), bytes.fromhex(entry.sha))
        for folder, entries in trees.items():
            if folder and entries is not None and object_id("tree", tree_content(entries)) != listed[folder].sha:
                return None
        return trees

    def commit_tree(self, tree: str, parents: Sequence[str], message: str, author: str, *,
                    sign: bool = True) -> str:
        """A commit of `tree` on `parents` with `message` verbatim, by `author` (signed as configured)."""
        parent_args = [arg for p in parents for arg in ("-p", p)]
        with self.signer() if self.signer and sign else contextlib.nullcontext(NO_SIGNING) as signing:
            return self.git.run(*signing.args, "commit-tree", *(["-S"] if signing.args else []), tree,
                                *parent_args, "-F", "-", stdin=message,
                                extra_env={**identity(author), **signing.env}).stdout.strip()

    def commit_files(self, base: str, files: Mapping[str, bytes], message: str, author: str) -> str:
        """A commit on `base` whose tree is base's with `files` written: the edit of a whole run."""
        return self.commit_tree(self.tree_with(base, files), [base], message, author)

    def revert_tree(self, commit: str, onto: str, author: str) -> MergedTree:
        """The tree of `onto` with the change `commit` made (against its first parent) undone.

        A three-way merge whose base is `commit` and whose other side is its parent's tree: the
        other side is a temporary commit of that tree on top of `commit`, so that the merge base
        git finds is `commit` itself (it is an ancestor of `onto`).
        """
        parents = self.parents(commit)
        undo = self.tree_of(parents[0]) if parents else EMPTY_TREE
        other = self.commit_tree(undo, [commit], "revert\n", author, sign=False)
        result = self.git.run("merge-tree", "--write-tree", "--name-only", "--no-messages", onto, other,
                              check=False)
        if result.returncode not in (0, 1):
            raise self.git.error(result)
        tree, *conflicted = result.stdout.splitlines()
        return MergedTree(tree, tuple(dict.fromkeys(c for c in conflicted if c)))
