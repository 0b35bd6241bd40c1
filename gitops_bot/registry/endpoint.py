"""Where a repository's registry is, and how it is reached (plain HTTP on loopback only)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from gitops_bot.model.images import canonical
from gitops_bot.registry.auth import DOCKER_HUB

LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Endpoint:
    """Where a repository lives: the host (as logins are keyed), the API base URL and the name."""

    host: str
    base: str
    name: str

    @classmethod
    def of(cls, repository: str) -> Endpoint:
        host, _, name = canonical(repository).partition("/")
        api_host = "registry-1.docker.io" if host == DOCKER_HUB else host
        scheme = "http" if is_loopback(api_host) else "https"
        return cls(host, f"{scheme}://{api_host}", name)


def is_loopback(netloc: str) -> bool:
    host = urlsplit(f"//{netloc}").hostname or ""
    return host in LOOPBACK
