"""A token-authenticated git smart-HTTP server on 127.0.0.1 for tests.

Serves every bare repository under ``root`` through ``git http-backend`` (CGI),
so clone / fetch / push / partial clone behave exactly as against a real forge,
over a real socket, without leaving the machine.

Usage::

    from tests.support.http_git import GitHttpServer

    with GitHttpServer(tmp_path / "srv", token="s3cret") as server:
        url = server.url_for("repo.git")          # http://127.0.0.1:PORT/repo.git
        ...                                        # run git against url
        assert all(r.auth_ok for r in server.requests)

Authentication: every request must carry either
``Authorization: Basic base64("<any user>:<token>")`` or
``Authorization: Bearer <token>``; anything else gets ``401`` with
``WWW-Authenticate: Basic realm="git"``.  The header value is never logged or
stored; only whether it was present and whether it matched.

Push works without touching the repository's config: authenticated requests
get ``REMOTE_USER`` set, which enables ``git-receive-pack`` unless the bare repo
sets ``http.receivepack=false``.  Partial clone needs ``uploadpack.allowFilter``
(and, for some lazy fetches, ``uploadpack.allowAnySHA1InWant``) in the bare
repo's config, or pass them via ``git_config=``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import io
import logging
import os
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO, Any, NamedTuple
from urllib.parse import quote, unquote, urlsplit

import pytest

from tests.support.env import clean_env

__all__ = ["GitHttpServer", "RequestRecord", "git_http_server_factory"]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
_CHUNK = 64 * 1024
_MAX_BODY = 512 * 1024 * 1024
_BACKEND_TIMEOUT = 120.0


class RequestRecord(NamedTuple):
    """One request as seen by the server (the Authorization value is never kept)."""

    method: str
    path: str  # URL path without the query string, e.g. "/repo.git/info/refs"
    auth_present: bool  # an Authorization header was sent
    auth_ok: bool  # ... and it carried the expected token (else the reply was 401)


class _BadRequest(Exception):
    pass


class _Server(ThreadingHTTPServer):
    # Join handler threads in server_close(): no threads outlive stop().
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = False

    def __init__(self, owner: GitHttpServer) -> None:
        self.owner = owner
        super().__init__((HOST, 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() calls socket.getfqdn(), i.e. a reverse DNS
        # lookup that can stall in sandboxes.  We know who we are.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def get_request(self) -> tuple[socket.socket, object]:
        conn, addr = super().get_request()
        self.owner._track_conn(conn, add=True)
        return conn, addr

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        self.owner._track_conn(request, add=False)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gitops-bot-test-git-http/1"
    # Idle keep-alive connections time out, so a stuck client cannot pin a thread.
    timeout = 30
    server: _Server

    # -- plumbing ---------------------------------------------------------------------------

    def log_message(self, format: str, *args: object) -> None:
        # The request line holds method + path only; headers are never logged.
        log.debug("git-http %s - " + format, self.client_address[0], *args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _method_not_allowed(self) -> None:
        path = unquote(urlsplit(self.path).path)
        auth_present, user = self.server.owner._authenticate(self.headers.get("Authorization"))
        self.server.owner._record(RequestRecord(self.command, path, auth_present, user is not None), 405)
        self._read_body_quietly()
        self._simple_reply(405, b"method not allowed\n", extra={"Allow": "GET, POST"})

    do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _method_not_allowed

    # -- request handling -------------------------------------------------------------------

    def _handle(self) -> None:
        owner = self.server.owner
        split = urlsplit(self.path)
        path = unquote(split.path)
        auth_present, user = owner._authenticate(self.headers.get("Authorization"))
        auth_ok = user is not None

        try:
            body = self._read_body()
        except _BadRequest as exc:
            owner._record(RequestRecord(self.command, path, auth_present, auth_ok), 400)
            self.close_connection = True
            self._simple_reply(400, f"{exc}\n".encode())
            return

        if not auth_ok:
            owner._record(RequestRecord(self.command, path, auth_present, False), 401)
            self._simple_reply(
                401, b"authentication required\n", extra={"WWW-Authenticate": 'Basic realm="git"'}
            )
            return

        if not path.startswith("/") or ".." in path.split("/"):
            owner._record(RequestRecord(self.command, path, auth_present, True), 404)
            self._simple_reply(404, b"not found\n")
            return

        self._run_backend(path, split.query, body, user or "", auth_present)

    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if te:
            if te != "chunked":
                raise _BadRequest(f"unsupported transfer-encoding {te!r}")
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise _BadRequest("bad content-length") from None
        if n < 0 or n > _MAX_BODY:
            raise _BadRequest("bad content-length")
        data = self.rfile.read(n)
        if len(data) != n:
            raise _BadRequest("short body")
        return data

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise _BadRequest("bad chunk header")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest("bad chunk size") from None
            if size == 0:
                # Trailers (normally none) up to the empty line.
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > _MAX_BODY:
                raise _BadRequest("body too large")
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise _BadRequest("short chunk")
            parts.append(chunk)
            self.rfile.readline(1024)  # CRLF after the chunk data

    def _read_body_quietly(self) -> None:
        try:
            self._read_body()
        except _BadRequest:
            self.close_connection = True

    def _simple_reply(self, code: int, body: bytes, extra: Mapping[str, str] | None = None) -> None:
        self.send_response(code)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _run_backend(self, path: str, query: str, body: bytes, user: str, auth_present: bool) -> None:
        owner = self.server.owner
        env = owner._backend_env()
        env.update(
            GATEWAY_INTERFACE="CGI/1.1",
            SERVER_PROTOCOL="HTTP/1.1",
            SERVER_SOFTWARE=self.server_version,
            SERVER_NAME=HOST,
            SERVER_PORT=str(self.server.server_port),
            REQUEST_METHOD=self.command,
            PATH_INFO=path,
            QUERY_STRING=query,
            REMOTE_ADDR=self.client_address[0],
            REMOTE_USER=user,
        )
        if self.command == "POST":
            env["CONTENT_LENGTH"] = str(len(body))
        content_type = self.headers.get("Content-Type")
        if content_type:
            env["CONTENT_TYPE"] = content_type
        content_encoding = self.headers.get("Content-Encoding")
        if content_encoding:
            # Raw (e.g. gzip) body is passed through; http-backend inflates it.
            env["HTTP_CONTENT_ENCODING"] = content_encoding
        git_protocol = self.headers.get("Git-Protocol")
        if git_protocol:
            env["GIT_PROTOCOL"] = git_protocol
        for name in ("User-Agent", "Accept", "Accept-Language"):
            value = self.headers.get(name)
            if value:
                env["HTTP_" + name.upper().replace("-", "_")] = value

        with tempfile.TemporaryFile() as stdin_f, tempfile.TemporaryFile() as stderr_f:
            stdin_f.write(body)
            stdin_f.seek(0)
            proc = subprocess.Popen(
                [owner._git, "http-backend"],
                stdin=stdin_f,
                stdout=subprocess.PIPE,
                stderr=stderr_f,
                env=env,
                cwd=owner.root,
            )
            owner._track_proc(proc, add=True)
            try:
                self._relay_cgi_response(proc, path, auth_present, stderr_f)
            finally:
                if proc.poll() is None:
                    try:
                        proc.wait(timeout=_BACKEND_TIMEOUT)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                assert proc.stdout is not None
                proc.stdout.close()
                owner._track_proc(proc, add=False)
                stderr_f.seek(0)
                err = stderr_f.read().decode("utf-8", "replace").strip()
                if err:
                    log.debug("git http-backend stderr (%s %s): %s", self.command, path, err)

    def _relay_cgi_response(
        self, proc: subprocess.Popen[bytes], path: str, auth_present: bool, stderr_f: IO[bytes]
    ) -> None:
        owner = self.server.owner
        out = proc.stdout
        assert isinstance(out, io.BufferedReader)
        status = 200
        reason: str | None = None
        headers: list[tuple[str, str]] = []
        content_length: int | None = None
        saw_header_end = False
        while True:
            raw = out.readline(64 * 1024)
            if not raw:
                break
            line = raw.rstrip(b"\r\n").decode("latin-1")
            if not line:
                saw_header_end = True
                break
            name, sep, value = line.partition(":")
            if not sep:
                continue
            name, value = name.strip(), value.strip()
            lname = name.lower()
            if lname == "status":
                code, _, rest = value.partition(" ")
                status = int(code)
                reason = rest or None
            elif lname == "content-length":
                content_length = int(value)
            elif lname in ("transfer-encoding", "connection"):
                continue
            else:
                headers.append((name, value))

        if not saw_header_end:
            proc.wait(timeout=_BACKEND_TIMEOUT)
            stderr_f.seek(0)
            log.warning(
                "git http-backend produced no CGI headers (rc=%s): %s",
                proc.returncode,
                stderr_f.read().decode("utf-8", "replace").strip(),
            )
            owner._record(RequestRecord(self.command, path, auth_present, True), 500)
            self.close_connection = True
            self._simple_reply(500, b"git http-backend failed\n")
            return

        # Record before the client can observe the reply, so tests never race the log.
        owner._record(RequestRecord(self.command, path, auth_present, True), status)
        self.send_response(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        chunked = content_length is None
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(content_length))
        self.end_headers()

        try:
            if chunked:
                while data := out.read1(_CHUNK):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            else:
                remaining = content_length or 0
                while remaining > 0 and (data := out.read1(min(_CHUNK, remaining))):
                    self.wfile.write(data)
                    remaining -= len(data)
                if remaining:
                    self.close_connection = True  # backend lied about the length
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            proc.kill()


class GitHttpServer:
    """Smart-HTTP git server for the bare repositories under ``root``.

    ``GitHttpServer(root, token)``; ``start()`` / ``stop()`` or use as a context
    manager.  ``url_for(name)`` -> ``http://127.0.0.1:PORT/<name>``.
    ``requests`` -> snapshot list of :class:`RequestRecord`
    ``(method, path, auth_present, auth_ok)``; ``statuses`` -> the HTTP status
    sent for each, in the same order.

    ``git_config`` adds ``-c``-style config (e.g. ``{"uploadpack.allowFilter":
    "true"}``) to every http-backend run, on top of each repo's own config.
    The backend runs with system/global git config disabled.
    """

    def __init__(
        self,
        root: Path | str,
        token: str,
        *,
        git_config: Mapping[str, str] | None = None,
        git: str | None = None,
    ) -> None:
        if not token:
            raise ValueError("token must be non-empty")
        self.root = Path(root).resolve()
        self._token = token.encode()
        self._git_config = dict(git_config or {})
        self._git = git or shutil.which("git") or "git"
        self._lock = threading.Lock()
        self._log: list[tuple[RequestRecord, int]] = []
        self._conns: set[socket.socket] = set()
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # never show the token
        return f"GitHttpServer(root={str(self.root)!r}, port={self.port if self._httpd else None})"

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> GitHttpServer:
        if self._httpd is not None:
            raise RuntimeError("server already started")
        if not self.root.is_dir():
            raise FileNotFoundError(f"repository root {self.root} does not exist")
        httpd = _Server(self)
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"git-http-{httpd.server_port}",
            daemon=True,
        )
        self._httpd, self._thread = httpd, thread
        thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()  # stop accepting; returns once serve_forever exits
        with self._lock:
            conns = list(self._conns)
            procs = list(self._procs)
        for proc in procs:
            with contextlib.suppress(OSError):
                proc.kill()
        for conn in conns:  # wake handler threads parked on idle keep-alive connections
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()  # joins all handler threads
        if thread is not None:
            thread.join(timeout=10)
        self._httpd = self._thread = None

    def __enter__(self) -> GitHttpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- info ---------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_port

    @property
    def address(self) -> tuple[str, int]:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url_for(self, repo_name: str) -> str:
        return f"{self.base_url}/{quote(repo_name.strip('/'), safe='/')}"

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return [rec for rec, _ in self._log]

    @property
    def statuses(self) -> list[int]:
        with self._lock:
            return [status for _, status in self._log]

    @property
    def exchanges(self) -> list[tuple[RequestRecord, int]]:
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    # -- internals (called from handler threads) ----------------------------------------------

    def _authenticate(self, header: str | None) -> tuple[bool, str | None]:
        """Return (header present, REMOTE_USER or None if not authenticated)."""
        if header is None:
            return False, None
        scheme, _, credentials = header.strip().partition(" ")
        credentials = credentials.strip()
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True)
            except (binascii.Error, ValueError):
                return True, None
            user, sep, password = decoded.partition(b":")
            if sep and hmac.compare_digest(password, self._token):
                return True, user.decode("utf-8", "replace") or "git"
            return True, None
        if scheme == "bearer":
            if hmac.compare_digest(credentials.encode(), self._token):
                return True, "bearer"
            return True, None
        return True, None

    def _record(self, rec: RequestRecord, status: int) -> None:
        with self._lock:
            self._log.append((rec, status))

    def _track_conn(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _track_proc(self, proc: subprocess.Popen[bytes], *, add: bool) -> None:
        with self._lock:
            if add:
                self._procs.add(proc)
            else:
                self._procs.discard(proc)

    def _backend_env(self) -> dict[str, str]:
        env = clean_env(None, {"GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
                               "GIT_CONFIG_GLOBAL": os.devnull})
        if self._git_config:
            env["GIT_CONFIG_COUNT"] = str(len(self._git_config))
            for i, (key, value) in enumerate(self._git_config.items()):
                env[f"GIT_CONFIG_KEY_{i}"] = key
                env[f"GIT_CONFIG_VALUE_{i}"] = value
        return env


@pytest.fixture
def git_http_server_factory() -> Iterator[Callable[..., GitHttpServer]]:
    """Fixture: ``make(root, token, **kw)`` -> a started server, stopped at teardown.

    Use from another test module with
    ``from tests.support.http_git import git_http_server_factory  # noqa: F401``
    (or re-export it from a conftest.py).
    """
    servers: list[GitHttpServer] = []

    def make(root: Path | str, token: str, **kwargs: Any) -> GitHttpServer:
        server = GitHttpServer(root, token, **kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in reversed(servers):
        server.stop()
