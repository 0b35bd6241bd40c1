"""Stale git lock files in a reused `--workdir` (docs/trust-model.md, "Faults").

A git process that is killed (`kill -9`, a cancelled job, a full disk) leaves its `*.lock` file
behind, and every later git command in that clone then fails. Before a reused clone is touched, each
lock file is checked: one that a running process still holds open is a live run (refused, naming
the file); any other is stale and removed.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from gitops_bot.model.errors import GitError

log = logging.getLogger("gitops_bot.workspace")

_LOCKS = ("index.lock", "shallow.lock", "HEAD.lock", "config.lock", "packed-refs.lock", "FETCH_HEAD.lock")
STALE_AFTER = 900.0  # seconds; where open files cannot be listed (no /proc), an older lock is stale


def lock_files(git_dir: Path) -> list[Path]:
    found = [git_dir / name for name in _LOCKS if (git_dir / name).is_file()]
    refs = git_dir / "refs"
    if refs.is_dir():
        found += sorted(p for p in refs.rglob("*.lock") if p.is_file())
    return found


def holders(paths: list[Path]) -> dict[Path, int]:
    """The processes (pid) that hold each of `paths` open, as far as /proc tells."""
    wanted = {os.path.realpath(p): p for p in paths}
    held: dict[Path, int] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # gone, or not ours to look at
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target in wanted:
                held.setdefault(wanted[target], int(pid))
    return held


def clear_stale_locks(git_dir: Path) -> None:
    """Remove the lock files no process holds; refuse (GitError, naming the file) one that is held."""
    locks = lock_files(git_dir)
    if not locks:
        return
    if os.path.isdir("/proc/self/fd"):
        held = holders(locks)
    else:
        now = time.time()
        held = {p: 0 for p in locks if now - p.stat().st_mtime < STALE_AFTER}
    for lock in locks:
        if lock in held:
            who = f"process {held[lock]}" if held[lock] else f"a process (less than {STALE_AFTER:g} s old)"
            raise GitError(f"{lock} is held by {who}: another git command is using this --workdir; "
                           f"wait for it to finish or give another --workdir")
        log.warning("removing %s: a stale lock left by an interrupted git command (no process holds it)", lock)
        lock.unlink(missing_ok=True)
