"""`validate`: report, each once at its own file:line, what would make Flux or kustomize fail, or what
gitops-bot could not edit. A working repository validates clean (docs/reading-yaml.md).

Not every YAML file is a Kubernetes object: values files, configs that generators turn into
ConfigMaps, kustomize patches and other data files are only required to be valid YAML. A file is
held to the rules of an object when a kustomization lists it as a resource, or when it says it is
one (`apiVersion` and `kind`) and no kustomization uses it as a patch.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.manifests.nodes import dig, get, scalar
from gitops_bot.manifests.scan import Manifest, find_refs
from gitops_bot.manifests.valuesfiles import ValuesUse, as_values
from gitops_bot.model.errors import ExitCode, ManifestError
from gitops_bot.model.filenames import is_kustomization
from gitops_bot.model.images import DIGEST_RE, TAG_RE
from gitops_bot.model.tree import RepoFile
from gitops_bot.planning.valuesenv import for_validation, values_files

_FLUX_GROUPS = ("helm.toolkit.fluxcd.io/", "source.toolkit.fluxcd.io/", "kustomize.toolkit.fluxcd.io/",
                "image.toolkit.fluxcd.io/", "notification.toolkit.fluxcd.io/")
_WHERE = re.compile(r"^(?P<file>.+?):(?P<line>[0-9]+): (?P<message>.*)$", re.DOTALL)
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/|gitlab\.com/|bitbucket\.org/)|\?ref=")
# Kustomization fields that name files which are not resources (patches, generator inputs, data).
_DATA_LISTS = ("patchesStrategicMerge", "crds", "generators", "transformers", "validators", "configurations")
_DATA_ITEMS = ("patches", "patchesJson6902", "replacements")
_GENERATORS = ("configMapGenerator", "secretGenerator")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}

    @classmethod
    def from_error(cls, err: ManifestError, default_file: str) -> Problem:
        """A ManifestError worded `file:line: message` as a problem at that place."""
        m = _WHERE.match(str(err))
        if m is None:
            return cls(default_file, 1, str(err))
        return cls(m["file"], int(m["line"]), m["message"])


def _line(node: yaml.Node | None, default: int = 1) -> int:
    return node.start_mark.line + 1 if node is not None else default


def _key_line(mapping: yaml.Node, key: str) -> int:
    """The line of `key:` in a mapping (where a reader looks for it)."""
    for k, _v in getattr(mapping, "value", []):
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return _line(k)
    return _line(mapping)


def _substituted(text: str | None) -> bool:
    """A Flux post-build substitution (`${VAR}`): its value is only known in the cluster."""
    return text is not None and "${" in text


@dataclass
class _Tree:
    """What the kustomizations of the checked files say about the other files."""

    paths: set[str]  # every file of the repository at the commit
    folders: set[str] = field(default_factory=set)
    resources: set[str] = field(default_factory=set)  # files listed as kustomize resources
    data: set[str] = field(default_factory=set)  # files used as patches, generator inputs, ...

    def __post_init__(self) -> None:
        for path in self.paths:
            parent = posixpath.dirname(path)
            while parent and parent not in self.folders:
                self.folders.add(parent)
                parent = posixpath.dirname(parent)

    def exists(self, path: str) -> bool:
        return path in self.paths or path in self.folders


def check_files(files: Sequence[RepoFile], repository_paths: Iterable[str] | None = None,
                values: Mapping[str, ValuesUse] | None = None) -> tuple[list[Problem], int]:
    """Problems of every file, and how many documents were checked.

    `repository_paths` lists every file of the repository (kustomize entries may point outside the
    environment's path); by default, the files given. `values`: the Helm values files among them.
    """
    problems: list[Problem] = []
    manifests: list[Manifest] = []
    for f in files:
        try:
            manifest = Manifest.parse(f.path, f.data)
        except ManifestError as err:
            problems.append(Problem.from_error(err, f.path))
            continue
        use = (values or {}).get(f.path)
        manifests.append(as_values(manifest, use) if use else manifest)
    tree = _Tree(set(repository_paths) if repository_paths is not None else {f.path for f in files})
    tree.paths.update(f.path for f in files)
    for m in manifests:
        for doc in m.docs:
            if _is_kustomization(m.path, doc):
                problems += _check_kustomization(m, doc, tree)
    docs = 0
    for m in manifests:
        for doc in m.docs:
            docs += 1
            if m.values_for is not None:
                continue  # Helm values: data, whatever keys they hold
            if not _is_kustomization(m.path, doc) and m.path not in tree.data:
                problems += _check_object(m, doc, listed=m.path in tree.resources)
        problems += _check_refs(m)
    return sorted(set(problems), key=lambda p: (p.file, p.line, p.message)), docs


def _is_kustomization(path: str, doc: yaml.Node) -> bool:
    api, kind = scalar(get(doc, "apiVersion")), scalar(get(doc, "kind"))
    if (api or "").startswith("kustomize.config.k8s.io/"):
        return True
    return is_kustomization(path) and not kind


def _check_kustomization(m: Manifest, doc: yaml.Node, tree: _Tree) -> list[Problem]:
    """Entries of `resources`/`components` must exist (relative to the file, anywhere in the
    repository); files it uses otherwise are noted as data, not objects."""
    out: list[Problem] = []
    here = posixpath.dirname(m.path)
    for key in ("resources", "components", "bases"):
        for item in _items(get(doc, key)):
            rel = scalar(item)
            if not rel or _REMOTE.search(rel) or _substituted(rel):
                continue
            target = posixpath.normpath(posixpath.join(here, rel))
            if target.startswith("../") or not tree.exists(target):
                out.append(Problem(m.path, _line(item), f"{key} entry {rel!r} does not exist"))
            elif key == "resources" and target in tree.paths:
                tree.resources.add(target)
    for rel in _data_files(doc):
        tree.data.add(posixpath.normpath(posixpath.join(here, rel)))
    return out


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _data_files(doc: yaml.Node) -> Iterator[str]:
    for key in _DATA_LISTS:
        for item in _items(get(doc, key)):
            text = scalar(item) or scalar(get(item, "path"))
            if text and "\n" not in text:  # a multi-line string is an inline patch
                yield text
    for key in _DATA_ITEMS:
        for item in _items(get(doc, key)):
            text = scalar(get(item, "path"))
            if text:
                yield text
    for key in _GENERATORS:
        for gen in _items(get(doc, key)):
            for sub in ("files", "envs"):
                for item in _items(get(gen, sub)):
                    text = scalar(item)
                    if text:
                        yield text.partition("=")[2] or text  # `key=path` or `path`
            env = scalar(get(gen, "env"))
            if env:
                yield env
    for chart in _items(get(doc, "helmCharts")):
        values = scalar(get(chart, "valuesFile"))
        if values:
            yield values


def _check_object(m: Manifest, doc: yaml.Node, listed: bool) -> list[Problem]:
    """The rules of a Kubernetes object. A file nobody lists as a resource and that does not say
    it is an object (no apiVersion and kind) is data: nothing to report."""
    api = scalar(get(doc, "apiVersion")) if isinstance(doc, yaml.MappingNode) else None
    kind = scalar(get(doc, "kind")) if isinstance(doc, yaml.MappingNode) else None
    if not api or not kind:
        if not listed:
            return []
        if not isinstance(doc, yaml.MappingNode):
            return [Problem(m.path, _line(doc), "a kustomize resource that is not a mapping")]
        return [Problem(m.path, _line(doc), "a kustomize resource without apiVersion and kind")]
    out: list[Problem] = []
    meta_name = scalar(dig(doc, "metadata", "name"))
    if not meta_name and not kind.endswith("List") and get(dig(doc, "metadata"), "generateName") is None:
        out.append(Problem(m.path, _line(doc), f"{kind} has no metadata.name"))
    if not api.startswith(_FLUX_GROUPS):
        return out
    spec = get(doc, "spec")
    name = meta_name or ""
    if spec is None:
        return [*out, Problem(m.path, _line(doc), f"{kind} {name} has no spec")]
    if kind == "HelmRelease" and api.startswith("helm.toolkit.fluxcd.io/"):
        if get(spec, "chart") is None and get(spec, "chartRef") is None:
            out.append(Problem(m.path, _key_line(doc, "spec"),
                               f"HelmRelease {name}: spec.chart or spec.chartRef is required"))
        if get(spec, "interval") is None:
            out.append(Problem(m.path, _key_line(doc, "spec"), f"HelmRelease {name}: spec.interval is required"))
        out += _check_canary(m, name, dig(spec, "values", "canary"))
    elif kind == "Kustomization" and api.startswith("kustomize.toolkit.fluxcd.io/"):
        for key in ("interval", "prune", "sourceRef"):
            if get(spec, key) is None:
                out.append(Problem(m.path, _key_line(doc, "spec"), f"Kustomization {name}: spec.{key} is required"))
    return out


def _check_refs(m: Manifest) -> list[Problem]:
    """Tags and digests as written (`TAG@sha256:…` is valid; `${VAR}` is left to Flux), and what the
    editor would refuse to touch."""
    try:
        refs = find_refs(m)
    except ManifestError as err:
        return [Problem.from_error(err, m.path)]
    out = []
    for ref in refs:
        v = ref.version
        if v.tag is not None and not _substituted(v.tag) and not TAG_RE.fullmatch(v.tag):
            out.append(Problem(m.path, ref.line, f"invalid tag {v.tag!r} for {ref.repository}"))
        if v.digest is not None and not _substituted(v.digest) and not DIGEST_RE.fullmatch(v.digest):
            out.append(Problem(m.path, ref.line, f"invalid digest {v.digest!r} for {ref.repository}"))
    return out


def _check_canary(m: Manifest, name: str, canary: yaml.Node | None) -> list[Problem]:
    if canary is None:
        return []
    out = []
    weight = get(canary, "weight")
    if isinstance(weight, yaml.ScalarNode) and not _substituted(weight.value):
        try:
            ok = 0 <= int(weight.value) <= 100
        except ValueError:
            ok = False
        if not ok:
            out.append(Problem(m.path, _line(weight), f"HelmRelease {name}: canary.weight must be 0-100"))
    enabled = get(canary, "enabled")
    if (isinstance(enabled, yaml.ScalarNode) and enabled.tag != "tag:yaml.org,2002:bool"
            and not _substituted(enabled.value)):
        out.append(Problem(m.path, _line(enabled), f"HelmRelease {name}: canary.enabled must be true/false"))
    return out


@dataclass(frozen=True)
class EnvironmentReport:
    name: str
    documents: int
    problems: tuple[Problem, ...]

    def to_json(self) -> dict[str, Any]:
        return {"documents": self.documents, "problems": [p.to_json() for p in self.problems]}


@dataclass(frozen=True)
class Validation:
    """The reports of every environment checked; any problem is bad input (exit 2)."""

    reports: tuple[EnvironmentReport, ...]

    @property
    def problems(self) -> int:
        return sum(len(r.problems) for r in self.reports)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.USAGE if self.problems else ExitCode.OK

    @property
    def error(self) -> str:
        return f"{self.problems} problem(s) found" if self.problems else ""

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.problems == 0, "environments": {r.name: r.to_json() for r in self.reports}}


def validate(session: Session, names: Sequence[str]) -> Validation:
    """Check the environments named (all when none); an environment whose path does not exist is
    bad input (exit 2), as in `bump`."""
    if names:
        session.environment(EnvRequest(names[0]))  # settles the configuration
    out = []
    for name in names or tuple(session.load_config().environments):
        env, commit = session.other_environment(name)
        files = session.files(env, commit)
        found = for_validation(session.ws, env, commit, files)  # and the environment's values files
        files += [f for f in values_files(session.ws, found.uses.values(), commit)
                  if f.path not in {g.path for g in files}]
        problems, docs = check_files(files, session.ws.paths(commit), found.uses)
        problems = sorted({*problems, *(Problem(p.file, p.line, p.message) for p in found.problems)},
                          key=lambda p: (p.file, p.line, p.message))
        out.append(EnvironmentReport(name, docs, tuple(problems)))
    return Validation(tuple(out))
