"""A real OCI registry for tests: Debian's `docker-registry` (CNCF Distribution) on 127.0.0.1.

Two ways to guard it, as real registries do:
- `basic`: an htpasswd file (bcrypt), the registry answers `WWW-Authenticate: Basic`;
- `token`: Bearer token auth behind `TokenServer`, a small HTTP server of the test that hands out
  JWTs signed with a key the test generates (the registry trusts the certificate of that key).

Images are pushed through the registry's own HTTP API (blob upload, then manifest PUT), so the
client under test talks to exactly what it meets in production.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
USER, PASSWORD = "pusher", "s3cr3t-registry-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SigningKey:
    """An EC P-256 key and its self-signed certificate: what Distribution's token auth trusts."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitops-bot test token issuer")])
        now = datetime.now(UTC)
        self.cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def jwt(self, claims: dict[str, Any]) -> str:
        der = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@dataclass
class TokenServer:
    """The token endpoint of Bearer auth: `GET /token?service=…&scope=…`, Basic-authenticated or not.

    Anonymous requests get pull access to `public/*` repositories only; `USER:PASSWORD` gets
    everything. Every request is recorded (path, query, Authorization) for the tests to inspect.
    """

    key: SigningKey
    service: str = "gitops-bot-test-registry"
    issuer: str = "gitops-bot-test-issuer"
    requests: list[dict[str, Any]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                auth = self.headers.get("Authorization", "")
                server.requests.append({"path": parts.path, "query": query, "authorization": auth})
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if auth and auth != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                access = []
                for scope in query.get("scope", []):
                    kind, _, rest = scope.partition(":")
                    name, _, actions = rest.rpartition(":")
                    if auth or name.startswith("public/"):
                        access.append({"type": kind, "name": name, "actions": actions.split(",")})
                now = int(time.time())
                token = server.key.jwt({
                    "iss": server.issuer, "sub": USER if auth else "", "aud": server.service,
                    "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(len(server.issued)),
                    "access": access,
                })
                server.issued.append(token)
                body = json.dumps({"token": token, "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/token"

    def token_for(self, scope: str) -> str:
        now = int(time.time())
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        return self.key.jwt({"iss": self.issuer, "sub": USER, "aud": self.service, "exp": now + 300,
                             "nbf": now - 10, "iat": now, "jti": "push",
                             "access": [{"type": kind, "name": name, "actions": actions.split(",")}]})

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Registry:
    """One `docker-registry serve` process on 127.0.0.1, with storage in a temporary folder."""

    def __init__(self, root: Path, auth: str = "basic", tokens: TokenServer | None = None):
        self.root = root
        self.auth = auth
        self.tokens = tokens
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        if auth == "basic":
            hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
            (root / "htpasswd").write_text(f"{USER}:{hashed}\n")
            htpasswd = json.dumps(str(root / "htpasswd"))
            self._auth_config = f"auth: {{htpasswd: {{realm: basic-realm, path: {htpasswd}}}}}"
        elif auth == "token":
            assert tokens is not None
            (root / "token.pem").write_bytes(tokens.key.cert_pem())
            self._auth_config = (f"auth: {{token: {{realm: {json.dumps(tokens.realm)}, service: {tokens.service}, "
                          f"issuer: {tokens.issuer}, rootcertbundle: {json.dumps(str(root / 'token.pem'))}}}}}")
        else:
            self._auth_config = ""
        self.proc: subprocess.Popen[bytes] | None = None
        for _ in range(5):  # the free port may be taken between our probe and the registry's bind
            self._write_config()
            if self.start():
                return
            self.port = free_port()
        raise RuntimeError(f"docker-registry found no free port: {(root / 'log').read_text()}")

    def _write_config(self) -> None:
        lines = [
            "version: 0.1",
            "log: {level: error, accesslog: {disabled: true}}",
            f"storage: {{filesystem: {{rootdirectory: {json.dumps(str(self.root / 'data'))}}}, "
            f"delete: {{enabled: true}}}}",
            f"http: {{addr: '127.0.0.1:{self.port}', secret: test-secret}}",
            self._auth_config,
        ]
        (self.root / "config.yml").write_text("\n".join(lines) + "\n")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    def start(self) -> bool:
        """Start the registry and wait until it answers; False if its port was taken meanwhile."""
        with open(self.root / "log", "ab") as log:
            self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(self.root / "config.yml")],
                                         stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = (self.root / "log").read_text()
                if "address already in use" in text:
                    return False
                raise RuntimeError(f"docker-registry exited: {text}")
            try:
                urllib.request.urlopen(f"{self.base}/v2/", timeout=2)
                return True
            except urllib.error.HTTPError:
                return True  # 401: up, and guarded
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start in 20 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    # -- pushing through the HTTP API ---------------------------------------------------------

    def _auth(self, repository: str) -> str:
        if self.auth == "basic":
            return "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.auth == "token":
            assert self.tokens is not None
            return "Bearer " + self.tokens.token_for(f"repository:{repository}:pull,push")
        return ""

    def _request(self, method: str, url: str, repository: str, data: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        if not url.startswith("http"):
            url = self.base + url
        req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
        if self.auth != "none":
            req.add_header("Authorization", self._auth(repository))
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def push_blob(self, repository: str, data: bytes) -> str:
        digest = sha256(data)
        status, headers, body = self._request("POST", f"/v2/{repository}/blobs/uploads/", repository)
        assert status == 202, (status, body)
        location = headers["Location"]
        sep = "&" if "?" in location else "?"
        status, _, body = self._request("PUT", f"{location}{sep}digest={digest}", repository, data,
                                        {"Content-Type": "application/octet-stream"})
        assert status == 201, (status, body)
        return digest

    def push_manifest(self, repository: str, reference: str, manifest: dict[str, Any], media_type: str) -> str:
        body = json.dumps(manifest, separators=(",", ":")).encode()
        status, headers, answer = self._request("PUT", f"/v2/{repository}/manifests/{reference}", repository,
                                                body, {"Content-Type": media_type})
        assert status == 201, (status, answer)
        assert headers["Docker-Content-Digest"] == sha256(body)
        return sha256(body)

    def push_image(self, repository: str, tag: str, *, docker: bool = False, arch: str = "amd64") -> str:
        """A one-layer image, OCI (or Docker v2) manifest; returns the manifest digest."""
        config = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers",
                                                                            "diff_ids": []},
                             "created": f"{tag}"}).encode()
        layer = f"layer of {repository}:{tag} for {arch}".encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": DOCKER_V2 if docker else OCI_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                       "digest": self.push_blob(repository, config), "size": len(config)},
            "layers": [{"mediaType": DOCKER_LAYER if docker else OCI_LAYER,
                        "digest": self.push_blob(repository, layer), "size": len(layer)}],
        }
        return self.push_manifest(repository, tag, manifest, DOCKER_V2 if docker else OCI_MANIFEST)

    def push_index(self, repository: str, tag: str, arches: tuple[str, ...] = ("amd64", "arm64")) -> str:
        """A multi-arch OCI index over one image per architecture; returns the index digest."""
        entries = []
        for arch in arches:
            child = self.push_image(repository, f"{tag}-{arch}", arch=arch)
            status, _, body = self._request("GET", f"/v2/{repository}/manifests/{child}", repository,
                                            headers={"Accept": OCI_MANIFEST})
            assert status == 200
            entries.append({"mediaType": OCI_MANIFEST, "digest": child, "size": len(body),
                            "platform": {"architecture": arch, "os": "linux"}})
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        return self.push_manifest(repository, tag, index, OCI_INDEX)

    def head_digest(self, repository: str, tag: str) -> str:
        """What the registry itself answers in `Docker-Content-Digest` for repository:tag."""
        status, headers, _ = self._request("HEAD", f"/v2/{repository}/manifests/{tag}", repository,
                                           headers={"Accept": f"{OCI_INDEX}, {OCI_MANIFEST}, {DOCKER_V2}"})
        assert status == 200, status
        return headers["Docker-Content-Digest"]


@contextmanager
def running(root: Path, auth: str = "basic") -> Iterator[Registry]:
    tokens = TokenServer(SigningKey()) if auth == "token" else None
    registry = Registry(root, auth, tokens)
    try:
        yield registry
    finally:
        registry.stop()
        if tokens is not None:
            tokens.close()


def docker_config(folder: Path, host: str, user: str = USER, password: str = PASSWORD) -> Path:
    """A Docker config.json as `docker login` (or docker/login-action) leaves it."""
    folder.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return folder
