"""Deploy history of an environment: commits that changed an image reference (docs/commands.md, docs/output.md).

Works from the shallow clone, deepened only as far as the answer needs (never a full clone).
Trailers are read where present; a hand-made commit is diffed, file by file: one `git log --raw`
names the files each commit changed with their blob ids, the blobs of a batch of commits are fetched
in one request, and each (file, blob) is parsed at most once per run. See docs/reading-yaml.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gitops_bot.config.settings import Environment
from gitops_bot.delivery.message import ENV_TRAILER, ROLLBACK_TRAILER, ImageMove, image_moves, moves, trailer
from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.git.objects import RawChange
from gitops_bot.manifests.scan import ImageRef, Manifest, find_refs
from gitops_bot.manifests.valuesfiles import ValuesUse, as_values
from gitops_bot.model.commits import is_commit_sha
from gitops_bot.model.errors import ManifestError, UsageError
from gitops_bot.model.filenames import is_manifest_file
from gitops_bot.planning.states import diff_refs
from gitops_bot.planning.valuesenv import uses_at

log = logging.getLogger("gitops_bot.history")
_FIELDS = ("%H", "%cI", "%an <%ae>", "%P", "%B")
_FIRST_DEEPEN, _MAX_DEEPEN = 50, 20000
_PER_DEPLOY = 64  # first guess of the commits one deploy takes, capped at _FIRST_GUESS
_FIRST_GUESS = 256  # a deepening costs about the same up to a few hundred commits
_BATCH = 32  # hand-made commits whose blobs are fetched together (doubling up to _MAX_BATCH)
_MAX_BATCH = 512
_NO_BLOB = "0" * 40


@dataclass(frozen=True)
class FileChange:
    """One file a commit changed (against its first parent), by blob id (None: absent)."""

    path: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str
    author: str
    parents: tuple[str, ...]
    message: str
    files: tuple[FileChange, ...] = ()

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class Deploy:
    commit: Commit
    changes: tuple[ImageMove, ...]

    def to_json(self) -> dict[str, Any]:
        c = self.commit
        return {"commit": c.sha, "date": c.date, "author": c.author, "subject": c.subject,
                "changes": [{"image": m.image, "from": m.old, "to": m.new} for m in self.changes]}


class History:
    """Reads one environment's branch history, deepening the shallow clone on demand."""

    def __init__(self, session: Session, env: Environment, head: str):
        self.session = session
        self.env = env
        self.head = head
        self._file_refs: dict[tuple[str, str], list[ImageRef] | ManifestError] = {}  # (path, blob)
        self._moves: dict[str, tuple[ImageMove, ...]] = {}  # commit -> its image moves
        self._unreadable: set[str] = set()  # commits already warned about
        self._fetched = 0  # commits of history fetched beyond the tip
        self._values: dict[str, ValuesUse] | None = None  # the values files at the head, by path

    # -- depth ---------------------------------------------------------------------------------
    def deepen(self, wanted: int | None = None) -> bool:
        """Fetch more history (about `wanted` commits); False when the whole history is here."""
        ws = self.session.ws
        if not ws.is_shallow():
            return False
        # as many as the caller estimates it needs, else double what is here
        step = min(max(wanted or self._fetched, _FIRST_DEEPEN), _MAX_DEEPEN)
        self._fetched += step
        log.info("deepening %s by %d commits", self.env.branch, step)
        ws.deepen(self.env.branch, step)
        return True

    def _boundary(self) -> set[str]:
        return self.session.ws.shallow_boundary()

    def resolve(self, revs: Iterable[str]) -> list[str]:
        """Full SHAs of `revs`, each an ancestor of the branch head, newest first (exit 2 if not).

        Their parents are fetched too: a shallow boundary commit would look like a root commit.
        """
        ws = self.session.ws
        pending = list(dict.fromkeys(revs))
        for rev in pending:
            if not is_commit_sha(rev):
                raise UsageError(f"{rev!r} is not a commit SHA (4 to 40 hex digits)")
        while True:
            found: dict[str, str] = {}
            boundary = self._boundary()  # commits whose parents are not fetched yet
            for rev in pending:
                sha = ws.resolve(f"{rev}^{{commit}}")
                if sha is not None and ws.is_ancestor(sha, self.head):
                    found[rev] = sha
            complete = len(found) == len(pending) and not boundary & set(found.values())
            if complete or not self.deepen():
                break
        missing = [r for r in pending if r not in found]
        if missing:
            raise UsageError(f"commit {missing[0]} is not on branch {self.env.branch!r} of {self.env.name}")
        order = {sha: i for i, sha in enumerate(ws.rev_list(self.head))}
        return sorted(dict.fromkeys(found.values()), key=lambda s: order.get(s, 0))

    # -- reading -------------------------------------------------------------------------------
    def values(self) -> dict[str, ValuesUse]:
        """The environment's Helm values files (as the head names them), read as values."""
        if self._values is None:
            try:
                files = self.session.files(self.env, self.head)
            except UsageError:  # the path does not exist at the head: it names no values file
                files = []
            self._values = dict(uses_at(self.session.ws, self.env, self.head, files))
        return self._values

    def pathspecs(self) -> list[str]:
        """What the environment's deploys change: its path and its values files."""
        return [self.env.path, *sorted(set(self.values()) - {self.env.path}),
                *(f":(glob){pattern}" for pattern in self.env.values_files)]

    def refs_like(self, commit: str, base: str, base_refs: list[ImageRef]) -> list[ImageRef]:
        """The references at `commit`, from those at `base`: only the files that differ between the
        two are read (and parsed) at `commit`."""
        changed = _file_changes(self.session.ws.diff_tree(base, commit, self.pathspecs()))
        self._read([c.new for c in changed if c.new])
        paths = {c.path for c in changed}
        refs = [r for r in base_refs if r.file not in paths]
        for change in changed:
            if change.new:
                found = self._parse(change.path, change.new)
                if isinstance(found, ManifestError):
                    raise found
                refs += found
        return refs

    def _commits(self) -> Iterator[Commit]:
        for entry in self.session.ws.log_raw(self.head, self.pathspecs(), _FIELDS):
            sha, date, author, parents, message = entry.fields
            yield Commit(sha, date, author, tuple(parents.split()), message.strip() + "\n",
                         tuple(_file_changes(entry.changes)))

    def _read(self, blobs: list[str]) -> dict[str, bytes]:
        """Blobs not parsed yet, fetched in one request."""
        return self.session.ws.read_blobs_batched(sorted(set(blobs))) if blobs else {}

    def _parse(self, path: str, blob: str, data: bytes | None = None) -> list[ImageRef] | ManifestError:
        key = (path, blob)
        if key not in self._file_refs:
            if data is None:
                data = self._read([blob])[blob]
            try:
                manifest = Manifest.parse(path, data)
                use = self.values().get(path)
                self._file_refs[key] = find_refs(as_values(manifest, use) if use else manifest)
            except ManifestError as err:
                self._file_refs[key] = err
        return self._file_refs[key]

    def _prefetch(self, commits: list[Commit]) -> None:
        """Parse, in one batch, the blobs these hand-made commits need."""
        wanted = {(f.path, blob) for c in commits if c.sha not in self._moves
                  for f in c.files for blob in (f.old, f.new) if blob}
        wanted -= self._file_refs.keys()
        if not wanted:
            return
        data = self._read([blob for _path, blob in wanted])
        for path, blob in wanted:
            self._parse(path, blob, data[blob])

    def changes_of(self, commit: Commit) -> tuple[ImageMove, ...]:
        """The image moves of a commit (trailers, else its file diffs); computed once per run."""
        if commit.sha in self._moves:
            return self._moves[commit.sha]
        env_trailer = trailer(commit.message, ENV_TRAILER)
        if env_trailer is not None:
            found = tuple(image_moves(commit.message)) if env_trailer == self.env.name else ()
        elif not commit.parents:
            found = ()
        else:
            found = self._diff(commit)
        self._moves[commit.sha] = found
        return found

    def _diff(self, commit: Commit) -> tuple[ImageMove, ...]:
        before: list[ImageRef] = []
        after: list[ImageRef] = []
        for change in commit.files:
            for blob, into in ((change.old, before), (change.new, after)):
                if not blob:
                    continue
                found = self._parse(change.path, blob)
                if isinstance(found, ManifestError):
                    if commit.sha not in self._unreadable:
                        self._unreadable.add(commit.sha)
                        log.warning("history: %s unreadable: %s", commit.sha[:12], found)
                    return ()
                into.extend(found)
        return tuple(moves(diff_refs(before, after)))

    def deploys(self, limit: int | None, rollbacks: bool = True) -> list[Deploy]:
        """Newest first, at most `limit` (all when None); without rollback commits if not `rollbacks`."""
        while True:
            boundary = self._boundary()
            out: list[Deploy] = []
            commits = list(self._commits())
            batch, prefetched = _BATCH, 0
            for i, commit in enumerate(commits):
                if commit.sha in boundary:
                    break  # its parent is not here yet
                if not rollbacks and trailer(commit.message, ROLLBACK_TRAILER) is not None:
                    continue
                if i >= prefetched and commit.sha not in self._moves:
                    self._prefetch([c for c in commits[i : i + batch] if c.sha not in boundary])
                    prefetched, batch = i + batch, min(batch * 2, _MAX_BATCH)
                found = self.changes_of(commit)
                if found:
                    out.append(Deploy(commit, found))
                    if limit is not None and len(out) >= limit:
                        return out
            wanted = None
            if limit is not None and out:  # at the rate deploys were found so far, with a margin
                wanted = (self._fetched + 1) * (limit - len(out)) * 5 // (len(out) * 4) + 1
            elif limit is not None and not self._fetched:
                wanted = min(limit * _PER_DEPLOY, _FIRST_GUESS)
            if not self.deepen(wanted):
                return out


def _file_changes(changes: Iterable[RawChange]) -> list[FileChange]:
    """The changes of regular YAML files, by blob id (None: absent or not a regular file)."""
    out = []
    for c in changes:
        if not is_manifest_file(c.path):
            continue
        regular = ("100644", "100755")
        out.append(FileChange(c.path, c.old if c.old != _NO_BLOB and c.old_mode in regular else None,
                              c.new if c.new != _NO_BLOB and c.new_mode in regular else None))
    return out


def history(session: Session, env_name: str, limit: int) -> tuple[Environment, list[Deploy]]:
    """`history`: the environment and its last `limit` deploys, newest first."""
    env, head = session.environment(EnvRequest(env_name))
    return env, History(session, env, head).deploys(limit)
