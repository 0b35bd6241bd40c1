"""The OCI Distribution client against real registries (Debian's docker-registry), never a mock.

Where a behaviour needs a registry that misbehaves (429/503, a token realm over plain HTTP), a tiny
HTTP server on 127.0.0.1 plays that registry; the client under test is the real one.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gitops_bot.model.errors import ConfigError, RegistryError
from gitops_bot.registry.auth import Challenge, RegistryAuth, github_registries, normalize_host
from gitops_bot.registry.client import RegistryClient
from gitops_bot.registry.endpoint import Endpoint
from tests.support.registry import PASSWORD, USER, Registry, docker_config, running


@pytest.fixture(scope="module")
def basic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with running(tmp_path_factory.mktemp("basic"), "basic") as reg:
        yield reg


@pytest.fixture(scope="module")
def bearer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with running(tmp_path_factory.mktemp("bearer"), "token") as reg:
        yield reg


def client_for(reg: Registry, tmp_path: Path, password: str = PASSWORD, **kw: object) -> RegistryClient:
    folder = docker_config(tmp_path / "docker", reg.host, USER, password)
    return RegistryClient(RegistryAuth.from_env({"DOCKER_CONFIG": str(folder)}), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_digests_of_oci_docker_and_index_manifests(auth: str, request: pytest.FixtureRequest,
                                                    tmp_path: Path) -> None:
    reg: Registry = request.getfixturevalue(auth)
    ns = "c" + secrets.token_hex(4)
    oci = reg.push_image(f"{ns}/app", "oci")
    docker = reg.push_image(f"{ns}/app", "docker", docker=True)
    index = reg.push_index(f"{ns}/app", "multi")
    client = client_for(reg, tmp_path)
    repo = f"{reg.host}/{ns}/app"
    assert client.digest(repo, "oci") == oci
    assert client.digest(repo, "docker") == docker
    assert client.digest(repo, "multi") == index == reg.head_digest(f"{ns}/app", "multi")
    assert client.digest(repo, "multi-amd64") != index  # the index, not a platform's manifest
    assert client.digest(repo, "nope") is None
    assert client.digest(f"{reg.host}/{ns}/unknown-repository", "1") is None
    assert client.digest(repo, oci) == oci  # by digest


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_tag_list_of_a_real_registry(auth: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    reg: Registry = request.getfixturevalue(auth)
    ns = "p" + secrets.token_hex(4)
    tags = [f"1.{i}.0" for i in range(7)]
    for tag in tags:
        reg.push_image(f"{ns}/app", tag)
    client = client_for(reg, tmp_path, page_size=2)  # Distribution 2.8 answers all tags at once anyway
    assert sorted(client.tags(f"{reg.host}/{ns}/app")) == sorted(tags)
    assert client.tags(f"{reg.host}/{ns}/never-pushed") == []


def test_bearer_tokens_are_cached_per_scope(bearer: Registry, tmp_path: Path) -> None:
    ns = "k" + secrets.token_hex(4)
    bearer.push_image(f"{ns}/app", "1")
    assert bearer.tokens is not None
    seen = len(bearer.tokens.requests)
    client = client_for(bearer, tmp_path)
    for _ in range(3):
        assert client.digest(f"{bearer.host}/{ns}/app", "1")
    assert len(bearer.tokens.requests) - seen == 1


def test_wrong_password_names_its_source_not_the_secret(basic: Registry, bearer: Registry, tmp_path: Path) -> None:
    for reg in (basic, bearer):
        bad = "wrong-" + secrets.token_hex(8)
        client = client_for(reg, tmp_path / reg.auth, password=bad)
        with pytest.raises(RegistryError) as caught:
            client.digest(f"{reg.host}/x/app", "1")
        text = str(caught.value)
        assert "refused the credentials from Docker config" in text
        assert bad not in text and base64.b64encode(f"{USER}:{bad}".encode()).decode() not in text


def test_anonymous_client_is_told_how_to_log_in(basic: Registry) -> None:
    client = RegistryClient(RegistryAuth.from_env({}))
    with pytest.raises(RegistryError, match="needs credentials: docker login"):
        client.digest(f"{basic.host}/x/app", "1")


def test_credential_helper_is_reported_as_unsupported(basic: Registry, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"credHelpers": {basic.host: "ecr-login"}}))
    client = RegistryClient(RegistryAuth.from_env({"DOCKER_CONFIG": str(tmp_path)}))
    with pytest.raises(RegistryError, match="credential helper 'ecr-login', which gitops-bot does not run"):
        client.digest(f"{basic.host}/x/app", "1")


class Scripted:
    """A loopback HTTP server answering from a script: one (status, headers, body) per request."""

    def __init__(self, answers: Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]):
        self.seen: list[tuple[str, str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                owner.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
                status, headers, body = answers(self)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_429_and_5xx_are_retried_a_bounded_number_of_times() -> None:
    digest = "sha256:" + "a" * 64
    calls = iter([(429, {"Retry-After": "1"}), (503, {}), (200, {"Docker-Content-Digest": digest})])
    server = Scripted(lambda h: (*next(calls), b""))
    slept: list[float] = []
    try:
        client = RegistryClient(RegistryAuth(), sleep=slept.append)
        assert client.digest(f"{server.host}/x/app", "1") == digest
        assert len(server.seen) == 3
        assert slept and sum(slept) <= 10

        always = Scripted(lambda h: (503, {}, b""))
        try:
            client = RegistryClient(RegistryAuth(), attempts=3, sleep=slept.append)
            with pytest.raises(RegistryError, match=r"unreachable: HTTP 503 \(after 3 attempts\)"):
                client.tags(f"{always.host}/x/app")
            assert len(always.seen) == 3
        finally:
            always.close()
    finally:
        server.close()


def test_tag_list_follows_link_pages() -> None:
    """As ghcr.io, Docker Hub and Distribution 3 page: `n` per page, `Link: <…?last=…>; rel="next"`."""
    from urllib.parse import parse_qs, urlsplit

    tags = [f"v{i:03d}" for i in range(23)]

    def page(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        query = parse_qs(urlsplit(handler.path).query)
        n, last = int(query["n"][0]), query.get("last", [""])[0]
        rest = [t for t in tags if t > last][:n]
        headers = {"Content-Type": "application/json"}
        if rest and rest[-1] != tags[-1]:
            # relative on even pages, absolute on odd ones: both forms are in use
            target = f"/v2/x/app/tags/list?n={n}&last={rest[-1]}"
            if len(rest) % 2:
                target = f"http://{server.host}{target}"
            headers["Link"] = f'<{target}>; rel="next"'
        return 200, headers, json.dumps({"name": "x/app", "tags": rest}).encode()

    server = Scripted(page)
    try:
        assert RegistryClient(RegistryAuth(), page_size=5).tags(f"{server.host}/x/app") == tags
        assert len(server.seen) == 5
    finally:
        server.close()


def test_digest_computed_when_the_registry_omits_the_header() -> None:
    body = b'{"schemaVersion":2}'
    server = Scripted(lambda h: (200, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, body))
    try:
        import hashlib

        got = RegistryClient(RegistryAuth()).digest(f"{server.host}/x/app", "1")
        assert got == "sha256:" + hashlib.sha256(body).hexdigest()
        assert [m for m, _, _ in server.seen] == ["HEAD", "GET"]
    finally:
        server.close()


def test_token_realm_over_plain_http_elsewhere_is_refused(tmp_path: Path) -> None:
    challenge = 'Bearer realm="http://auth.example.com/token",service="x"'
    server = Scripted(lambda h: (401, {"WWW-Authenticate": challenge}, b""))
    try:
        client = RegistryClient(RegistryAuth())
        with pytest.raises(RegistryError, match=r"refusing token realm 'http://auth\.example\.com/token' over plain"):
            client.digest(f"{server.host}/x/app", "1")
        assert len(server.seen) == 1  # nothing was sent anywhere else
    finally:
        server.close()


def test_tag_page_links_must_stay_on_the_registry() -> None:
    server = Scripted(lambda h: (200, {"Link": '<https://elsewhere.example.com/v2/x/tags/list?last=a>; rel="next"',
                                       "Content-Type": "application/json"}, b'{"tags": ["a"]}'))
    try:
        with pytest.raises(RegistryError, match="page link leaves the registry"):
            RegistryClient(RegistryAuth()).tags(f"{server.host}/x/app")
    finally:
        server.close()


def test_stopped_registry_is_unreachable(tmp_path: Path) -> None:
    with running(tmp_path / "r", "basic") as reg:
        host = reg.host
    client = RegistryClient(RegistryAuth(), attempts=2, sleep=lambda s: None)
    with pytest.raises(RegistryError, match=rf"registry {host} unreachable: connection failed"):
        client.digest(f"{host}/x/app", "1")


def test_only_loopback_registries_use_plain_http() -> None:
    assert Endpoint.of("127.0.0.1:5000/kai/api").base == "http://127.0.0.1:5000"
    assert Endpoint.of("localhost:5000/kai/api").base == "http://localhost:5000"
    assert Endpoint.of("[::1]:5000/kai/api").base == "http://[::1]:5000"
    assert Endpoint.of("registry.example.com:5000/kai/api").base == "https://registry.example.com:5000"
    assert Endpoint.of("127.0.0.1.nip.io/kai/api").base == "https://127.0.0.1.nip.io"
    hub = Endpoint.of("bitnami/redis")
    assert (hub.host, hub.base, hub.name) == ("docker.io", "https://registry-1.docker.io", "bitnami/redis")
    assert Endpoint.of("redis").name == "library/redis"
    assert Endpoint.of("ghcr.io/kai-platform/kai-api-server").name == "kai-platform/kai-api-server"


def test_docker_config_entries_and_the_github_token(tmp_path: Path) -> None:
    auth = base64.b64encode(b"me:pw1").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": auth},
        "registry.example.com:5000": {"username": "u", "password": "pw2"},
        "ghcr.io": {},  # docker login with a helper leaves an empty entry
    }}))
    ctx = RegistryAuth.from_env({"DOCKER_CONFIG": str(tmp_path), "GITHUB_ACTOR": "octo",
                                 "GITHUB_SERVER_URL": "https://github.example.com"}, token="ghs_token1")
    hub = ctx.login("docker.io")
    assert hub is not None and (hub.username, hub.password) == ("me", "pw1")
    other = ctx.login("registry.example.com:5000")
    assert other is not None and other.password == "pw2"
    ghcr = ctx.login("ghcr.io")
    assert ghcr is not None
    assert (ghcr.username, ghcr.password, ghcr.source) == ("octo", "ghs_token1", "the GitHub token")
    assert ctx.login("containers.github.example.com") is not None
    assert ctx.login("quay.io") is None
    assert "ghs_token1" not in repr(ctx) and "pw1" not in repr(ctx)
    assert github_registries("https://github.com") == ("ghcr.io",)
    # an explicit docker login wins over the token
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"ghcr.io": {"auth": auth}}}))
    login = RegistryAuth.from_env({"DOCKER_CONFIG": str(tmp_path)}, token="ghs_token1").login("ghcr.io")
    assert login is not None and login.password == "pw1"


def test_home_docker_config_is_the_default(tmp_path: Path) -> None:
    docker_config(tmp_path / ".docker", "127.0.0.1:5000")
    assert RegistryAuth.from_env({"HOME": str(tmp_path)}).login("127.0.0.1:5000") is not None


@pytest.mark.parametrize("text", ["{not json", "[]", '{"auths": {"h": {"auth": "!!!"}}}',
                                  '{"auths": {"h": {"auth": "bm9jb2xvbg=="}}}'])
def test_broken_docker_config_is_bad_input(tmp_path: Path, text: str) -> None:
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ConfigError, match="Docker config"):
        RegistryAuth.from_env({"DOCKER_CONFIG": str(tmp_path)})


def test_challenge_and_host_parsing() -> None:
    c = Challenge.parse('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                        'scope="repository:library/redis:pull"')
    assert c.scheme == "bearer"
    assert dict(c.params) == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                              "scope": "repository:library/redis:pull"}
    assert Challenge.parse('Basic realm="Registry Realm"').scheme == "basic"
    assert normalize_host("https://index.docker.io/v1/") == "docker.io"
    assert normalize_host("https://GHCR.io") == "ghcr.io"


def test_log_lines_never_carry_registry_secrets(tmp_path: Path) -> None:
    import io
    import logging

    from gitops_bot.registry.checks import LazyRegistry

    secret = "pw-" + secrets.token_hex(8)
    folder = docker_config(tmp_path / "docker", "registry.example.com", USER, secret)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger("gitops_bot")
    root.addHandler(handler)
    try:
        with LazyRegistry(None, {"DOCKER_CONFIG": str(folder)}) as lazy:
            lazy()
            logging.getLogger("gitops_bot.anything").warning("header was %s and Basic %s", secret,
                                                             base64.b64encode(f"{USER}:{secret}".encode()).decode())
        logging.getLogger("gitops_bot.anything").warning("after close: %s", "plain")
    finally:
        root.removeHandler(handler)
    text = stream.getvalue()
    assert "header was *** and Basic ***" in text
    assert secret not in text and "after close: plain" in text
    assert handler.filters == []


def test_proxy_variables_do_not_capture_loopback_and_netrc_is_ignored(
        basic: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = "x" + secrets.token_hex(4)
    digest = basic.push_image(f"{ns}/app", "1")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text(f"machine 127.0.0.1 login {USER} password wrong-netrc-password\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NETRC", str(home / ".netrc"))
    assert client_for(basic, tmp_path).digest(f"{basic.host}/{ns}/app", "1") == digest


def test_commands_that_never_ask_a_registry_do_not_import_requests() -> None:
    import subprocess
    import sys

    code = ("import sys, gitops_bot.cli.app, gitops_bot.cli.commands, gitops_bot.ops.reconcile, "
            "gitops_bot.registry.checks; print('requests' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("header", ["sha256:NOTHEX", "sha512:" + "a" * 128, "sha256:" + "a" * 64 + " x"])
def test_a_digest_header_no_reference_could_carry_is_replaced_by_the_manifests_sha256(header: str) -> None:
    """`Docker-Content-Digest` is the registry's word, not a valid value by itself: what is pinned is
    always `sha256:` and 64 lowercase hex digits, computed from the manifest when the header is not."""
    import hashlib

    body = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
    server = Scripted(lambda h: (200, {"Docker-Content-Digest": header,
                                       "Content-Type": "application/vnd.oci.image.manifest.v1+json"}, body))
    try:
        got = RegistryClient(RegistryAuth()).digest(f"{server.host}/x/app", "1")
        assert got == "sha256:" + hashlib.sha256(body).hexdigest()
        assert [m for m, _, _ in server.seen] == ["HEAD", "GET"]
    finally:
        server.close()


def test_listed_tags_that_no_reference_could_carry_are_dropped() -> None:
    listed = ["1.5.0", "zz\nx: y", "zz #c", "z:1", "-lead", "a" * 129, 7, "v2"]
    server = Scripted(lambda h: (200, {"Content-Type": "application/json"},
                                 json.dumps({"name": "x/app", "tags": listed}).encode()))
    try:
        assert RegistryClient(RegistryAuth()).tags(f"{server.host}/x/app") == ["1.5.0", "v2"]
    finally:
        server.close()


def test_a_tag_list_that_is_not_a_list_is_an_error_not_its_characters() -> None:
    server = Scripted(lambda h: (200, {"Content-Type": "application/json"}, b'{"name": "x/app", "tags": "v1"}'))
    try:
        with pytest.raises(RegistryError, match="the tag list of x/app has no list of tags"):
            RegistryClient(RegistryAuth()).tags(f"{server.host}/x/app")
    finally:
        server.close()


@pytest.mark.parametrize("url", ["http://[::1", "https://gh.example.com:notaport"])
def test_a_malformed_github_server_url_is_bad_input_naming_it(url: str) -> None:
    from gitops_bot.model.errors import UsageError

    with pytest.raises(UsageError, match="GITHUB_SERVER_URL"):
        RegistryAuth.from_env({"GITHUB_SERVER_URL": url}, token="ghs_token1")
