"""Tests for the smart-HTTP git test server in tests/support/http_git.py."""

from __future__ import annotations

import base64
import gzip
import http.client
import logging
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.env import clean_env
from tests.support.http_git import GitHttpServer

TOKEN = "ghs_test-token-0123456789abcdef"
TIMEOUT = 60
IDENT = ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]


def basic_header(token: str, user: str = "x-access-token") -> str:
    return "Authorization: Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


def git_env(home: Path, auth_header: str | None) -> dict[str, str]:
    """Hermetic env for the git client; credentials only via GIT_CONFIG_* env."""
    env = clean_env(home, {"GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"})
    if auth_header is not None:
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=auth_header,
        )
    return env


def git(*args: str | Path, env: dict[str, str] | None = None, check: bool = True):
    proc = subprocess.run(
        ["git", *IDENT, *map(str, args)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        start_new_session=True,  # no controlling tty: a prompt could never block
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@dataclass
class Served:
    server: GitHttpServer
    bare: Path
    url: str
    home: Path
    tmp: Path

    def env(self, auth_header: str | None = basic_header(TOKEN)) -> dict[str, str]:
        return git_env(self.home, auth_header)

    def bare_rev(self, ref: str = "refs/heads/main") -> str:
        return git("--git-dir", self.bare, "rev-parse", ref).stdout.strip()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    home = tmp_path / "home"
    home.mkdir()
    local_env = git_env(home, None)
    root = tmp_path / "srv"
    bare = root / "repo.git"
    git("init", "-q", "--bare", "-b", "main", bare, env=local_env)
    git("--git-dir", bare, "config", "uploadpack.allowFilter", "true", env=local_env)
    git("--git-dir", bare, "config", "uploadpack.allowAnySHA1InWant", "true", env=local_env)

    seed = tmp_path / "seed"
    git("init", "-q", "-b", "main", seed, env=local_env)
    (seed / "app.yaml").write_text("image: app:1.0.0\n")
    (seed / "big.txt").write_text("x" * 10000 + "\n")
    git("-C", seed, "add", ".", env=local_env)
    git("-C", seed, "commit", "-q", "-m", "first", env=local_env)
    (seed / "app.yaml").write_text("image: app:1.1.0\n")
    git("-C", seed, "commit", "-q", "-am", "second", env=local_env)
    git("-C", seed, "push", "-q", bare, "main", env=local_env)

    with GitHttpServer(root, TOKEN) as server:
        yield Served(server, bare, server.url_for("repo.git"), home, tmp_path)


def test_binds_only_loopback_and_builds_urls(served: Served) -> None:
    host, port = served.server.address
    assert host == "127.0.0.1"
    assert port > 0
    assert served.url == f"http://127.0.0.1:{port}/repo.git"
    assert served.server.url_for("/org/repo.git") == f"http://127.0.0.1:{port}/org/repo.git"
    assert TOKEN not in repr(served.server)


def test_clone_with_token_from_env(served: Served) -> None:
    dest = served.tmp / "clone"
    git("clone", "-q", served.url, dest, env=served.env())
    assert (dest / "app.yaml").read_text() == "image: app:1.1.0\n"
    assert git("-C", dest, "rev-parse", "HEAD").stdout.strip() == served.bare_rev()
    reqs = served.server.requests
    assert reqs, "server saw no requests"
    assert all(r.auth_present and r.auth_ok for r in reqs)
    assert set(served.server.statuses) == {200}
    assert any(r.method == "GET" and r.path == "/repo.git/info/refs" for r in reqs)
    assert any(r.method == "POST" and r.path == "/repo.git/git-upload-pack" for r in reqs)


def test_clone_with_bearer_token(served: Served) -> None:
    dest = served.tmp / "clone"
    git("clone", "-q", served.url, dest, env=served.env(f"Authorization: Bearer {TOKEN}"))
    assert (dest / "app.yaml").exists()
    assert all(r.auth_ok for r in served.server.requests)


def test_any_basic_username_is_accepted(served: Served) -> None:
    dest = served.tmp / "clone"
    git("clone", "-q", served.url, dest, env=served.env(basic_header(TOKEN, user="someone")))
    assert (dest / "app.yaml").exists()


def test_push_moves_bare_branch(served: Served) -> None:
    env = served.env()
    dest = served.tmp / "clone"
    git("clone", "-q", served.url, dest, env=env)
    before = served.bare_rev()
    (dest / "app.yaml").write_text("image: app:2.0.0\n")
    git("-C", dest, "commit", "-q", "-am", "bump", env=env)
    git("-C", dest, "push", "-q", "origin", "HEAD:main", env=env)
    after = served.bare_rev()
    assert after != before
    assert after == git("-C", dest, "rev-parse", "HEAD").stdout.strip()
    # A new branch too.
    git("-C", dest, "push", "-q", "origin", "HEAD:refs/heads/feature", env=env)
    assert served.bare_rev("refs/heads/feature") == after
    assert any(
        r.method == "POST" and r.path == "/repo.git/git-receive-pack" and r.auth_ok
        for r in served.server.requests
    )


def test_shallow_blobless_clone_and_lazy_fetch(served: Served) -> None:
    env = served.env()
    dest = served.tmp / "partial"
    git("clone", "-q", "--depth", "1", "--filter=blob:none", "--no-checkout", served.url, dest, env=env)
    assert git("-C", dest, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
    assert git("-C", dest, "config", "remote.origin.partialclonefilter").stdout.strip() == "blob:none"
    objects = git("-C", dest, "rev-list", "--objects", "--missing=print", "HEAD", env=env).stdout
    missing = [line for line in objects.splitlines() if line.startswith("?")]
    assert len(missing) == 2, objects  # both blobs were filtered out
    # Checkout lazily fetches the blobs over HTTP with the same env credentials.
    n_before = len(served.server.requests)
    git("-C", dest, "checkout", "-q", "main", env=env)
    assert (dest / "app.yaml").read_text() == "image: app:1.1.0\n"
    assert len(served.server.requests) > n_before
    assert all(r.auth_ok for r in served.server.requests)


def test_partial_clone_via_server_side_git_config(tmp_path: Path) -> None:
    """git_config= makes filters work even when the bare repo does not enable them."""
    home = tmp_path / "home"
    home.mkdir()
    env = git_env(home, basic_header(TOKEN))
    root = tmp_path / "srv"
    git("init", "-q", "--bare", "-b", "main", root / "r.git", env=env)
    seed = tmp_path / "seed"
    git("init", "-q", "-b", "main", seed, env=env)
    (seed / "f").write_text("content\n")
    git("-C", seed, "add", "f", env=env)
    git("-C", seed, "commit", "-q", "-m", "c", env=env)
    git("-C", seed, "push", "-q", root / "r.git", "main", env=env)
    with GitHttpServer(root, TOKEN, git_config={"uploadpack.allowFilter": "true"}) as server:
        proc = git("clone", "--filter=blob:none", server.url_for("r"), tmp_path / "c", env=env)
        assert "filtering not recognized by server" not in proc.stderr
        assert git("-C", tmp_path / "c", "config", "remote.origin.promisor").stdout.strip() == "true"
        assert (tmp_path / "c" / "f").read_text() == "content\n"


def test_wrong_token_fails_and_401_is_recorded(served: Served) -> None:
    proc = git(
        "clone", served.url, served.tmp / "nope", env=served.env(basic_header("wrong-token")), check=False
    )
    assert proc.returncode != 0
    assert not (served.tmp / "nope").exists()
    reqs = served.server.requests
    assert reqs
    assert all(r.auth_present and not r.auth_ok for r in reqs)
    assert 401 in served.server.statuses
    assert "wrong-token" not in proc.stderr


def test_no_credentials_fails_without_prompting(served: Served) -> None:
    proc = git("clone", served.url, served.tmp / "nope", env=served.env(None), check=False)
    assert proc.returncode != 0
    assert "terminal prompts disabled" in proc.stderr
    assert served.server.requests[0].auth_present is False
    assert set(served.server.statuses) == {401}


def test_unauthenticated_http_gets_basic_challenge(served: Served) -> None:
    host, port = served.server.address
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/repo.git/info/refs?service=git-upload-pack")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 401
        assert resp.getheader("WWW-Authenticate") == 'Basic realm="git"'
        # Same keep-alive connection, malformed credentials.
        conn.request(
            "GET",
            "/repo.git/info/refs?service=git-upload-pack",
            headers={"Authorization": "Basic !!!not-base64"},
        )
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 401
    finally:
        conn.close()
    assert [(r.auth_present, r.auth_ok) for r in served.server.requests] == [(False, False), (True, False)]


def _pkt(line: str) -> bytes:
    data = line.encode()
    return b"%04x" % (len(data) + 4) + data


def _ls_refs_request() -> bytes:
    return _pkt("command=ls-refs\n") + b"0001" + _pkt("peel\n") + _pkt("ref-prefix refs/heads/\n") + b"0000"


def _auth() -> dict[str, str]:
    return {"Authorization": basic_header(TOKEN).split(": ", 1)[1]}


def test_gzip_request_body_is_decoded_by_backend(served: Served) -> None:
    host, port = served.server.address
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        conn.request(
            "POST",
            "/repo.git/git-upload-pack",
            body=gzip.compress(_ls_refs_request()),
            headers={
                **_auth(),
                "Content-Type": "application/x-git-upload-pack-request",
                "Content-Encoding": "gzip",
                "Git-Protocol": "version=2",
            },
        )
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert resp.status == 200, body
    assert f"{served.bare_rev()} refs/heads/main".encode() in body


def test_chunked_request_body(served: Served) -> None:
    host, port = served.server.address
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    payload = _ls_refs_request()
    try:
        conn.request(
            "POST",
            "/repo.git/git-upload-pack",
            body=iter([payload[:7], payload[7:]]),
            encode_chunked=True,
            headers={
                **_auth(),
                "Content-Type": "application/x-git-upload-pack-request",
                "Git-Protocol": "version=2",
                "Transfer-Encoding": "chunked",
            },
        )
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert resp.status == 200, body
    assert b"refs/heads/main" in body


def test_missing_repo_is_404_and_traversal_rejected(served: Served) -> None:
    host, port = served.server.address
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        for path in ("/nope.git/info/refs?service=git-upload-pack", "/../srv/repo.git/info/refs"):
            conn.request("GET", path, headers=_auth())
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 404, path
    finally:
        conn.close()


def test_token_is_never_logged(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    git("clone", "-q", served.url, served.tmp / "ok", env=served.env())
    git("clone", "-q", served.url, served.tmp / "bad", env=served.env(basic_header("wrong")), check=False)
    b64 = basic_header(TOKEN).split("Basic ", 1)[1]
    for rec in caplog.records:
        msg = rec.getMessage()
        assert TOKEN not in msg
        assert b64 not in msg
    for rec in served.server.requests:
        assert TOKEN not in repr(rec)


def test_stop_is_clean_even_with_idle_keepalive_connection(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    baseline = set(threading.enumerate())
    server = GitHttpServer(tmp_path / "srv", TOKEN).start()
    host, port = server.address
    idle = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    idle.request("GET", "/x.git/info/refs")
    idle.getresponse().read()  # 401, connection stays open (keep-alive)
    server.stop()
    server.stop()  # idempotent
    idle.close()
    assert set(threading.enumerate()) - baseline == set()
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, port), timeout=5):
        pass


def test_large_push_uses_chunked_body_and_succeeds(served: Served) -> None:
    """> http.postBuffer (1 MiB): git probes auth, then streams a chunked POST."""
    env = served.env()
    dest = served.tmp / "clone"
    git("clone", "-q", served.url, dest, env=env)
    (dest / "blob.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    git("-C", dest, "add", "blob.bin", env=env)
    git("-C", dest, "commit", "-q", "-m", "big", env=env)
    git("-C", dest, "push", "-q", "origin", "HEAD:main", env=env)
    assert served.bare_rev() == git("-C", dest, "rev-parse", "HEAD").stdout.strip()
    pushes = [r for r in served.server.requests if r.path == "/repo.git/git-receive-pack"]
    assert len(pushes) >= 2  # auth probe + the pack itself
