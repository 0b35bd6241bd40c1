"""Every git command goes through `Git.run`: one place for the environment, redaction and errors.

Object reads go through one long-lived `cat-file --batch` per store (catfile.py), which uses this
module's environment, errors and process handling."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple
from urllib.parse import urlsplit

from gitops_bot.github.credentials import SECRET_VARS, Credentials
from gitops_bot.model.errors import GitError
from gitops_bot.model.timebudget import TimeBudget

log = logging.getLogger("gitops_bot.git")


# Variables that point git at some other repository (set when we run inside a git hook, say).
# The bot always works in its own clone, so they are dropped, like `git rev-parse --local-env-vars`.
_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
             "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH", "GIT_IMPLICIT_WORK_TREE",
             "GIT_GRAFT_FILE", "GIT_SHALLOW_FILE", "GIT_NAMESPACE", "GIT_PREFIX",
             "GIT_INTERNAL_SUPER_PREFIX", "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE")

# Why a command that talks to the remote failed, in the order they are tried.
_TIMEOUT = re.compile(r"timed? ?out|Operation too slow", re.IGNORECASE)
_AUTH = re.compile(
    r"Authentication failed|could not read (Username|Password)|terminal prompts disabled|"
    r"Access denied|returned error: 40[13]|Permission denied \(|Invalid username or password|"
    r"Write access to repository not granted|Permission to \S+ denied", re.IGNORECASE)
_UNREACHABLE = re.compile(
    r"does not appear to be a git repository|Could not resolve host|Failed to connect|"
    r"Connection refused|Could not read from remote repository|unable to access|not found|"
    r"No such file or directory|Network is unreachable|Connection reset", re.IGNORECASE)
_NETWORK = ("fetch", "push", "ls-remote", "clone", "pull")
_LOCKED = re.compile(r"Unable to create '([^']+\.lock)': File exists")
_NOISE = ("hint:", "warning: filtering not", "Please make sure you have the correct access rights",
          "and the repository exists.")


class Timeouts(NamedTuple):
    """How long one git command may run, in seconds: one that talks to the remote, one that does not.

    With a run budget (--timeout), a network command gets what is left of it instead."""

    network: float = 300.0
    local: float = 120.0


class GitResult(NamedTuple):
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class _Raw(NamedTuple):
    returncode: int
    stdout: bytes
    stderr: str


@dataclass(frozen=True)
class Git:
    """A git runner bound to a directory, a remote URL's credentials and a progress setting."""

    cwd: Path
    credentials: Credentials = field(default_factory=Credentials)
    url: str = ""
    progress: bool = False
    budget: TimeBudget | None = None  # bounds network commands (--timeout); else timeouts.network each
    timeouts: Timeouts = field(default_factory=Timeouts)
    fold: bool = False  # a GitHub Actions step (RunContext.actions): progress folded in ::group:: lines
    # the commands running now and whether `stop` was called: a prefetch thread's (delivery/session.py)
    running: set[subprocess.Popen[bytes]] = field(default_factory=set, compare=False, repr=False)
    stopped: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)

    def env(self) -> dict[str, str]:
        """git's environment: ours, minus the token variables and other repositories' locations."""
        env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS and k not in _REPO_ENV}
        env.update({"LC_ALL": "C", "GIT_ADVICE": "0"})
        env.update(self.credentials.git_env(self.url, env))
        return env

    def run(
        self,
        *args: str,
        check: bool = True,
        stdin: str | None = None,
        network: bool = False,
        extra_env: Mapping[str, str] | None = None,
    ) -> GitResult:
        """Run `git ARGS` in cwd. Errors carry the command, exit code and stderr, token redacted."""
        raw = self._exec(args, None if stdin is None else stdin.encode(), network, extra_env)
        result = GitResult(("git", *args), raw.returncode, raw.stdout.decode("utf-8", "replace"), raw.stderr)
        if check and result.returncode != 0:
            raise self.error(result)
        return result

    def run_bytes(self, *args: str, stdin: bytes | None = None, network: bool = False) -> bytes:
        """Run `git ARGS` and return its stdout undecoded (blob contents); failures raise GitError."""
        raw = self._exec(args, stdin, network, None)
        if raw.returncode != 0:
            raise self.error(GitResult(("git", *args), raw.returncode, "", raw.stderr))
        return raw.stdout

    def out(self, *args: str, network: bool = False) -> str:
        return self.run(*args, network=network).stdout.strip()

    def out_env(self, *args: str, extra_env: Mapping[str, str]) -> str:
        return self.run(*args, extra_env=extra_env).stdout.strip()

    def error(self, result: GitResult, message: str | None = None) -> GitError:
        """The GitError for a failed command: the one-line `message` (else `failure`), and as fields
        the command with secrets redacted, its exit code and its stderr (already redacted)."""
        return GitError(message or self.failure(result), command=self.redacted(result.args),
                        returncode=result.returncode, stderr=result.stderr)

    def redacted(self, cmd: Sequence[str]) -> tuple[str, ...]:
        return tuple(self.credentials.redact(word) for word in cmd)

    # -- running ---------------------------------------------------------------------------------
    def _exec(self, args: Sequence[str], stdin: bytes | None, network: bool,
              extra_env: Mapping[str, str] | None) -> _Raw:
        cmd = ("git", *args)
        timeout = self.timeouts.local
        if network:
            timeout = self.timeouts.network if self.budget is None else self.budget.left()
            if timeout <= 0:
                assert self.budget is not None
                raise GitError(f"{self.describe(cmd, network)} not started: the run used up its "
                               f"{self.budget.describe()}", command=self.redacted(cmd))
        env = self.env()
        if extra_env:
            env.update(extra_env)
        log.debug("$ %s", self.credentials.redact(" ".join(cmd)))
        try:
            # Its own process group: a timeout or an interrupt stops git *and* its helpers
            # (git-remote-http, ssh), which would otherwise keep our pipes open.
            proc = subprocess.Popen(
                cmd, cwd=self.cwd, env=env, process_group=0,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
        except OSError as err:
            raise GitError(f"cannot run git: {err.strerror}", command=self.redacted(cmd)) from None
        self.running.add(proc)
        if self.stopped.is_set():
            _signal(proc)
        try:
            return self._finish(proc, cmd, stdin, network, timeout)
        finally:
            self.running.discard(proc)

    def stop(self) -> None:
        """Kill the git commands running now, and any started later (from another thread: a
        prefetch the run no longer needs); each fails with a GitError in its own thread."""
        self.stopped.set()
        for proc in list(self.running):
            _signal(proc)

    def _finish(self, proc: subprocess.Popen[bytes], cmd: tuple[str, ...], stdin: bytes | None, network: bool,
                timeout: float) -> _Raw:
        assert proc.stdout is not None
        assert proc.stderr is not None
        out = bytearray()
        errs = bytearray()
        relay = network and self.progress
        group = relay and self.fold
        if group:  # fold git's progress in the Actions log
            _echo(f"::group::{self.describe(cmd, network)}\n")
        threads = [
            threading.Thread(target=collect, args=(proc.stdout, out.extend), daemon=True),
            threading.Thread(target=self._collect_stderr, args=(proc.stderr, errs, relay), daemon=True),
        ]
        if stdin is not None:
            threads.append(threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True))
        for thread in threads:
            thread.start()
        try:
            if network and self.budget is not None:
                with self.budget.spending():
                    returncode = _wait(proc, timeout)
            else:
                returncode = _wait(proc, timeout)
        except subprocess.TimeoutExpired:
            kill(proc)
            for thread in threads:
                thread.join()
            stderr = self.credentials.redact(errs.decode("utf-8", "replace"))
            if network and self.budget is not None:
                raise GitError(f"{self.describe(cmd, network)} timed out: the run used up its "
                               f"{self.budget.describe()}", command=self.redacted(cmd), stderr=stderr) from None
            raise GitError(f"{self.describe(cmd, network)} timed out after {timeout:g} s",
                           command=self.redacted(cmd), stderr=stderr) from None
        except BaseException:
            kill(proc)
            raise
        for thread in threads:
            thread.join()
        if group:
            _echo("::endgroup::\n")
        return _Raw(returncode, bytes(out), self.credentials.redact(errs.decode("utf-8", "replace")))

    def _collect_stderr(self, stream: IO[bytes], sink: bytearray, relay: bool) -> None:
        """Collect stderr; with `relay`, echo it (progress) to our stderr, line by line, redacted.

        Progress lines end in `\\r`, so segments are cut at `\\r` as well as `\\n` and keep them.
        """
        pending = b""
        for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
            sink.extend(chunk)
            if not relay:
                continue
            pending += chunk
            cut = max(pending.rfind(b"\n"), pending.rfind(b"\r")) + 1
            if cut:
                _echo(self.credentials.redact(pending[:cut].decode("utf-8", "replace")))
                pending = pending[cut:]
        if relay and pending:
            _echo(self.credentials.redact(pending.decode("utf-8", "replace")))
        stream.close()

    # -- describing ------------------------------------------------------------------------------
    def describe(self, cmd: Sequence[str], network: bool = False) -> str:
        """`git fetch from URL`: the subcommand, and for network commands the remote (redacted)."""
        sub = _subcommand(cmd)
        text = f"git {sub}".strip()
        if network and self.url:
            text += f" {'to' if sub == 'push' else 'from'} {self.url}"
        return self.credentials.redact(text)

    def failure(self, result: GitResult) -> str:
        """One line: what failed, why (unreachable, authentication, timeout) and git's own words."""
        lines = [ln.strip() for ln in result.stderr.splitlines() if ln.strip()]
        lines = [ln for ln in lines if not ln.startswith(_NOISE)]
        lines = [ln.removeprefix("fatal: ").removeprefix("error: ") for ln in lines]
        detail = "; ".join(lines[-3:]) or f"exit code {result.returncode}"
        locked = _LOCKED.search(result.stderr)
        if locked:  # git's own words end with advice and drop the path: name the file
            detail = (f"{locked.group(1)} exists: another git command is running in this clone, or one "
                      f"was killed; remove the file if none is running")
        network = _subcommand(result.args) in _NETWORK
        what = self.describe(result.args, network)
        cause = self.cause(result.stderr) if network else None
        if cause == "authentication":
            return f"{what} failed: authentication refused by {_origin(self.url)}: {self._auth_hint(detail)}"
        if cause:
            return f"{what} failed: {cause}: {detail}"
        return f"{what} failed (exit {result.returncode}): {detail}"

    def _auth_hint(self, detail: str) -> str:
        if urlsplit(self.url).scheme not in ("http", "https"):
            return detail
        if self.credentials.token:
            return f"the token from {self.credentials.source} was not accepted"
        return "no token given: set GITOPS_BOT_TOKEN (or GITHUB_TOKEN)"

    @staticmethod
    def cause(stderr: str) -> str | None:
        """The kind of a remote failure, if git's message says which: a phrase for the user."""
        if _TIMEOUT.search(stderr):
            return "timed out"
        if _AUTH.search(stderr):
            return "authentication"
        if _UNREACHABLE.search(stderr):
            return "remote unreachable"
        return None


def _subcommand(cmd: Sequence[str]) -> str:
    words = list(cmd[1:])
    while len(words) >= 2 and words[0] == "-c":
        words = words[2:]
    return words[0] if words else ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme and parts.hostname:
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"
    return url


def collect(stream: IO[bytes], sink: Callable[[bytes], object]) -> None:
    for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
        sink(chunk)
    stream.close()


def _feed(stream: IO[bytes] | None, data: bytes) -> None:
    assert stream is not None
    with contextlib.suppress(BrokenPipeError, OSError):
        stream.write(data)
    with contextlib.suppress(BrokenPipeError, OSError):
        stream.close()


def _echo(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """The exit code of `proc`, as soon as it exits; TimeoutExpired after `timeout` seconds.

    `Popen.wait(timeout=...)` polls, sleeping up to 50 ms between checks: most git commands here
    take a few milliseconds, so each would wait several times longer than it ran. A thread blocked in
    `waitpid` wakes us the moment git exits instead.
    """
    waiter = threading.Thread(target=proc.wait, daemon=True)
    waiter.start()
    waiter.join(timeout)
    if waiter.is_alive():
        raise subprocess.TimeoutExpired(proc.args, timeout)
    assert proc.returncode is not None
    return proc.returncode


def _signal(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def kill(proc: subprocess.Popen[bytes]) -> None:
    _signal(proc)
    proc.wait()
