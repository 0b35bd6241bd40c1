"""Image states of an environment at a commit, and the differences between two of them."""

from __future__ import annotations

from collections.abc import Iterable

from gitops_bot.manifests.scan import ImageRef
from gitops_bot.model.images import display_name
from gitops_bot.planning.plan import Change


def diff_refs(before: Iterable[ImageRef], after: Iterable[ImageRef]) -> list[Change]:
    """Image references whose version differs between two states, keyed by where they live."""
    old = {ref.key: ref for ref in before}
    out = []
    for ref in after:
        prev = old.get(ref.key)
        if prev is None or prev.version != ref.version or prev.repository != ref.repository:
            same_image = prev is not None and prev.repository == ref.repository
            out.append(Change(ref.file, ref.line, ref.kind, ref.name, ref.repository,
                              str(prev.version) if prev and same_image else "", str(ref.version)))
    return out


def versions(refs: Iterable[ImageRef]) -> dict[str, str]:
    """image -> its version (several distinct versions are joined with ' | ').

    An image is named once however it is spelled: `docker.io/bitnami/redis` is `bitnami/redis`.
    """
    seen: dict[str, list[str]] = {}
    for ref in refs:
        if not str(ref.version):  # a kustomize entry without newTag: the workload's tag applies
            continue
        tags = seen.setdefault(display_name(ref.repository), [])
        if str(ref.version) not in tags:
            tags.append(str(ref.version))
    return {repo: " | ".join(tags) for repo, tags in sorted(seen.items())}
