"""`--verify-image` and `--pin-digest`: what a write command asks the registry before it writes.

- verify: every `repository:tag` a plan would write must exist in its registry; a missing one stops
  the run with exit 2 naming it, before anything is committed.
- pin: each wanted tag is resolved to the digest the registry reports (`Docker-Content-Digest`, for
  a multi-arch image the index digest) and becomes `TAG@sha256:…` in the wanted state, exactly as
  if the user had typed `--image NAME=TAG@sha256:…`.

See docs/registry.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from gitops_bot.config.registry import RegistrySettings
from gitops_bot.manifests.scan import ImageRef, Manifest, find_refs
from gitops_bot.model.errors import ImageNotFound, ManifestError, UsageError
from gitops_bot.model.images import Version, Wanted, matches
from gitops_bot.model.timebudget import TimeBudget
from gitops_bot.planning.plan import Change, Plan
from gitops_bot.planning.proposal import Proposal

if TYPE_CHECKING:
    from gitops_bot.registry.client import RegistryClient

log = logging.getLogger("gitops_bot.registry")


@dataclass(frozen=True)
class AnnotatedChange(Change):
    """A change with what the registry layer adds to its JSON: the digest pinned, the policy used."""

    digest: str | None = None
    policy: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = dict(super().to_json())
        if self.digest:
            out["digest"] = self.digest
        if self.policy:
            out["policy"] = self.policy
        return out


@dataclass(frozen=True)
class ImageChecks:
    """Whether a command verifies tags and pins digests: the flag when given, else `registry:`."""

    verify: bool = False
    pin: bool = False

    @classmethod
    def of(cls, settings: RegistrySettings, verify: bool | None, pin: bool | None) -> ImageChecks:
        return cls(
            verify=settings.verify if verify is None else verify,
            pin=settings.pin_digest if pin is None else pin,
        )

    @property
    def active(self) -> bool:
        return self.verify or self.pin


class Registry:
    """The registries of one run, with answers cached (a lost push race re-plans without re-asking)."""

    def __init__(self, client: RegistryClient):
        self.client = client
        self._digests: dict[tuple[str, str], str | None] = {}
        self._tags: dict[str, list[str]] = {}

    @classmethod
    def from_env(cls, token: str | None, environ: Mapping[str, str],
                 budget: TimeBudget | None = None) -> Registry:
        """The registry client for a run: `environ` holds DOCKER_CONFIG, HOME, GITHUB_ACTOR,
        GITHUB_SERVER_URL and the CA bundle (RunContext.registry_environ)."""
        from gitops_bot.registry.auth import RegistryAuth
        from gitops_bot.registry.client import RegistryClient  # requests is imported only when used

        verify = environ.get("REQUESTS_CA_BUNDLE") or environ.get("SSL_CERT_FILE") or True
        return cls(RegistryClient(RegistryAuth.from_env(environ, token), verify=verify,
                                  budget=budget))

    def close(self) -> None:
        self.client.close()

    def redact(self, text: str) -> str:
        return self.client.redact(text)

    def digest(self, repository: str, reference: str) -> str | None:
        key = (repository, reference)
        if key not in self._digests:
            self._digests[key] = self.client.digest(repository, reference)
        return self._digests[key]

    def require(self, repository: str, tag: str) -> str:
        digest = self.digest(repository, tag)
        if digest is None:
            from gitops_bot.registry.endpoint import Endpoint

            raise ImageNotFound(
                f"image {repository}:{tag} does not exist in registry {Endpoint.of(repository).host}: "
                f"push it first, or fix the tag (nothing was written)"
            )
        return digest

    def tags(self, repository: str) -> list[str]:
        if repository not in self._tags:
            self._tags[repository] = self.client.tags(repository)
        return self._tags[repository]


def hits(name: str, refs: Iterable[ImageRef], aliases: Mapping[str, str]) -> list[ImageRef]:
    """The references an image NAME selects, as planning matches them (docs/registry.md)."""
    out = []
    for ref in refs:
        by_policy = ref.policy is not None and ref.policy == name
        by_name = not ref.policy_only and (matches(name, ref.repository, aliases) or (
            ref.alt_repository is not None and matches(name, ref.alt_repository, aliases)))
        if by_policy or by_name:
            out.append(ref)
    return out


def registry_repositories(refs: Iterable[ImageRef]) -> list[str]:
    """The real repositories among references (a bare `:tag` setter's repository is unknown)."""
    return sorted({r.repository for r in refs if not r.policy_only})


def pin_wanted(wanted: Sequence[Wanted], refs: Sequence[ImageRef], aliases: Mapping[str, str],
               registry: Registry) -> list[Wanted]:
    """Each wanted tag with the digest its registry resolves it to (NAME=TAG -> NAME=TAG@sha256:…)."""
    out = []
    for want in wanted:
        tag = want.version.tag
        if tag is None or want.version.digest is not None:
            out.append(want)  # a digest the user gave is kept as given
            continue
        repos = registry_repositories(hits(want.name, refs, aliases))
        digests = {repo: registry.require(repo, tag) for repo in repos}
        if len(set(digests.values())) > 1:
            listed = ", ".join(f"{r}@{d[:19]}…" for r, d in digests.items())
            raise UsageError(f"--pin-digest: {want.name}:{tag} resolves to different images ({listed}); "
                             f"give each repository by its full name")
        out.append(Wanted(want.name, Version(tag, next(iter(digests.values())))) if digests else want)
    return out


def pin_refs(refs: Sequence[ImageRef], repositories: set[str], registry: Registry) -> list[ImageRef]:
    """`refs` with each tag of `repositories` given its registry digest (rollback --pin-digest).

    A reference that already carries a digest keeps it; one whose repository is unknown (a bare
    `:tag` setter) or that has no tag is left as it is.
    """
    out = []
    for ref in refs:
        version = ref.version
        if ref.policy_only or ref.repository not in repositories or version.tag is None or version.digest:
            out.append(ref)
            continue
        out.append(replace(ref, version=Version(version.tag, registry.require(ref.repository, version.tag))))
    return out


def verify_plan(plan: Plan, registry: Registry) -> None:
    """Every tag (and digest) the plan writes exists in its registry; ImageNotFound (exit 2) if not."""
    unknown = _policy_only(plan)
    for change in plan.changes:
        if (change.file, change.line) in unknown:
            log.warning("%s:%d: cannot verify %s: its setter marker names no repository",
                        change.file, change.line, change.new)
            continue
        version = _version(change.new)
        if version.tag:
            digest = registry.require(change.image, version.tag)
            if version.digest and version.digest != digest:
                log.info("%s:%s is now %s; writing the digest given, %s",
                         change.image, version.tag, digest, version.digest)
        if version.digest and registry.digest(change.image, version.digest) is None:
            from gitops_bot.registry.endpoint import Endpoint

            raise ImageNotFound(f"image {change.image}@{version.digest} does not exist in registry "
                                f"{Endpoint.of(change.image).host} (nothing was written)")


def annotate(plan: Plan, policies: Mapping[str, str] | None = None) -> Plan:
    """The plan with each change carrying its digest (when it pins one) and policy (reconcile)."""
    changes = []
    for change in plan.changes:
        digest = _version(change.new).digest
        policy = (policies or {}).get(change.image)
        base = {k: getattr(change, k) for k in ("file", "line", "kind", "name", "image", "old", "new")}
        changes.append(AnnotatedChange(**base, digest=digest, policy=policy))
    return replace(plan, changes=tuple(changes))


def checked(build: Callable[[str], Proposal], checks: ImageChecks, registry: Callable[[], Registry],
            policies: Mapping[str, str] | None = None) -> Callable[[str], Proposal]:
    """Wrap a command's `build(base) -> Proposal`: annotate its plan, verify it when asked."""

    def wrapped(base: str) -> Proposal:
        proposal = build(base)
        plan = annotate(proposal.plan, policies)
        if checks.verify:
            verify_plan(plan, registry())
        return replace(proposal, plan=plan)

    return wrapped


def _version(text: str) -> Version:
    tag, sep, digest = text.partition("@")
    if not sep and tag.startswith("sha256:"):
        return Version(None, tag)
    return Version(tag or None, digest or None)


def _policy_only(plan: Plan) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    for path, data in plan.files.items():
        try:
            refs = find_refs(Manifest.parse(path, data))
        except ManifestError:
            continue
        out |= {(r.file, r.line) for r in refs if r.policy_only}
    return out


@dataclass
class LazyRegistry:
    """A `Registry` made on first use, so commands that never ask one open no connection."""

    token: str | None
    environ: Mapping[str, str]  # RunContext.registry_environ()
    budget: TimeBudget | None = None  # the run's --timeout
    _registry: Registry | None = field(default=None, init=False)

    _filter: logging.Filter | None = field(default=None, init=False)

    def __call__(self) -> Registry:
        if self._registry is None:
            self._registry = Registry.from_env(self.token, self.environ, self.budget)
            self._filter = _Redacting(self._registry)
            for handler in logging.getLogger("gitops_bot").handlers:
                handler.addFilter(self._filter)
        return self._registry

    def close(self) -> None:
        if self._filter is not None:
            for handler in logging.getLogger("gitops_bot").handlers:
                handler.removeFilter(self._filter)
        if self._registry is not None:
            self._registry.close()

    def __enter__(self) -> LazyRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Redacting(logging.Filter):
    """Keeps registry passwords and tokens out of every log line while a registry is open."""

    def __init__(self, registry: Registry):
        super().__init__()
        self.registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = self.registry.redact(text)
        if clean != text:
            record.msg, record.args = clean, None
        return True
