"""`validate`: check every manifest of an environment; report each problem as file:line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

from gitops_bot.errors import ManifestError
from gitops_bot.images import DIGEST_RE, TAG_RE
from gitops_bot.manifests import Manifest, find_refs
from gitops_bot.workspace import RepoFile
from gitops_bot.yamlnodes import dig, get, scalar

_FLUX_GROUPS = ("helm.toolkit.fluxcd.io/", "source.toolkit.fluxcd.io/", "kustomize.toolkit.fluxcd.io/",
                "image.toolkit.fluxcd.io/", "notification.toolkit.fluxcd.io/")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}


def _line(node: yaml.Node | None, default: int = 1) -> int:
    return node.start_mark.line + 1 if node is not None else default


def _key_line(mapping: yaml.Node, key: str) -> int:
    """The line of `key:` in a mapping (where a reader looks for it)."""
    for k, _v in getattr(mapping, "value", []):
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return _line(k)
    return _line(mapping)


def check_files(files: Sequence[RepoFile]) -> tuple[list[Problem], int]:
    """Problems of every file, and how many documents were checked."""
    problems: list[Problem] = []
    manifests: list[Manifest] = []
    for f in files:
        try:
            manifests.append(Manifest.parse(f.path, f.data))
        except ManifestError as err:
            where, _, rest = str(err).partition(": ")
            path, _, line = where.rpartition(":")
            problems.append(Problem(path or f.path, int(line) if line.isdigit() else 1, rest or str(err)))
    present = {f.path for f in files}
    docs = 0
    for m in manifests:
        for doc in m.docs:
            docs += 1
            problems += _check_doc(m, doc, present)
        try:
            refs = find_refs(m)
        except ManifestError as err:
            problems.append(Problem(m.path, 1, str(err)))
            continue
        for ref in refs:
            v = ref.version
            if v.tag is not None and not TAG_RE.fullmatch(v.tag):
                problems.append(Problem(m.path, ref.line, f"invalid tag {v.tag!r} for {ref.repository}"))
            if v.digest is not None and not DIGEST_RE.fullmatch(v.digest):
                problems.append(Problem(m.path, ref.line, f"invalid digest {v.digest!r}"))
    return sorted(problems, key=lambda p: (p.file, p.line)), docs


def _check_doc(m: Manifest, doc: yaml.Node, present: set[str]) -> list[Problem]:
    out: list[Problem] = []
    if not isinstance(doc, yaml.MappingNode):
        return [Problem(m.path, _line(doc), "document is not a mapping")]
    api, kind = scalar(get(doc, "apiVersion")), scalar(get(doc, "kind"))
    name = PurePosixPath(m.path).name
    if (api or "").startswith("kustomize.config.k8s.io/") or (not kind and name == "kustomization.yaml"):
        for key in ("resources", "components"):
            items = get(doc, key)
            for item in getattr(items, "value", []) or []:
                rel = scalar(item)
                if rel and "://" not in rel:
                    target = str(PurePosixPath(m.path).parent / rel)
                    target = str(PurePosixPath(*_normalize(target)))
                    if target not in present and not any(p.startswith(target + "/") for p in present):
                        out.append(Problem(m.path, _line(item), f"{key} entry {rel!r} does not exist"))
        return out
    if not api or not kind:
        return [Problem(m.path, _line(doc), "missing apiVersion or kind")]
    meta_name = scalar(dig(doc, "metadata", "name"))
    if not meta_name:
        out.append(Problem(m.path, _line(doc), f"{kind} has no metadata.name"))
    if api.startswith(_FLUX_GROUPS):
        spec = get(doc, "spec")
        if spec is None:
            out.append(Problem(m.path, _line(doc), f"{kind} {meta_name} has no spec"))
        elif kind == "HelmRelease":
            if get(spec, "chart") is None and get(spec, "chartRef") is None:
                out.append(Problem(m.path, _key_line(doc, "spec"), f"HelmRelease {meta_name}: spec.chart or "
                                                                   f"spec.chartRef is required"))
            if get(spec, "interval") is None:
                out.append(Problem(m.path, _key_line(doc, "spec"),
                                   f"HelmRelease {meta_name}: spec.interval is required"))
            out += _check_canary(m, meta_name or "", dig(spec, "values", "canary"))
    return out


def _check_canary(m: Manifest, name: str, canary: yaml.Node | None) -> list[Problem]:
    if canary is None:
        return []
    out = []
    weight = get(canary, "weight")
    if isinstance(weight, yaml.ScalarNode):
        try:
            ok = 0 <= int(weight.value) <= 100
        except ValueError:
            ok = False
        if not ok:
            out.append(Problem(m.path, _line(weight), f"HelmRelease {name}: canary.weight must be 0-100"))
    enabled = get(canary, "enabled")
    if isinstance(enabled, yaml.ScalarNode) and enabled.tag != "tag:yaml.org,2002:bool":
        out.append(Problem(m.path, _line(enabled), f"HelmRelease {name}: canary.enabled must be true/false"))
    return out


def _normalize(path: str) -> list[str]:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return parts
