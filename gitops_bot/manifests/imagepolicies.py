"""Image policies from the tree: Flux `ImagePolicy` objects and the `ImageRepository` each refers to.

An ImagePolicy (`image.toolkit.fluxcd.io/*`) gives `spec.policy` (`semver.range`,
`alphabetical.order` or `numerical.order`), optional `spec.filterTags` (`pattern`, `extract`) and
`spec.imageRepositoryRef` (`name`, `namespace` defaulting to the policy's own); the ImageRepository
gives `spec.image` and `spec.exclusionList`. A policy is named `NAMESPACE:NAME`, as the setter
markers name it. A policy whose repository is not in the tree is reported, not guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from gitops_bot.manifests.nodes import dig, get, scalar
from gitops_bot.manifests.scan import Manifest
from gitops_bot.model.errors import ConfigError
from gitops_bot.model.policy import DEFAULT_EXCLUSIONS, Policy, TagFilter

API_PREFIX = "image.toolkit.fluxcd.io/"


@dataclass(frozen=True)
class TreePolicy:
    """An ImagePolicy of the tree, resolved to its repository when the tree has it."""

    namespace: str
    name: str
    policy: Policy | None  # None: unusable, see `problem`
    where: str
    problem: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}:{self.name}"


def _doc_kind(doc: yaml.Node) -> str:
    api = scalar(get(doc, "apiVersion")) or ""
    return (scalar(get(doc, "kind")) or "") if api.startswith(API_PREFIX) else ""


def tree_policies(manifests: Sequence[Manifest]) -> list[TreePolicy]:
    repos: dict[tuple[str, str], tuple[str | None, tuple[str, ...]]] = {}
    policies: list[tuple[str, str, yaml.Node, str]] = []
    for manifest in manifests:
        for doc in manifest.docs:
            kind = _doc_kind(doc)
            name = scalar(dig(doc, "metadata", "name")) or ""
            namespace = scalar(dig(doc, "metadata", "namespace")) or "flux-system"
            where = f"{manifest.path}:{doc.start_mark.line + 1}"
            if kind == "ImageRepository" and name:
                excl = dig(doc, "spec", "exclusionList")
                exclusions = (tuple(str(scalar(n)) for n in excl.value if scalar(n) is not None)
                              if isinstance(excl, yaml.SequenceNode) else DEFAULT_EXCLUSIONS)
                repos[(namespace, name)] = (scalar(dig(doc, "spec", "image")), exclusions)
            elif kind == "ImagePolicy" and name:
                policies.append((namespace, name, doc, where))
    return [_policy(ns, name, doc, where, repos) for ns, name, doc, where in policies]


def _policy(namespace: str, name: str, doc: yaml.Node, where: str,
            repos: dict[tuple[str, str], tuple[str | None, tuple[str, ...]]]) -> TreePolicy:
    key = f"{namespace}:{name}"
    spec = dig(doc, "spec", "policy")
    kinds = [k for k in ("semver", "alphabetical", "numerical") if get(spec, k) is not None]
    if len(kinds) != 1:
        return TreePolicy(namespace, name, None, where, "spec.policy needs one of semver, alphabetical, numerical")
    kind = kinds[0]
    ref_name = scalar(dig(doc, "spec", "imageRepositoryRef", "name")) or ""
    ref_ns = scalar(dig(doc, "spec", "imageRepositoryRef", "namespace")) or namespace
    image, exclusions = repos.get((ref_ns, ref_name), (None, DEFAULT_EXCLUSIONS))
    if not image:
        return TreePolicy(namespace, name, None, where,
                          f"its ImageRepository {ref_ns}/{ref_name} is not in the environment")
    pattern = scalar(dig(doc, "spec", "filterTags", "pattern"))
    tag_filter = TagFilter(pattern, scalar(dig(doc, "spec", "filterTags", "extract")) or "") if pattern else None
    policy = Policy(
        key, kind,
        range=scalar(dig(spec, "semver", "range")) or "",
        order=scalar(dig(spec, kind, "order")) or "asc",
        filter=tag_filter, exclusions=exclusions, image=image,
    )
    try:
        policy.check(f"ImagePolicy {key}")
    except ConfigError as err:  # an invalid field makes this one policy unusable, not the run
        return TreePolicy(namespace, name, None, where, str(err))
    return TreePolicy(namespace, name, policy, where)
