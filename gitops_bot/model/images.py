"""Image references: parsing, tag/digest grammar, name matching (docs/image-references.md, docs/editing.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gitops_bot.model.errors import UsageError

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

    @classmethod
    def from_tag_text(cls, text: str, digest: str | None = None) -> Version:
        """A `tag` value as written: `TAG@sha256:D` carries its digest inline (Renovate's pinning)."""
        tag, sep, inline = text.partition("@")
        if sep and inline.startswith("sha256:"):
            return cls(tag or None, inline)
        return cls(text or None, digest)


@dataclass(frozen=True)
class ImageString:
    """A whole reference written as one string: `repo:tag`, `repo@sha256:…` or `repo:tag@sha256:…`."""

    repository: str
    version: Version

    @classmethod
    def parse(cls, text: str, bare: bool = False) -> ImageString | None:
        """None when `text` is not a reference; `bare` also accepts one without tag or digest."""
        m = _REF_RE.fullmatch(text)
        if not m or (m["tag"] is None and m["digest"] is None and not bare):
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


def takes_default_tag(spec: str) -> bool:
    """An `--image` spec with neither `=TAG` nor `@DIGEST` (a bare NAME) takes the default tag."""
    return "=" not in spec and "@" not in spec


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
        policy_name = "/" not in name and (bool(sep) or digest is not None or default_tag is not None)
        if policy_name:  # NAMESPACE:POLICY, the setter markers of one Flux ImagePolicy
            namespace, _, policy = name.partition(":")
            if ":" in policy or (":" in name and not (namespace and policy)):
                raise UsageError(f"invalid --image {spec!r}: expected NAMESPACE:POLICY=TAG or NAME=TAG")
        elif ":" in name.rsplit("/", 1)[-1]:  # `repo:tag` typed the docker way
            repo, _, tag_text = name.rpartition(":")
            raise UsageError(f"invalid --image {spec!r}: write NAME=TAG, here {repo}={tag_text}")
        tag: str | None = tag_part if sep else None
        if takes_default_tag(spec):
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


def display_name(repository: str) -> str:
    """One spelling per image: `docker.io/bitnami/redis`, `bitnami/redis` -> `bitnami/redis`;
    `docker.io/library/redis`, `redis` -> `redis`; other registries keep their host."""
    full = canonical(repository)
    return full.removeprefix("docker.io/").removeprefix("library/") if full.startswith("docker.io/") else full


EXACT, SEGMENT = "exact", "segment"


def match_kind(name: str, repository: str, aliases: Mapping[str, str]) -> str | None:
    """How the image NAME given by a user designates this repository (docs/image-references.md), if it does.

    EXACT: NAME (or the alias NAME maps to) is the repository with or without its registry host (a
    name with a host must name the same registry: `ghcr.io/x/y` is not `docker.io/x/y`). SEGMENT:
    NAME is only the repository's last path segment, which may name several repositories.
    """
    candidates = {name}
    if name in aliases:
        candidates.add(aliases[name])
    bare = strip_registry(repository)
    for cand in candidates:
        if cand == repository or canonical(cand) == canonical(repository):
            return EXACT
        if _split_host(cand)[0] is None and strip_registry(cand) == bare:
            return EXACT
    return SEGMENT if name == bare.rsplit("/", 1)[-1] else None


def matches(name: str, repository: str, aliases: Mapping[str, str]) -> bool:
    """Does the image NAME designate this repository, exactly or by its last path segment?"""
    return match_kind(name, repository, aliases) is not None


def ambiguity(name: str, repositories: Iterable[str], aliases: Mapping[str, str]) -> list[str]:
    """The repositories NAME would select by last path segment alone, when they are two or more
    different images and NAME names none of them exactly (then the user must give the full name)."""
    kinds = {repo: match_kind(name, repo, aliases) for repo in repositories}
    if EXACT in kinds.values():
        return []
    found = {display_name(repo) for repo, kind in kinds.items() if kind == SEGMENT}
    return sorted(found) if len(found) > 1 else []


def select_repositories(name: str, repositories: Iterable[str], aliases: Mapping[str, str]) -> list[str]:
    """The repositories NAME designates: those it names exactly if any, else by last segment;
    UsageError when the last segment names two different images."""
    repositories = list(repositories)
    refuse_ambiguous(name, repositories, aliases)
    kinds = {repo: match_kind(name, repo, aliases) for repo in repositories}
    exact = [repo for repo, kind in kinds.items() if kind == EXACT]
    return exact or [repo for repo, kind in kinds.items() if kind == SEGMENT]


def refuse_ambiguous(name: str, repositories: Iterable[str], aliases: Mapping[str, str]) -> None:
    found = ambiguity(name, repositories, aliases)
    if found:
        raise UsageError(f"image {name!r} is ambiguous: it names {', '.join(found)}; give the full name")


def short_name(repository: str) -> str:
    return repository.rsplit("/", 1)[-1]


def labels(repositories: Iterable[str]) -> dict[str, str]:
    """How to name each image where several are listed together: its short name, unless another
    image of the list has the same one (`bitnami/postgres-init`, `ghcr.io/acme/postgres-init`), then
    `display_name`, so that the rows can be told apart."""
    found = list(dict.fromkeys(repositories))
    owners: dict[str, set[str]] = {}
    for repository in found:
        owners.setdefault(short_name(repository), set()).add(display_name(repository))
    return {r: short_name(r) if len(owners[short_name(r)]) == 1 else display_name(r) for r in found}
