"""Helm values files of an environment (docs/image-references.md, "Values files").

Three ways a file becomes one, each relative to the repository root after normalising:

1. `environments.<env>.values-files`: globs in the configuration (`*` and `?` stay inside one path
   segment, `**` spans any number of them);
2. `spec.chart.spec.valuesFiles` of a HelmRelease whose chart comes from the GitRepository
   `flux-system` (the repository Flux syncs, whose root is this repository's root);
3. a file that a kustomization of the environment turns into a ConfigMap (`configMapGenerator`
   `files:`, `path` or `key=path`) which a HelmRelease names in `spec.valuesFrom` (by name, and by
   `valuesKey`, `values.yaml` unless given).

Pure discovery over parsed manifests; reading is left to the session.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import yaml

from gitops_bot.config.settings import Environment
from gitops_bot.manifests.nodes import dig, get, scalar
from gitops_bot.manifests.sites import Manifest
from gitops_bot.model.filenames import is_kustomization

CONFIG_KIND = "ValuesFile"  # the `kind` of references in a file only the configuration names
FLUX_SOURCE = "flux-system"
DEFAULT_VALUES_KEY = "values.yaml"
# A file holding none of these cannot name a values file: it need not be parsed to discover them.
NEEDLES = (b"valuesFiles", b"valuesFile", b"valuesFrom", b"configMapGenerator")


@dataclass(frozen=True)
class ValuesUse:
    """A values file of an environment, who reads it, and where it is named (`file:line`)."""

    path: str
    kind: str
    name: str
    named_at: str


@dataclass(frozen=True)
class Problem:
    """A values-file entry that cannot be used: it leaves the repository or names no file."""

    file: str
    line: int
    message: str


@dataclass(frozen=True)
class Discovery:
    uses: Mapping[str, ValuesUse]  # path -> its first use
    problems: tuple[Problem, ...] = ()
    unmatched: tuple[str, ...] = ()  # `values-files` patterns that match no file


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A repository-relative glob as a regular expression: `*`, `?` and `[...]` within one path
    segment, `**` across segments (`helm-charts/**/values-*.yaml`)."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def _normal(base: str, rel: str) -> str | None:
    """`rel` resolved against the folder `base` (repository-relative); None when it leaves the
    repository."""
    if rel.startswith("/"):
        return None
    path = posixpath.normpath(posixpath.join(base, rel))
    return None if path == ".." or path.startswith("../") else path


def discover(env: Environment, manifests: Sequence[Manifest], repo_paths: Iterable[str]) -> Discovery:
    """The values files of an environment at one commit, from its configuration and its manifests
    (`repo_paths`: every file of the repository then)."""
    paths = set(repo_paths)
    uses: dict[str, ValuesUse] = {}
    problems: list[Problem] = []
    generated: dict[tuple[str, str], tuple[str, str]] = {}  # (ConfigMap, key) -> (file, where)
    releases: list[tuple[Manifest, yaml.Node]] = []
    for m in manifests:
        if m.values_for is not None:
            continue
        for doc in m.docs:
            api, kind = scalar(get(doc, "apiVersion")) or "", scalar(get(doc, "kind")) or ""
            if api.startswith("helm.toolkit.fluxcd.io/") and kind == "HelmRelease":
                releases.append((m, doc))
            elif api.startswith("kustomize.config.k8s.io/") or (not kind and is_kustomization(m.path)):
                _generated(m, doc, generated, problems)
    for m, doc in releases:
        name = scalar(dig(doc, "metadata", "name")) or ""
        for rel, node in _chart_values(doc):
            target = _normal("", rel)
            line = node.start_mark.line + 1
            if target is None:
                problems.append(Problem(m.path, line, f"HelmRelease {name}: valuesFiles entry {rel!r} "
                                                      f"leaves the repository"))
            elif target not in paths:
                ignore = dig(doc, "spec", "chart", "spec", "ignoreMissingValuesFiles")
                if not (isinstance(ignore, yaml.ScalarNode) and ignore.value == "true"):  # Flux fails
                    problems.append(Problem(m.path, line, f"HelmRelease {name}: values file {rel!r} does not exist"))
            else:
                uses.setdefault(target, ValuesUse(target, "HelmRelease", name, f"{m.path}:{line}"))
        for item in _items(dig(doc, "spec", "valuesFrom")):
            if (scalar(get(item, "kind")) or "") != "ConfigMap" or get(item, "targetPath") is not None:
                continue  # a Secret, or one value placed at a path: not a whole values file
            key = (scalar(get(item, "name")) or "", scalar(get(item, "valuesKey")) or DEFAULT_VALUES_KEY)
            if key in generated:
                path, where = generated[key]
                if path in paths:
                    uses.setdefault(path, ValuesUse(path, "HelmRelease", name, where))
    unmatched: list[str] = []  # the configuration's files last: a HelmRelease that reads one names it better
    for pattern in env.values_files:
        regex = glob_regex(pattern)
        matched = sorted(p for p in paths if regex.fullmatch(p))
        if not matched:
            unmatched.append(pattern)
        for path in matched:
            uses.setdefault(path, ValuesUse(path, CONFIG_KIND, posixpath.basename(path),
                                            f"environments.{env.name}.values-files"))
    return Discovery(uses, tuple(problems), tuple(unmatched))


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _chart_values(doc: yaml.Node) -> list[tuple[str, yaml.Node]]:
    """`valuesFiles` (and the older `valuesFile`) of a chart from the GitRepository flux-system."""
    chart = dig(doc, "spec", "chart", "spec")
    source = get(chart, "sourceRef")
    if scalar(get(source, "kind")) != "GitRepository" or scalar(get(source, "name")) != FLUX_SOURCE:
        return []
    entries = [*_items(get(chart, "valuesFiles"))]
    single = get(chart, "valuesFile")
    if single is not None:
        entries.append(single)
    return [(text, node) for node in entries if (text := scalar(node))]


def _generated(m: Manifest, doc: yaml.Node, out: dict[tuple[str, str], tuple[str, str]],
               problems: list[Problem]) -> None:
    """(ConfigMap name, key) -> file, for each `files:` entry of the kustomization's generators."""
    here = posixpath.dirname(m.path)
    for gen in _items(get(doc, "configMapGenerator")):
        name = scalar(get(gen, "name"))
        if not name:
            continue
        for item in _items(get(gen, "files")):
            text = scalar(item)
            if not text:
                continue
            key, sep, rel = text.partition("=")
            if not sep:
                key, rel = posixpath.basename(text), text
            path = _normal(here, rel)
            line = item.start_mark.line + 1
            if path is None:
                problems.append(Problem(m.path, line, f"configMapGenerator {name}: file {rel!r} leaves "
                                                      f"the repository"))
                continue
            out.setdefault((name, key), (path, f"{m.path}:{line}"))


def as_values(manifest: Manifest, use: ValuesUse) -> Manifest:
    """The file read as a Helm values file of `use`'s reader."""
    return replace(manifest, values_for=(use.kind, use.name))


def needs_parsing(data: bytes) -> bool:
    """Could this file name values files (so that discovery must parse it)?"""
    return any(n in data for n in NEEDLES)
