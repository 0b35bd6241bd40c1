"""Git objects built in memory and stored as loose objects: the blobs and trees of one edit.

git stores an object as the zlib stream of `TYPE SIZE\\0CONTENT` in objects/XX/REST, where XXREST is
the SHA-1 of that uncompressed text. A tree's content is its entries, each `MODE NAME\\0` and the
entry's 20-byte id, sorted by name as if each folder's name ended in `/` (git's order: `a.b` comes
before the folder `a`, which comes before `a0`). Writing these directly replaces `hash-object`,
`read-tree`, `update-index` and `write-tree`: one process fewer per step (docs/startup.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TREE_MODE = b"40000"

# raw tree entries: name -> (mode, 20-byte id)
Entries = dict[bytes, tuple[bytes, bytes]]


class Unsupported(Exception):
    """An edit this module does not build (a file where a folder is, or the other way round)."""


def parse_tree(data: bytes) -> Entries:
    """The entries of a tree object's content."""
    entries: Entries = {}
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        entries[data[space + 1 : nul]] = (data[pos:space], data[nul + 1 : nul + 21])
        pos = nul + 21
    return entries


def tree_content(entries: Entries) -> bytes:
    """A tree object's content: the entries in git's order."""
    def key(name: bytes) -> bytes:
        return name + b"/" if entries[name][0] == TREE_MODE else name

    return b"".join(entries[n][0] + b" " + n + b"\0" + entries[n][1] for n in sorted(entries, key=key))


def object_id(kind: str, data: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class LooseWriter:
    """Stores objects in an object directory (objects/ of a repository)."""

    objects: Path

    def write(self, kind: str, data: bytes) -> str:
        """Store an object (nothing is written when it is there already); its id."""
        raw = f"{kind} {len(data)}\0".encode() + data
        oid = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
        folder = self.objects / oid[:2]
        target = folder / oid[2:]
        if target.exists():
            return oid
        folder.mkdir(exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix="tmp_obj_", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(zlib.compress(raw, 1))
            os.chmod(temp, 0o444)
            os.replace(temp, target)  # same id, same bytes: a concurrent writer's copy is as good
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        return oid


def folders_of(paths: Mapping[str, bytes] | list[str]) -> list[str]:
    """Every folder the paths lie in, the root ("") first, parents before their children."""
    found = {""}
    for path in paths:
        parts = path.split("/")[:-1]
        found.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(found, key=lambda f: (f.count("/") + bool(f), f))


def build_tree(trees: Mapping[str, Entries | None], files: Mapping[str, str], modes: Mapping[str, bytes],
               store: LooseWriter, folder: str = "") -> str:
    """The id of `folder`'s tree with the blobs `files` (path -> blob id) written in it, new trees stored.

    `trees` holds the base's entries of each folder along the paths (None: the base has no such
    folder); `modes` the mode for each file (kept from the base, else 100644).
    """
    entries = dict(trees.get(folder) or {})
    prefix = f"{folder}/" if folder else ""
    children: dict[bytes, bool] = {}  # name -> is a folder
    for path in files:
        if not path.startswith(prefix):
            continue
        first, sep, _rest = path[len(prefix):].partition("/")
        children[first.encode()] = children.get(first.encode(), False) or bool(sep)
    for name, is_folder in children.items():
        path = prefix + name.decode()
        present = entries.get(name)
        if is_folder:
            if path in files or (present is not None and present[0] != TREE_MODE):
                raise Unsupported(path)
            entries[name] = (TREE_MODE, bytes.fromhex(build_tree(trees, files, modes, store, path)))
        else:
            if present is not None and present[0] == TREE_MODE:
                raise Unsupported(path)
            entries[name] = (modes[path], bytes.fromhex(files[path]))
    return store.write("tree", tree_content(entries))
