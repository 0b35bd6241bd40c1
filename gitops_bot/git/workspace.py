"""A minimal clone of the GitOps repository: a bare, shallow, blob-less object store (docs/commands.md).

There is no work tree: files are read from objects and edits are written as objects (plumbing.py).
With `--workdir DIR` the store lives in DIR/.git and is fetched into by later runs, never cloned again.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from pathlib import Path, PurePosixPath

from gitops_bot.git.config import config_text
from gitops_bot.git.locks import clear_stale_locks
from gitops_bot.git.objects import LINK, REGULAR, plain_path
from gitops_bot.git.plumbing import CommitWriter
from gitops_bot.git.runner import Git, GitResult, Timeouts
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.errors import PushRejected, UsageError
from gitops_bot.model.filenames import is_manifest_file
from gitops_bot.model.slug import is_slug
from gitops_bot.model.timebudget import TimeBudget
from gitops_bot.model.tree import RepoFile

log = logging.getLogger("gitops_bot.workspace")

# Push failures that mean "someone else pushed first": fetch, re-plan and try again.
_RACE = re.compile(r"non-fast-forward|fetch first|stale info|cannot lock ref|failed to update ref|"
                   r"incorrect old value|reference already exists|unable to update local ref|"
                   r"shallow update not allowed")  # the base was force-pushed away under our shallow clone
# ... unless a hook or branch protection said no: that is a refusal, never retried.
_REFUSED = re.compile(r"hook declined|protected branch|rule violation|declined", re.IGNORECASE)
_PROGRESS = re.compile(r"(Enumerating|Counting|Compressing|Writing|Total|Resolving)\b")


WORKDIR_MARKER = "gitops-bot.workdir"  # set in clones the bot makes; only those are reused


class PushOutcome(Enum):
    PUSHED = "pushed"
    RACE = "race"


def remote_url(repository: str, server_url: str | None = None) -> str:
    """Clone URL for `owner/name`, a git URL, or a local path."""
    if "://" in repository or repository.startswith("git@"):
        return repository
    local = Path(repository).expanduser()
    if local.exists():
        return local.resolve().as_uri()
    if is_slug(repository):
        server = (server_url or "https://github.com").rstrip("/")  # the run context's GITHUB_SERVER_URL
        return f"{server}/{repository.removesuffix('.git')}.git"
    raise UsageError(f"repository {repository!r} is neither OWNER/NAME, a git URL nor an existing path")


class Workspace(CommitWriter):
    """A clone of the GitOps repository: fetch from and push to its remote, read and write objects."""

    def __init__(self, root: Path, url: str, credentials: Credentials, progress: bool, owned: bool,
                 budget: TimeBudget | None = None, timeouts: Timeouts | None = None, fold: bool = False):
        super().__init__(Git(root / ".git", credentials, url, progress, budget, timeouts or Timeouts(), fold))
        self.root = root
        self.url = url
        self.owned = owned
        # A store this run made has no blob but those it fetched itself: no need to ask git which
        # are missing (None: a reused store, where git is asked)
        self.fetched_blobs: set[str] | None = None
        self._read: dict[str, bytes] = {}  # blobs a plan read (by id: immutable): a re-plan reads only new ones
        self._warned: set[tuple[str, str]] = set()  # symbolic links skipped, and why

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(
        cls, url: str, credentials: Credentials, *, workdir: Path | None, progress: bool,
        budget: TimeBudget | None = None, timeouts: Timeouts | None = None, fold: bool = False,
    ) -> Workspace:
        """A new, empty object store (or the reused one in `workdir`); nothing is fetched yet.

        A reused store is only fetched into, never cloned afresh. A `workdir` that exists, is not
        empty and holds no store made by gitops-bot is refused rather than cleaned.
        """
        credentials.check()
        if workdir is not None and (workdir / ".git").is_dir():
            ws = cls(workdir, url, credentials, progress, owned=False, budget=budget, timeouts=timeouts, fold=fold)
            current = ws.settings(WORKDIR_MARKER, "remote.origin.url")
            if current.get(WORKDIR_MARKER) != "true":  # someone's own checkout: never touch it
                raise UsageError(f"--workdir {workdir}: a git checkout that gitops-bot did not make; "
                                 f"give an empty or a new directory")
            log.info("reusing the clone in %s", workdir)
            clear_stale_locks(workdir / ".git")
            if current.get("remote.origin.url") != url:
                ws.git.run("remote", "set-url", "--", "origin", url)
            return ws
        if workdir is not None:
            if workdir.exists() and any(workdir.iterdir()):
                raise UsageError(f"--workdir {workdir}: not empty and not a clone made by gitops-bot; "
                                 f"give an empty or a new directory")
            workdir.mkdir(parents=True, exist_ok=True)
            root, owned = workdir, False
        else:
            root, owned = Path(tempfile.mkdtemp(prefix="gitops-bot-")), True
        ws = cls(root, url, credentials, progress, owned, budget, timeouts, fold)
        try:
            (root / ".git").mkdir()
            ws.git.run("init", "--bare", "--quiet", "--template=")  # no sample hooks to copy
            ws.fetched_blobs = set()
            # the store's settings in one write, not one `git config` process each (docs/startup.md)
            settings = [("remote.origin.url", url), ("remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*"),
                        ("remote.origin.promisor", "true"), ("remote.origin.partialclonefilter", "blob:none"),
                        ("maintenance.auto", "false"), ("gc.auto", "0"), (WORKDIR_MARKER, "true")]
            if owned:  # removed when the run ends: flushing its packs to disk (2 per fetch) buys nothing
                settings.append(("core.fsync", "none"))
            with (root / ".git" / "config").open("a", encoding="utf-8") as config:
                config.write(config_text(settings))
        except BaseException:
            if owned:
                ws.close()
            else:  # leave the new workdir as it was given: empty
                shutil.rmtree(root / ".git", ignore_errors=True)
            raise
        return ws

    def settings(self, *keys: str) -> dict[str, str]:
        """The values of these git settings that are set (the last one of each), in one `git config`."""
        pattern = "^(" + "|".join(re.escape(k.lower()) for k in keys) + ")$"
        out = self.git.run("config", "-z", "--get-regexp", pattern, check=False).stdout
        found: dict[str, str] = {}
        for item in filter(None, out.split("\0")):
            key, _, value = item.partition("\n")
            found[next((k for k in keys if k.lower() == key), key)] = value
        return found

    def close(self) -> None:
        super().close()  # the store's cat-file first: then nothing has its files open
        if self.owned:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- fetching --------------------------------------------------------------------------------
    def _fetch(self, refspec: str, depth: int | None, *more: str, blobs: str = "none") -> GitResult:
        """Fetch `refspec` (and `more`) shallow and blob-less (`blobs`: "none", or "limit=SIZE"). A server
        without filter support sends the blobs (git warns and goes on); one without shallow support
        (dumb HTTP) is fetched in full."""
        args = ["fetch", "--progress" if self.git.progress else "--quiet", "--no-tags", f"--filter=blob:{blobs}"]
        result = self.git.run(*args, *([f"--depth={depth}"] if depth else []), "--", "origin", refspec, *more,
                              network=True, check=False)
        if result.returncode != 0 and depth and "does not support shallow" in result.stderr:
            log.info("the server does not support shallow fetches; fetching the whole history")
            result = self.git.run(*args, "--", "origin", refspec, *more, network=True, check=False)
        return result

    def fetch(self, branch: str, depth: int | None = 1, *, with_new_blobs: bool = False) -> str:
        """Fetch the tip of `branch` into refs/remotes/origin/BRANCH; return its commit.

        `with_new_blobs` (a push that lost a race fetches the new head): the server leaves out what
        the commit already here reaches, so the same request brings the files the winners changed
        (those under 1 MiB) instead of a second fetch for them; they are counted as fetched. One
        that was not sent (larger) is fetched by git when it is read. What was listed at the old
        head is listed at the new one from the same diff (`carry`): the re-plan runs no `ls-tree`.
        """
        ref = f"refs/remotes/origin/{branch}"
        before = self._ref(ref) if with_new_blobs else None
        result = self._fetch(f"+refs/heads/{branch}:{ref}", depth, blobs="limit=1m" if with_new_blobs else "none")
        if result.returncode != 0:
            if "couldn't find remote ref" in result.stderr:
                raise self.git.error(result, f"branch {branch!r} does not exist in "
                                             f"{self.git.credentials.redact(self.url)}")
            raise self.git.error(result)
        head = self._ref(ref)
        if before is not None and before != head:
            changes = self.diff_tree(before, head)
            self.carry(before, head, changes)  # the re-plan's listing of the environment
            if self.fetched_blobs is not None:
                self.fetched_blobs.update(c.new for c in changes if c.new_mode in REGULAR)
        return head

    def _ref(self, *refs: str) -> str:
        """The commits of refs just fetched: read from their files (fetch writes them loose), else
        from `rev-parse` (packed refs, a symbolic ref, another ref storage)."""
        found = []
        for ref in refs:
            try:
                text = (self.root / ".git" / ref).read_text(encoding="ascii").strip()
            except (OSError, UnicodeDecodeError):
                return self.rev_parse(*refs)
            if len(text) != 40 or any(c not in "0123456789abcdef" for c in text):
                return self.rev_parse(*refs)
            found.append(text)
        return "\n".join(found)

    def fetch_default_and(self, branch: str | None) -> tuple[str | None, str | None]:
        """One fetch of the remote's default branch (HEAD) and of `branch`: their commits, None for
        one the remote does not have (a HEAD that names no branch, a missing branch)."""
        specs = {"refs/remotes/origin/HEAD": "+HEAD:refs/remotes/origin/HEAD"}
        if branch:
            specs[f"refs/remotes/origin/{branch}"] = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
        first, *rest = specs.values()
        result = self._fetch(first, 1, *rest)
        if result.returncode != 0 and "couldn't find remote ref" not in result.stderr:
            raise self.git.error(result)
        here: list[str] = []
        for ref, spec in specs.items():
            if result.returncode != 0:  # one of them is missing: fetch each on its own
                alone = self._fetch(spec, 1)
                if alone.returncode != 0:
                    if "couldn't find remote ref" not in alone.stderr:
                        raise self.git.error(alone)
                    continue
            here.append(ref)
        found = dict(zip(here, self._ref(*here).split(), strict=True)) if here else {}
        default = found.get("refs/remotes/origin/HEAD")
        return default, found.get(f"refs/remotes/origin/{branch}") if branch else None

    def remote_head(self, branch: str) -> str | None:
        """The branch's commit on the remote, without fetching objects (None if it does not exist)."""
        out = self.git.out("ls-remote", "--", "origin", f"refs/heads/{branch}", network=True)
        return out.split()[0] if out else None

    def deepen(self, branch: str, commits: int) -> None:
        self.git.run("fetch", "--quiet", "--no-tags", "--filter=blob:none", f"--deepen={commits}",
                     "--", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}", network=True)

    def fetch_commit(self, oid: str) -> None:
        """Make sure commit `oid` (and its trees) is here: fetched by id when it is not."""
        if not self.has_commit(oid):
            self.git.run("fetch", "--quiet", "--no-tags", "--filter=blob:none", "--depth=1", "origin", oid,
                         network=True)

    def is_shallow(self) -> bool:
        return self.git.out("rev-parse", "--is-shallow-repository") == "true"

    def shallow_boundary(self) -> set[str]:
        """The commits whose parents the shallow clone has not fetched (`.git/shallow`)."""
        shallow = self.root / ".git" / "shallow"
        return set(shallow.read_text().split()) if shallow.exists() else set()

    # -- reading ---------------------------------------------------------------------------------
    def read_files(self, commit: str, path: str,
                   wanted_name: Callable[[str], bool] = is_manifest_file) -> list[RepoFile]:
        """The files under `path` at `commit`, read from git objects (missing blobs fetched in one go).

        Symbolic links are followed only to files inside `path`; others are never read.
        """
        entries = {e.path: (e.mode, e.sha) for e in self.ls_tree(commit, [path], recursive=True)}
        wanted: dict[str, str] = {}
        for name, (mode, sha) in sorted(entries.items()):
            if mode == LINK:
                target = self._follow_link(name, sha, path, entries, wanted_name)
                if target is None:
                    continue
                name, sha = target, entries[target][1]
            elif mode not in REGULAR or not wanted_name(name):
                continue
            wanted[name] = sha
        blobs = self._reused(list(wanted.values()), lambda fresh: self.read_blobs(fresh, f"{commit}:{path}"))
        return [RepoFile(name, blobs[sha]) for name, sha in sorted(wanted.items())]

    def read_file(self, commit: str, path: str) -> bytes | None:
        listed = self.listings.get(commit)  # when the commit's files were listed already
        if listed is not None and plain_path(path):
            if path in listed:
                return self.read_blobs([listed[path].sha])[listed[path].sha]
            if not any(name.startswith(f"{path}/") for name in listed):  # a folder: as git reads it
                return None
        if not any(c in path or c in commit for c in "\n\r"):  # looked up and read in one request
            found = self.objects([f"{commit}:{path}"])[0]
            return None if found is None else found[1]
        sha = self.resolve(f"{commit}:{path}")
        return None if sha is None else self.read_blobs([sha])[sha]

    def read_regular(self, commit: str, paths: Iterable[str]) -> tuple[list[RepoFile], list[str]]:
        """The regular files among `paths` at `commit`, read in one batch, and the paths that are
        symbolic links (never followed)."""
        wanted = sorted(set(paths))
        entries = self.ls_tree(commit, wanted) if wanted else []
        blobs = {e.path: e.sha for e in entries if e.mode in REGULAR}
        data = self._reused(list(blobs.values()), self.read_blobs_batched)
        return ([RepoFile(name, data[sha]) for name, sha in sorted(blobs.items())],
                [e.path for e in entries if e.mode == LINK])

    def _reused(self, shas: list[str], read: Callable[[list[str]], dict[str, bytes]]) -> dict[str, bytes]:
        """The contents of blobs, those an earlier plan of this run read taken from memory, the others `read`."""
        known = self._read
        fresh = [sha for sha in dict.fromkeys(shas) if sha not in known]
        if fresh:
            known.update(read(fresh))
        return {sha: known[sha] for sha in shas}

    def _follow_link(self, name: str, sha: str, path: str, entries: Mapping[str, tuple[str, str]],
                     wanted_name: Callable[[str], bool]) -> str | None:
        """The file a symbolic link inside `path` leads to, if it is to be read; else None, with a
        warning that says why when the link could have been a manifest."""
        text = self.read_blobs([sha])[sha].decode("utf-8", "replace")
        resolved = os.path.normpath(str(PurePosixPath(name).parent / text))
        is_folder = any(e.startswith(resolved + "/") for e in entries)
        if not wanted_name(name) and not is_folder:
            return None  # not a manifest by its name, nor a folder that may hold some
        if text.startswith("/") or resolved == ".." or resolved.startswith("../"):
            problem = f"symbolic link to {text} leaves the repository"
        elif not (resolved == path or resolved.startswith(path.rstrip("/") + "/")):
            problem = f"symbolic link to {text} points outside {path}"
        elif is_folder:
            problem = f"symbolic link to the folder {text}: links to folders are not followed"
        elif resolved not in entries:
            problem = f"dangling symbolic link: {text} does not exist"
        elif entries[resolved][0] == LINK:
            problem = f"symbolic link to another link ({text}): not followed"
        else:
            return resolved
        if (name, problem) not in self._warned:  # once a run: the prefetch and each re-plan read it again
            self._warned.add((name, problem))
            log.warning("skipping %s: %s", name, problem)
        return None

    def read_blobs(self, shas: list[str], tree: str | None = None) -> dict[str, bytes]:
        """The contents of blobs. Those of `tree` that the partial clone lacks are fetched in one
        request first; any other missing blob is fetched by git on demand, one at a time."""
        if not shas:
            return {}
        if not tree:
            missing = []
        elif self.fetched_blobs is not None:  # a store of this run: only what it fetched is here
            missing = sorted(set(shas) - self.fetched_blobs)
        else:
            missing = sorted(self.missing_in(tree) & set(shas))
        if missing:
            guessed = tree is not None and self.fetched_blobs is not None
            result = self._fetch_blobs(missing, check=not guessed)
            if result.returncode != 0:  # the blobs may be here after all (a server that sent them all)
                missing = sorted(self.missing_in(tree) & set(shas)) if tree else []
                if missing:
                    self._fetch_blobs(missing, check=True)
            if self.fetched_blobs is not None:
                self.fetched_blobs.update(missing)
        return self.cat(shas)

    def read_blobs_batched(self, shas: list[str]) -> dict[str, bytes]:
        """The contents of blobs that the partial clone may lack: those it lacks fetched in one
        request (rather than one promisor round-trip each), then all read in one `cat-file --batch`."""
        if not shas:
            return {}
        # a store of this run holds only what it fetched; of a reused one git cannot say cheaply
        missing = sorted(set(shas) - self.fetched_blobs) if self.fetched_blobs is not None else sorted(set(shas))
        if missing:
            result = self._fetch_blobs(missing, check=False)
            if result.returncode != 0:  # a server that refuses wants by id: git fetches each on demand
                log.info("batched blob fetch refused (%s); reading blobs one by one", result.stderr.strip()[:200])
            elif self.fetched_blobs is not None:
                self.fetched_blobs.update(missing)
        return self.cat(shas)

    def _fetch_blobs(self, shas: list[str], *, check: bool) -> GitResult:
        """One request for these blobs. Their ids go on stdin, never argv: an environment of 100,000
        files would pass the kernel's limit on the size of a command line."""
        return self.git.run("-c", "fetch.negotiationAlgorithm=noop", "fetch", "--quiet", "--no-tags",
                            "--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none",
                            "--stdin", "origin", stdin="\n".join(sorted(set(shas))) + "\n",
                            network=True, check=check)

    # -- writing ---------------------------------------------------------------------------------
    def push(self, branch: str, *, source: str, lease: str | None = None) -> PushOutcome:
        """Push commit `source` to `branch`. A lost race returns RACE; any other refusal raises PushRejected."""
        args = ["push", "--porcelain", "--", "origin", f"{source}:refs/heads/{branch}"]
        if lease is not None:
            args.insert(2, f"--force-with-lease=refs/heads/{branch}:{lease}")
        if self.git.progress:
            args.insert(1, "--progress")
        result = self.git.run(*args, network=True, check=False)
        if result.returncode == 0:
            return PushOutcome.PUSHED
        text = f"{result.stdout}\n{result.stderr}"
        flags = [ln.split("\t")[-1] for ln in result.stdout.splitlines() if ln.startswith("!\t")]
        verdict = " ".join(flags) if flags else text  # our ref's status, when the server gave one
        if _RACE.search(verdict) and not _REFUSED.search(verdict):
            log.info("push to %s lost a race: %s", branch, _rejection(text))
            return PushOutcome.RACE
        if not flags:  # never reached the ref update: network, authentication, timeout
            raise self.git.error(result)
        raise PushRejected(f"push to {branch!r} was refused: {_rejection(text)}")


def _rejection(text: str) -> str:
    remote = [ln.removeprefix("remote:").strip() for ln in text.splitlines() if ln.startswith("remote:")]
    remote = [ln for ln in remote if ln and not _PROGRESS.match(ln)]
    flags = [ln.split("\t")[-1] for ln in text.splitlines() if ln.startswith("!\t")]
    errors = [ln.strip() for ln in text.splitlines() if ln.startswith(("error:", "fatal:"))]
    parts = remote + flags or errors[:1]
    return "; ".join(parts) or "unknown reason"
