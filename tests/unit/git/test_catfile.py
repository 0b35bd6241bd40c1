"""The store's one `git cat-file --batch` (git/runner.py CatFile), with real git: what it reads,
that it sees objects added after it started, that a big exchange does not deadlock, and how it
ends (closed, stopped, failed, timed out) without a traceback or a leaked secret."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from gitops_bot.git.catfile import CatFile, Found
from gitops_bot.git.runner import Git, Timeouts
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.errors import GitError
from tests.support.gitrepo import git, isolate_git


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path / "home", monkeypatch)


def _store(tmp_path: Path) -> Path:
    repo = tmp_path / "store.git"
    tmp_path.mkdir(exist_ok=True)
    git("init", "-q", "--bare", str(repo), cwd=tmp_path)
    return repo


def _blob(repo: Path, data: bytes) -> str:
    return subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=data, check=True,
                          capture_output=True).stdout.decode().strip()


def _commit(repo: Path, files: dict[str, bytes]) -> str:
    lines = "".join(f"100644 blob {_blob(repo, data)}\t{name}\n" for name, data in files.items())
    tree = subprocess.run(["git", "mktree"], cwd=repo, input=lines.encode(), check=True,
                          capture_output=True).stdout.decode().strip()
    return git("commit-tree", tree, "-m", "c", cwd=repo, env={"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b",
                                                              "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"})


def test_reads_ids_and_paths_and_names_what_is_missing(tmp_path: Path) -> None:
    repo = _store(tmp_path)
    commit = _commit(repo, {"a.yaml": b"tag: 1\n", "b b.yaml": b""})
    reader = CatFile(Git(repo))
    try:
        found = reader.read([f"{commit}:a.yaml", f"{commit}:b b.yaml", f"{commit}:nope.yaml", "0" * 40,
                             f"{commit}^{{tree}}"])
        assert found[0] == ("blob", b"tag: 1\n")
        assert found[1] == ("blob", b"")  # an empty file is not a missing one
        assert found[2] is None
        assert found[3] is None
        assert found[4] is not None and found[4][0] == "tree"
    finally:
        reader.close()


def test_one_process_sees_objects_written_and_fetched_after_it_started(tmp_path: Path) -> None:
    repo = _store(tmp_path)
    first = _commit(repo, {"a.yaml": b"one\n"})
    reader = CatFile(Git(repo))
    try:
        assert reader.read([f"{first}:a.yaml"]) == [("blob", b"one\n")]
        pid = reader._proc.pid if reader._proc else None
        loose = _blob(repo, b"written later\n")  # a loose object
        other = _store(tmp_path / "other")
        packed = _commit(other, {"c.yaml": b"fetched later\n"})
        git("update-ref", "refs/heads/x", packed, cwd=other)
        git("fetch", "-q", str(other), "refs/heads/x:refs/heads/x", cwd=repo)  # a new pack
        assert reader.read([loose, f"{packed}:c.yaml"]) == [("blob", b"written later\n"),
                                                            ("blob", b"fetched later\n")]
        assert reader._proc is not None and reader._proc.pid == pid
    finally:
        reader.close()


def test_an_exchange_bigger_than_the_pipes_does_not_deadlock(tmp_path: Path) -> None:
    """3,000 names (123 KB asked) and their replies (over 400 KB): both pipes would fill if the
    request were written before the replies are read."""
    repo = _store(tmp_path)
    files = []
    for i in range(3000):
        files.append(tmp_path / f"f{i}")
        files[-1].write_bytes(f"{i:04d} ".encode() + b"y" * 90 + b"\n")
    paths = "".join(f"{f}\n" for f in files).encode()
    blobs = subprocess.run(["git", "hash-object", "-w", "--stdin-paths"], cwd=repo, input=paths, check=True,
                           capture_output=True).stdout.decode().split()
    reader = CatFile(Git(repo, timeouts=Timeouts(local=60)))
    found: list[Found] = []
    reading = threading.Thread(target=lambda: found.extend(reader.read(blobs)), daemon=True)
    reading.start()
    reading.join(timeout=30)  # a deadlock blocks in a write, where no timeout of the reader's reaches
    try:
        assert not reading.is_alive(), "the exchange deadlocked"
        assert [f[1] if f else None for f in found] == [f.read_bytes() for f in files]
    finally:
        if reader._proc is not None:
            reader._proc.kill()
        reading.join(timeout=10)
        reader.close()


def test_a_read_that_hangs_is_killed_at_the_local_timeout(tmp_path: Path) -> None:
    """A blob the partial clone lacks makes cat-file fetch it from the promisor remote; one that
    never answers is stopped at the runner's local timeout, with its helpers."""
    repo = _store(tmp_path)
    _hanging_promisor(repo)
    reader = CatFile(Git(repo, timeouts=Timeouts(local=1)))
    with pytest.raises(GitError, match=r"git cat-file --batch timed out after 1 s"):
        reader.read(["1" * 40])
    assert reader._proc is None
    assert not reader.git.running


def test_close_ends_it_and_a_later_read_starts_another(tmp_path: Path) -> None:
    repo = _store(tmp_path)
    blob = _blob(repo, b"data\n")
    reader = CatFile(Git(repo))
    reader.read([blob])
    proc = reader._proc
    reader.close()
    assert proc is not None and proc.returncode == 0  # it saw its input end and exited
    assert reader.read([blob]) == [("blob", b"data\n")]
    reader.close()


def _hanging_promisor(repo: Path) -> None:
    """A partial clone whose promisor remote never answers: reading a blob it lacks hangs."""
    for key, value in (("core.repositoryformatversion", "1"), ("extensions.partialClone", "origin"),
                       ("remote.origin.promisor", "true"), ("remote.origin.url", "ext::sleep 60"),
                       ("protocol.ext.allow", "always")):
        git("config", key, value, cwd=repo)


def test_stop_kills_a_read_in_flight_and_refuses_later_ones(tmp_path: Path) -> None:
    repo = _store(tmp_path)
    blob = _blob(repo, b"data\n")
    _hanging_promisor(repo)
    runner = Git(repo, timeouts=Timeouts(local=60))
    reader = CatFile(runner)
    assert reader.read([blob]) == [("blob", b"data\n")]
    assert not runner.running  # an idle reader is not a running command
    raised: list[BaseException] = []

    def read_missing() -> None:
        try:
            reader.read(["1" * 40])
        except BaseException as err:  # handed to the test's thread
            raised.append(err)

    reading = threading.Thread(target=read_missing, daemon=True)
    reading.start()
    deadline = time.monotonic() + 20
    while not runner.running and time.monotonic() < deadline:  # until the read is under way
        time.sleep(0.01)
    runner.stop()
    reading.join(timeout=20)
    assert not reading.is_alive()
    assert len(raised) == 1 and isinstance(raised[0], GitError)
    with pytest.raises(GitError, match="stopped"):
        reader.read([blob])
    assert not runner.running and reader._proc is None


def test_git_refusing_the_store_is_a_git_error_in_gits_words(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    reader = CatFile(Git(tmp_path / "empty"))
    with pytest.raises(GitError, match=r"git cat-file failed .*not a git repository") as raised:
        reader.read(["0" * 40])
    assert raised.value.command == ("git", "cat-file", "--batch")
    reader.close()


def test_a_name_with_a_line_break_is_refused_before_git_sees_it(tmp_path: Path) -> None:
    reader = CatFile(Git(_store(tmp_path)))
    with pytest.raises(GitError, match="line break"):
        reader.read(["HEAD\n0000"])
    assert reader._proc is None


def test_no_secret_reaches_its_environment_or_argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "ghs_" + "s3cr3t" * 6
    monkeypatch.setenv("GITOPS_BOT_TOKEN", token)
    monkeypatch.setenv("GITHUB_TOKEN", token)
    repo = _store(tmp_path)
    blob = _blob(repo, b"data\n")
    reader = CatFile(Git(repo, Credentials(token=token), url="https://example.invalid/a/b.git"))
    try:
        reader.read([blob])
        assert reader._proc is not None
        proc_dir = Path(f"/proc/{reader._proc.pid}")
        assert token.encode() not in (proc_dir / "environ").read_bytes()
        assert token.encode() not in (proc_dir / "cmdline").read_bytes()
    finally:
        reader.close()
