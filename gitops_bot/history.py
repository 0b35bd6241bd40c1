"""Deploy history of an environment: commits that changed an image reference (CONTRACT §5, §8).

Works from the shallow clone: history is deepened step by step as far as a question needs, never
by a full clone. Trailers are read where present; hand-made commits are diffed instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gitops_bot.config import Environment
from gitops_bot.errors import ManifestError, UsageError
from gitops_bot.manifests import ImageRef
from gitops_bot.message import ENV_TRAILER, ROLLBACK_TRAILER, ImageMove, image_moves, moves, trailer
from gitops_bot.plan import environment_refs
from gitops_bot.session import Session
from gitops_bot.states import diff_refs

log = logging.getLogger("gitops_bot.history")
_FIELDS = "%H%x1f%cI%x1f%an <%ae>%x1f%P%x1f%B%x1e"
_DEEPEN_STEPS = (50, 200, 1000, 5000, 20000)
_SHA_RE = re.compile(r"[0-9a-fA-F]{4,40}")


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str
    author: str
    parents: tuple[str, ...]
    message: str

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
        self._refs: dict[str, list[ImageRef]] = {}
        self._step = 0

    # -- depth ---------------------------------------------------------------------------------
    def deepen(self) -> bool:
        """Fetch more history; False when the whole history is already here."""
        ws = self.session.ws
        if not ws.is_shallow():
            return False
        step = _DEEPEN_STEPS[min(self._step, len(_DEEPEN_STEPS) - 1)]
        self._step += 1
        log.info("deepening %s by %d commits", self.env.branch, step)
        ws.deepen(self.env.branch, step)
        return True

    def _boundary(self) -> set[str]:
        shallow = self.session.ws.root / ".git" / "shallow"
        return set(shallow.read_text().split()) if shallow.exists() else set()

    def resolve(self, revs: Iterable[str]) -> list[str]:
        """Full SHAs of `revs`, each an ancestor of the branch head, newest first (exit 2 if not).

        Their parents are fetched too: a shallow boundary commit would look like a root commit.
        """
        git = self.session.ws.git
        pending = list(dict.fromkeys(revs))
        for rev in pending:
            if not _SHA_RE.fullmatch(rev):
                raise UsageError(f"{rev!r} is not a commit SHA (4 to 40 hex digits)")
        while True:
            found: dict[str, str] = {}
            boundary = self._boundary()  # commits whose parents are not fetched yet
            for rev in pending:
                res = git.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
                sha = res.stdout.strip()
                if res.returncode == 0 and git.run("merge-base", "--is-ancestor", sha, self.head,
                                                   check=False).returncode == 0:
                    found[rev] = sha
            complete = len(found) == len(pending) and not boundary & set(found.values())
            if complete or not self.deepen():
                break
        missing = [r for r in pending if r not in found]
        if missing:
            raise UsageError(f"commit {missing[0]} is not on branch {self.env.branch!r} of {self.env.name}")
        order = {sha: i for i, sha in enumerate(git.out("rev-list", self.head).split())}
        return sorted(dict.fromkeys(found.values()), key=lambda s: order.get(s, 0))

    # -- reading -------------------------------------------------------------------------------
    def refs_at(self, commit: str) -> list[ImageRef]:
        tree = self.session.ws.git.run("rev-parse", "--verify", "--quiet", f"{commit}:{self.env.path}",
                                       check=False).stdout.strip() or "none"
        if tree not in self._refs:
            manifests = self.session.manifests(self.env, commit) if tree != "none" else []
            self._refs[tree] = environment_refs(manifests)
        return self._refs[tree]

    def _commits(self) -> Iterator[Commit]:
        out = self.session.ws.git.out("log", "--first-parent", f"--format={_FIELDS}", self.head,
                                      "--", self.env.path)
        for record in filter(None, (r.strip("\n") for r in out.split("\x1e"))):
            sha, date, author, parents, message = record.split("\x1f", 4)
            yield Commit(sha, date, author, tuple(parents.split()), message.strip() + "\n")

    def changes_of(self, commit: Commit) -> tuple[ImageMove, ...]:
        env_trailer = trailer(commit.message, ENV_TRAILER)
        if env_trailer is not None:
            return tuple(image_moves(commit.message)) if env_trailer == self.env.name else ()
        if not commit.parents:
            return ()
        try:
            changes = diff_refs(self.refs_at(commit.parents[0]), self.refs_at(commit.sha))
        except ManifestError as err:
            log.warning("history: %s unreadable: %s", commit.sha[:12], err)
            return ()
        return tuple(moves(changes))

    def deploys(self, limit: int | None, rollbacks: bool = True) -> list[Deploy]:
        """Newest first, at most `limit` (all when None); without rollback commits if not `rollbacks`."""
        while True:
            boundary = self._boundary()
            out: list[Deploy] = []
            for commit in self._commits():
                if commit.sha in boundary:
                    break  # its parent is not here yet
                if not rollbacks and trailer(commit.message, ROLLBACK_TRAILER) is not None:
                    continue
                moves = self.changes_of(commit)
                if moves:
                    out.append(Deploy(commit, moves))
                    if limit is not None and len(out) >= limit:
                        return out
            if not self.deepen():
                return out
