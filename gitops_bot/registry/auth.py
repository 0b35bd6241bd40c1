"""Registry credentials: the Docker `config.json`, the GitHub token for GitHub's registry, challenges.

Where credentials come from (docs/registry.md):
- the Docker config `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: its `auths` entries
  with an `auth` (base64 `user:password`) or `username`/`password`, as `docker login` and
  `docker/login-action` leave them. Credential helpers (`credsStore`, `credHelpers`) are not run;
  a registry that needs one is reported as such when it refuses anonymous access;
- for `ghcr.io`, and `containers.HOST` of a GitHub Enterprise `GITHUB_SERVER_URL`, the GitHub token
  (`GITOPS_BOT_TOKEN`, else `GITHUB_TOKEN`) when the Docker config has no entry for it.

Passwords and tokens live only in `Login` objects, which never print them, and reach the registry
only in an `Authorization` header.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gitops_bot.model.errors import ConfigError, UsageError

DOCKER_HUB = "docker.io"
_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


def normalize_host(key: str) -> str:
    """A config.json `auths` key (`https://index.docker.io/v1/`, `ghcr.io`, `host:5000`) -> host."""
    text = key.strip()
    if "://" in text:
        text = urlsplit(text).netloc
    text = text.split("/", 1)[0].lower()
    return DOCKER_HUB if text in _HUB_ALIASES else text


@dataclass(frozen=True)
class Login:
    """A username and password (or token) for one registry; `repr` never shows the secret."""

    username: str
    password: str = field(repr=False)
    source: str = ""

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


@dataclass(frozen=True)
class Challenge:
    """A parsed `WWW-Authenticate` header: scheme (`basic` or `bearer`) and its parameters."""

    scheme: str
    params: Mapping[str, str]

    @classmethod
    def parse(cls, header: str) -> Challenge:
        scheme, _, rest = header.strip().partition(" ")
        params = {str(m[1]).lower(): str(m[2] if m[2] is not None else m[3]).replace('\\"', '"')
                  for m in _PARAM.finditer(rest)}
        return cls(scheme.lower(), params)


@dataclass(frozen=True)
class RegistryAuth:
    """Every registry credential of one run, read once from the environment at the edge."""

    logins: Mapping[str, Login] = field(default_factory=dict)  # host -> login
    helpers: Mapping[str, str] = field(default_factory=dict)  # host ("*": every host) -> helper
    config_path: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], token: str | None = None) -> RegistryAuth:
        folder = env.get("DOCKER_CONFIG") or (str(Path(env["HOME"]) / ".docker") if env.get("HOME") else "")
        logins: dict[str, Login] = {}
        helpers: dict[str, str] = {}
        path = Path(folder) / "config.json" if folder else None
        if path is not None and path.is_file():
            logins, helpers = _read_docker_config(path)
        if token:
            actor = env.get("GITHUB_ACTOR") or "gitops-bot"
            for host in github_registries(env.get("GITHUB_SERVER_URL")):
                logins.setdefault(host, Login(actor, token, "the GitHub token"))
        return cls(logins, helpers, str(path) if path is not None else None)

    def login(self, host: str) -> Login | None:
        return self.logins.get(normalize_host(host))

    def helper(self, host: str) -> str | None:
        host = normalize_host(host)
        return self.helpers.get(host) or self.helpers.get("*")

    def secrets(self) -> list[str]:
        """Every secret text a log line or message must never contain (raw and as Basic carries it)."""
        out: list[str] = []
        for login in self.logins.values():
            out += [login.password, login.basic().removeprefix("Basic ")]
        return [s for s in out if s]


def github_registries(server_url: str | None) -> tuple[str, ...]:
    """`ghcr.io`, and the container registry of a GitHub Enterprise server (`containers.HOST`)."""
    hosts = ["ghcr.io"]
    try:
        parts = urlsplit(server_url or "")
        host, _port = parts.hostname, parts.port
    except ValueError:
        raise UsageError(f"GITHUB_SERVER_URL must be a URL such as https://github.com, got {server_url!r}") from None
    if host and host not in ("github.com", "www.github.com"):
        hosts.append(f"containers.{host}")
    return tuple(hosts)


def _read_docker_config(path: Path) -> tuple[dict[str, Login], dict[str, str]]:
    where = f"Docker config {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ConfigError(f"{where}: not readable JSON ({type(err).__name__}); fix or remove it") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a JSON object")
    logins: dict[str, Login] = {}
    auths = data.get("auths") or {}
    if not isinstance(auths, dict):
        raise ConfigError(f"{where}: 'auths' must be an object")
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            continue
        login = _entry_login(entry, f"{where}: auths[{key!r}]")
        if login is not None:
            logins[normalize_host(key)] = login
    helpers: dict[str, str] = {}
    if isinstance(data.get("credsStore"), str) and data["credsStore"]:
        helpers["*"] = data["credsStore"]
    for key, helper in (data.get("credHelpers") or {}).items():
        if isinstance(helper, str) and helper:
            helpers[normalize_host(key)] = helper
    return logins, helpers


def _entry_login(entry: Mapping[str, object], where: str) -> Login | None:
    source = where.split(":", 1)[0]
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            user, sep, password = base64.b64decode(auth, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ConfigError(f"{where}.auth is not base64 of 'user:password'") from None
        if not sep:
            raise ConfigError(f"{where}.auth is not base64 of 'user:password'")
        return Login(user, password, source)
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str) and name and secret:
        return Login(name, secret, source)
    return None  # an `identitytoken` (OAuth refresh token) is not supported: anonymous access
