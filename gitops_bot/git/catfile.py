"""One `git cat-file --batch` for all of a store's object reads.

Each read is a round trip on its pipes (microseconds), not a process of its own (milliseconds): a
bump reads objects three times (the environment's blobs, a file at the base, the trees along the
edited paths), and a push that lost a race does it again on the new head. The process finds objects
that later fetches and writes added (git looks for packs again when an object is not in the ones it
knows; loose objects are looked up as files). It has the runner's environment, is stopped with the
runner's other commands (Git.stop) while it reads, refuses reads once the runner is stopped, and is
killed by a read that takes longer than the local timeout. Reads are serialised: a prefetch thread
and the main thread share a store.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import threading
import time
from collections.abc import Sequence

from gitops_bot.git.runner import Git, GitResult, collect, kill, log
from gitops_bot.model.errors import GitError

CAT_FILE = ("git", "cat-file", "--batch")

Found = tuple[str, bytes] | None  # (type, content) of an object, None for a name that names none


class CatFile:
    """A `git cat-file --batch` started on the first read and kept until `close`."""

    def __init__(self, git: Git):
        self.git = git
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr = bytearray()
        self._stderr_thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def read(self, names: Sequence[str]) -> list[Found]:
        """The object each of `names` names (an id, `commit:path`, `id^{tree}`): one line each, so
        no name may hold a line break."""
        if not names:
            return []
        if any("\n" in name or "\r" in name for name in names):
            raise GitError("an object name holds a line break")
        with self._lock:
            if self.git.stopped.is_set():
                self._discard()
                raise GitError("git cat-file --batch was stopped", command=CAT_FILE)
            proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
            self.git.running.add(proc)  # a read is a running command: Git.stop kills it
            try:
                return self._exchange(proc, ("\n".join(names) + "\n").encode(), len(names))
            except BaseException:
                self._discard()  # half a reply may be left in the pipe: the next read starts afresh
                raise
            finally:
                self.git.running.discard(proc)

    def close(self) -> None:
        """End the process (its input closed: it exits on its own), if one was started."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            with contextlib.suppress(OSError):
                assert proc.stdin is not None
                proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                kill(proc)
            self._finish(proc)

    # -- the process -----------------------------------------------------------------------------
    def _start(self) -> subprocess.Popen[bytes]:
        self._discard()
        try:
            proc = subprocess.Popen(CAT_FILE, cwd=self.git.cwd, env=self.git.env(), process_group=0,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as err:
            raise GitError(f"cannot run git: {err.strerror}", command=CAT_FILE) from None
        self._stderr = bytearray()
        assert proc.stderr is not None
        self._stderr_thread = threading.Thread(target=collect, args=(proc.stderr, self._stderr.extend),
                                               daemon=True)
        self._stderr_thread.start()
        self._proc = proc
        log.debug("$ %s", " ".join(CAT_FILE))
        return proc

    def _discard(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            kill(proc)
            self._finish(proc)

    def _finish(self, proc: subprocess.Popen[bytes]) -> None:
        self.git.running.discard(proc)
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=5)
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()

    def _exchange(self, proc: subprocess.Popen[bytes], request: bytes, count: int) -> list[Found]:
        """Write `request` and read `count` replies, both at once (a reply can fill the pipe before
        the request is all written), within the runner's local timeout."""
        assert proc.stdin is not None
        assert proc.stdout is not None
        deadline = time.monotonic() + self.git.timeouts.local
        found: list[Found] = []
        data = bytearray()
        pos = 0
        sent = 0
        os.set_blocking(proc.stdin.fileno(), False)
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            selector.register(proc.stdin, selectors.EVENT_WRITE)
            while len(found) < count:
                pos = _parse(data, pos, count, found)
                if len(found) == count:
                    break
                left = deadline - time.monotonic()
                events = selector.select(left) if left > 0 else []
                if not events:
                    kill(proc)
                    raise GitError(f"git cat-file --batch timed out after {self.git.timeouts.local:g} s",
                                   command=CAT_FILE)
                for key, _mask in events:
                    if key.fileobj is proc.stdin:  # non-blocking: what fits now, not all of it
                        try:
                            sent += os.write(proc.stdin.fileno(), request[sent : sent + 65536])
                        except BlockingIOError:
                            continue
                        except BrokenPipeError:
                            sent = len(request)
                        if sent == len(request):
                            selector.unregister(proc.stdin)
                        continue
                    chunk = os.read(proc.stdout.fileno(), 1 << 20)
                    if not chunk:  # git exited before it replied to every name
                        raise self._died(proc)
                    data += chunk
        return found

    def _died(self, proc: subprocess.Popen[bytes]) -> GitError:
        try:
            returncode = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            kill(proc)
            returncode = proc.returncode
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=5)
        stderr = self.git.credentials.redact(self._stderr.decode("utf-8", "replace"))
        return self.git.error(GitResult(CAT_FILE, returncode, "", stderr))


def _parse(data: bytearray, pos: int, count: int, found: list[Found]) -> int:
    """Append the whole replies in `data` from `pos` to `found`; the position after them."""
    while len(found) < count:
        end = data.find(b"\n", pos)
        if end < 0:
            return pos
        header = bytes(data[pos:end])
        if header.endswith((b" missing", b" ambiguous")):  # a present object's header ends in its size
            found.append(None)
            pos = end + 1
            continue
        _oid, kind, size = header.rsplit(b" ", 2)
        stop = end + 1 + int(size)
        if len(data) < stop + 1:  # its content (and the line feed after it) is not all here yet
            return pos
        found.append((kind.decode(), bytes(data[end + 1 : stop])))
        pos = stop + 1
    return pos
