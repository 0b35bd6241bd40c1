"""Image references: parsing, validation of tags and digests, and name matching (CONTRACT §3, §4)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from gitops_bot.errors import UsageError

TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
# repository[:tag][@digest]; the repository may carry a registry host with a port (host:5000/x).
_REF_RE = re.compile(
    r"(?P<repo>[a-z0-9][a-z0-9._/:-]*?)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
)


def validate_tag(tag: str) -> str:
    if not TAG_RE.fullmatch(tag):
        raise UsageError(f"invalid tag {tag!r}: a tag must match [A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}")
    return tag


def validate_digest(digest: str) -> str:
    if not DIGEST_RE.fullmatch(digest):
        raise UsageError(f"invalid digest {digest!r}: expected sha256: and 64 lowercase hex digits")
    return digest


@dataclass(frozen=True)
class Version:
    """What an image reference points at: a tag, a digest, or both."""

    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        if self.tag and self.digest:
            return f"{self.tag}@{self.digest}"
        return self.tag or self.digest or ""


@dataclass(frozen=True)
class ImageString:
    """A whole reference written as one string: `repo:tag`, `repo@sha256:…` or `repo:tag@sha256:…`."""

    repository: str
    version: Version

    @classmethod
    def parse(cls, text: str) -> ImageString | None:
        m = _REF_RE.fullmatch(text)
        if not m or (m["tag"] is None and m["digest"] is None):
            return None
        repo = m["repo"]
        if repo.endswith((":", "/")) or "//" in repo:
            return None
        return cls(repo, Version(m["tag"], m["digest"]))

    def with_version(self, version: Version) -> str:
        text = self.repository
        if version.tag:
            text += f":{version.tag}"
        if version.digest:
            text += f"@{version.digest}"
        return text


@dataclass(frozen=True)
class Wanted:
    """One `--image` request: which image, and the version it should end at."""

    name: str
    version: Version

    @classmethod
    def parse(cls, spec: str, default_tag: str | None) -> Wanted:
        """Parse `NAME=TAG`, `NAME`, `NAME@sha256:…` or `NAME=TAG@sha256:…`."""
        name, sep, tag_part = spec.partition("=")
        digest = None
        if not sep and "@" in name:
            name, _, digest = name.partition("@")
        elif "@" in tag_part:
            tag_part, _, digest = tag_part.partition("@")
        name = name.strip()
        if not name or any(c.isspace() for c in name):
            raise UsageError(f"invalid --image {spec!r}: expected NAME=TAG")
        if ":" in name.rsplit("/", 1)[-1]:  # `repo:tag` typed the docker way
            repo, _, tag_text = name.rpartition(":")
            raise UsageError(f"invalid --image {spec!r}: write NAME=TAG, here {repo}={tag_text}")
        tag: str | None = tag_part if sep else None
        if tag is None and digest is None:
            if default_tag is None:
                raise UsageError(f"--image {name} has no tag: write {name}=TAG or give --tag")
            tag = default_tag
        if tag is not None:
            validate_tag(tag)
        if digest is not None:
            validate_digest(digest)
        return cls(name, Version(tag, digest))


_DOCKER_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def _split_host(repository: str) -> tuple[str | None, str]:
    first, sep, rest = repository.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return None, repository


def strip_registry(repository: str) -> str:
    """`docker.io/bitnami/redis` -> `bitnami/redis`; `ghcr.io/kai/api` -> `kai/api`."""
    host, path = _split_host(repository)
    if host in _DOCKER_HOSTS and path.startswith("library/"):
        path = path.removeprefix("library/")
    return path


def canonical(repository: str) -> str:
    """The fully qualified repository: Docker Hub is the registry of a name without a host."""
    host, path = _split_host(repository)
    if host is None or host in _DOCKER_HOSTS:
        host = "docker.io"
        if "/" not in path:
            path = f"library/{path}"
    return f"{host}/{path}"


def matches(name: str, repository: str, aliases: Mapping[str, str]) -> bool:
    """Does the image NAME given by a user designate this repository (CONTRACT §3)?

    NAME equals the repository with or without its registry host (a name with a host must name
    the same registry: `ghcr.io/x/y` is not `docker.io/x/y`), or its last path segment, or NAME
    is an alias of such a repository.
    """
    candidates = {name}
    if name in aliases:
        candidates.add(aliases[name])
    bare = strip_registry(repository)
    for cand in candidates:
        if cand == repository or canonical(cand) == canonical(repository):
            return True
        if _split_host(cand)[0] is None and strip_registry(cand) == bare:
            return True
    return name == bare.rsplit("/", 1)[-1]


def short_name(repository: str) -> str:
    return repository.rsplit("/", 1)[-1]
