"""The Flux tree under flux/ builds with kustomize and is made of valid Flux objects.

The JSON Schemas are the CRDs' openAPIV3Schema, vendored in tests/data/schemas/ (see its README.md). They are read as
the API server reads them: unknown fields are errors (server-side apply rejects fields "not declared
in schema"), and the few `x-kubernetes-validations` CEL rules they carry are evaluated too.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from jsonschema.exceptions import ValidationError

from tests.support.paths import REPO, SCHEMAS

FLUX = REPO / "flux"
ENVS = ("staging", "production")
TAGS = {"staging": "1a2b3c4", "production": "0f9e8d7"}
BRANCHES = {"staging": "staging", "production": "main"}
FLUX_GROUP = ".toolkit.fluxcd.io/"

KAI_SERVICES = {
    "api-server": ("kai", "ghcr.io/kai-platform/kai-api-server"),
    "coordinator": ("kai-ml", "ghcr.io/kai-platform/kai-coordinator"),
    "quality-assessment": ("kai-ml", "ghcr.io/kai-platform/kai-quality-assessment"),
    "image-preprocessing": ("kai-ml", "ghcr.io/kai-platform/kai-image-preprocessing"),
    "colmap-sfm": ("kai-ml", "ghcr.io/kai-platform/kai-colmap-sfm"),
    "point-cloud": ("kai-ml", "ghcr.io/kai-platform/kai-point-cloud"),
    "model-generator": ("kai-ml", "ghcr.io/kai-platform/kai-model-generator"),
    "diffusion-nerf": ("kai-ml", "ghcr.io/kai-platform/kai-diffusion-nerf"),
    "nerf-mesh-extractor": ("kai-ml", "ghcr.io/kai-platform/kai-nerf-mesh-extractor"),
    "format-converter": ("kai-ml", "ghcr.io/kai-platform/kai-format-converter"),
    "workflow-finalizer": ("kai-ml", "ghcr.io/kai-platform/kai-workflow-finalizer"),
}
GPU_WORKERS = set(KAI_SERVICES) - {"api-server", "coordinator", "workflow-finalizer"}
REDIS_IMAGE = {"registry": "docker.io", "repository": "bitnami/redis", "tag": "7.2.4-debian-12-r9"}
# The Kai chart lives in the GitOps repository itself (helm-charts/kai beside flux/), installed by the
# HelmRelease `kai` of each cluster from the GitRepository flux-system with its environment's values file.
CHARTS = REPO / "helm-charts"
KAI_CHART_IMAGE = "ghcr.io/kai-platform/kai-rag-server"

# The chart's canary block (docs/commands.md, canary).
CANARY_BLOCK = {
    "enabled": False,
    "weight": 20,
    "maxTimeMinutes": 30,
    "healthThreshold": 5,
    "criticalServices": ["api-server", "coordinator-service"],
    "image": {"tag": ""},
}


def expected_flux_objects() -> set[tuple[str, str, str, str]]:
    """(apiVersion, kind, namespace, name) of every object one environment must build to."""
    objects = {
        ("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", "flux-system"),
        ("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "flux-system"),
        ("source.toolkit.fluxcd.io/v1", "HelmRepository", "flux-system", "kai-charts"),
        ("source.toolkit.fluxcd.io/v1", "HelmRepository", "flux-system", "bitnami"),
        ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "kai", "redis"),
        ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "kai", "kai"),
        ("v1", "Namespace", None, "kai"),
        ("v1", "Namespace", None, "kai-ml"),
    }
    objects |= {
        ("helm.toolkit.fluxcd.io/v2", "HelmRelease", ns, name) for name, (ns, _) in KAI_SERVICES.items()
    }
    return objects


# --------------------------------------------------------------------------- loading


def yaml_files() -> list[Path]:
    files = sorted(p for p in FLUX.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
    assert files, f"no YAML files under {FLUX}"
    return files


def documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d is not None]
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: a document is not a mapping"
    return docs


def is_flux(doc: dict[str, Any]) -> bool:
    return FLUX_GROUP in str(doc.get("apiVersion", ""))


def helm_releases(env: str) -> dict[str, dict[str, Any]]:
    """HelmReleases of one environment by name, each checked to live in a file of the same name."""
    releases: dict[str, dict[str, Any]] = {}
    for path in sorted((FLUX / "clusters" / env / "releases").glob("*.yaml")):
        for doc in documents(path):
            if doc.get("kind") != "HelmRelease":
                continue
            name = doc["metadata"]["name"]
            assert path.stem == name, f"{path}: HelmRelease {name!r} should live in {name}.yaml"
            assert name not in releases, f"{env}: HelmRelease {name!r} defined twice"
            releases[name] = doc
    return releases


# --------------------------------------------------------------------------- schemas


def schema_dir() -> Path:
    """The pinned Flux CRD schemas vendored with the tests (tests/data/schemas/README.md)."""
    folder = SCHEMAS
    if not any(folder.glob("*.json")):
        pytest.fail(f"Flux CRD schemas missing from {folder}: they are part of the repository")
    return folder


def strict(schema: Any) -> Any:
    """Close every object schema that declares its properties, as the API server does."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


_CEL_TOKEN = re.compile(r"\s*(has\(|self(?:\.\w+)*|'[^']*'|==|!=|&&|\|\||!|\(|\))")


def cel(rule: str, obj: dict[str, Any]) -> bool:
    """Evaluate the CEL subset the Flux CRDs use: has(), ==/!= against literals, !, &&, ||."""
    tokens: list[str] = []
    pos = 0
    while pos < len(rule.rstrip()):
        match = _CEL_TOKEN.match(rule, pos)
        if not match:
            raise ValueError(f"unsupported CEL rule, extend tests/project/test_flux_tree.py: {rule}")
        tokens.append(match.group(1))
        pos = match.end()

    def field(path: str) -> tuple[bool, Any]:
        value: Any = obj
        for key in path.split(".")[1:]:
            if not isinstance(value, dict) or key not in value:
                return False, None
            value = value[key]
        return True, value

    def expect(tok: str) -> None:
        if not tokens or tokens.pop(0) != tok:
            raise ValueError(f"cannot parse CEL rule: {rule}")

    def disjunction() -> bool:
        value = conjunction()
        while tokens and tokens[0] == "||":
            tokens.pop(0)
            value = conjunction() or value
        return value

    def conjunction() -> bool:
        value = unary()
        while tokens and tokens[0] == "&&":
            tokens.pop(0)
            value = unary() and value
        return value

    def unary() -> bool:
        tok = tokens.pop(0)
        if tok == "!":
            return not unary()
        if tok == "(":
            value = disjunction()
            expect(")")
            return value
        if tok == "has(":
            present, _ = field(tokens.pop(0))
            expect(")")
            return present
        if tok.startswith("self") and tokens and tokens[0] in {"==", "!="}:
            op, literal = tokens.pop(0), tokens.pop(0)
            _, value = field(tok)
            equal = value == literal.strip("'")
            return equal if op == "==" else not equal
        raise ValueError(f"unsupported CEL rule, extend tests/project/test_flux_tree.py: {rule}")

    result = disjunction()
    if tokens:
        raise ValueError(f"cannot parse CEL rule: {rule}")
    return result


def _x_kubernetes_validations(
    _validator: Any, rules: list[dict[str, str]], instance: Any, _schema: Any
) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        return
    for rule in rules:
        if not cel(rule["rule"], instance):
            yield ValidationError(rule.get("message", rule["rule"]))


@functools.cache
def validators() -> dict[tuple[str, str], Any]:
    """(apiVersion, kind) -> validator, keyed by each schema's title ("group/version Kind")."""
    found: dict[tuple[str, str], Any] = {}
    for path in sorted(schema_dir().glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        api_version, kind = schema["title"].split()
        base = jsonschema.validators.validator_for(schema)
        base.check_schema(schema)
        cls = jsonschema.validators.extend(base, {"x-kubernetes-validations": _x_kubernetes_validations})
        found[(api_version, kind)] = cls(strict(schema), format_checker=base.FORMAT_CHECKER)
    assert found, f"no *.json schema in {schema_dir()}"
    return found


def schema_errors(doc: dict[str, Any]) -> list[str]:
    key = (doc.get("apiVersion"), doc.get("kind"))
    validator = validators().get(key)  # type: ignore[arg-type]
    if validator is None:
        return [f"no schema for {key[0]} {key[1]}"]
    errors = [
        f"{'.'.join(map(str, err.absolute_path)) or '<root>'}: {err.message}"
        for err in validator.iter_errors(doc)
    ]
    metadata = doc.get("metadata") or {}
    errors += [f"metadata.{field} is required" for field in ("name", "namespace") if not metadata.get(field)]
    return errors


# --------------------------------------------------------------------------- tests


def test_files_are_plain_yaml_with_lf_and_two_space_indentation() -> None:
    for path in yaml_files():
        raw = path.read_bytes()
        assert b"\r" not in raw, f"{path}: CR in line endings"
        assert raw.endswith(b"\n"), f"{path}: no final newline"
        text = raw.decode("utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            assert "\t" not in line, f"{path}:{number}: tab"
            assert line == line.rstrip(), f"{path}:{number}: trailing whitespace"
            indent = len(line) - len(line.lstrip(" "))
            assert indent % 2 == 0, f"{path}:{number}: indentation of {indent} spaces"
        documents(path)  # parses


@pytest.mark.parametrize("env", ENVS)
def test_kustomize_build_yields_the_flux_objects(env: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    proc = subprocess.run(
        [kubectl, "kustomize", str(FLUX / "clusters" / env)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"kubectl kustomize flux/clusters/{env} failed:\n{proc.stderr}"
    built = [d for d in yaml.safe_load_all(proc.stdout) if d is not None]
    got = [(d["apiVersion"], d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in built]
    assert len(got) == len(set(got)), f"duplicate objects in the build: {sorted(got)}"
    assert set(got) == expected_flux_objects()

    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in built}
    git = by_kind[("GitRepository", "flux-system")]["spec"]
    assert git["url"] == "ssh://git@github.com/kai-platform/kai-gitops"
    assert git["ref"] == {"branch": BRANCHES[env]}
    sync = by_kind[("Kustomization", "flux-system")]["spec"]
    assert sync["path"] == f"./flux/clusters/{env}"
    assert sync["prune"] is True
    assert sync["sourceRef"] == {"kind": "GitRepository", "name": "flux-system"}
    charts = by_kind[("HelmRepository", "kai-charts")]["spec"]
    assert (charts.get("type"), charts["url"]) == ("oci", "oci://ghcr.io/kai-platform/charts")
    assert by_kind[("HelmRepository", "bitnami")]["spec"]["url"] == "https://charts.bitnami.com/bitnami"


def test_every_flux_object_matches_its_crd_schema() -> None:
    checked: dict[str, int] = {}
    problems: list[str] = []
    for path in yaml_files():
        for doc in documents(path):
            if not is_flux(doc):
                continue
            checked[doc["kind"]] = checked.get(doc["kind"], 0) + 1
            rel = path.relative_to(REPO)
            problems += [
                f"{rel} {doc['kind']}/{doc['metadata'].get('name')}: {e}" for e in schema_errors(doc)
            ]
    assert not problems, "\n".join(problems)
    per_env = {"HelmRelease": 13, "HelmRepository": 2, "GitRepository": 1, "Kustomization": 1}
    assert checked == {kind: n * len(ENVS) for kind, n in per_env.items()}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda hr: hr["spec"]["chart"]["spec"]["sourceRef"].update(kind="HelmRepo"),
            "'HelmRepo' is not one of",
        ),
        (lambda hr: hr["spec"].update(intervall="5m"), "'intervall' was unexpected"),
        (lambda hr: hr["spec"].update(interval="ten minutes"), "does not match"),
        (lambda hr: hr["spec"]["install"]["remediation"].update(retries="3"), "'3' is not of type 'integer'"),
        (
            lambda hr: hr["spec"].update(chartRef={"kind": "OCIRepository", "name": "x"}),
            "either chart or chartRef",
        ),
        (lambda hr: hr["spec"].pop("chart"), "either chart or chartRef"),
    ],
)
def test_schema_check_rejects_broken_helmreleases(mutate: Any, expected: str) -> None:
    """The validation above is not vacuous: each kind of mistake in a real release is caught."""
    release = copy.deepcopy(helm_releases("staging")["api-server"])
    assert schema_errors(release) == []
    mutate(release)
    errors = schema_errors(release)
    assert any(expected in e for e in errors), errors


def test_cel_subset() -> None:
    rule = "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))"
    assert cel(rule, {"chart": {}})
    assert cel(rule, {"chartRef": {}})
    assert not cel(rule, {})
    assert not cel(rule, {"chart": {}, "chartRef": {}})
    rule = "!has(self.retryInterval) || self.name == 'RetryOnFailure'"
    assert cel(rule, {"name": "RemediateOnFailure"})
    assert cel(rule, {"name": "RetryOnFailure", "retryInterval": "1m"})
    assert not cel(rule, {"name": "RemediateOnFailure", "retryInterval": "1m"})
    with pytest.raises(ValueError, match="unsupported CEL"):
        cel("self.replicas > 1", {"replicas": 2})


def test_image_repositories_and_tags_per_environment() -> None:
    for env in ENVS:
        releases = helm_releases(env)
        assert set(releases) == set(KAI_SERVICES) | {"redis", "kai"}, env
        for name, (namespace, repository) in KAI_SERVICES.items():
            release = releases[name]
            assert release["metadata"]["namespace"] == namespace, (env, name)
            chart = release["spec"]["chart"]["spec"]
            assert chart["chart"] == name, (env, name)
            assert chart["sourceRef"] == {
                "kind": "HelmRepository",
                "name": "kai-charts",
                "namespace": "flux-system",
            }
            image = release["spec"]["values"]["image"]
            assert image == {"repository": repository, "tag": TAGS[env], "pullPolicy": "IfNotPresent"}, (
                env,
                name,
            )
        redis = releases["redis"]
        assert redis["spec"]["chart"]["spec"]["sourceRef"]["name"] == "bitnami"
        assert redis["spec"]["values"]["image"] == REDIS_IMAGE, env


def test_gpu_workers_are_scheduled_on_gpu_nodes() -> None:
    for env in ENVS:
        for name, release in helm_releases(env).items():
            values = release["spec"].get("values", {})  # the kai release reads values files
            gpus = values.get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
            if name in GPU_WORKERS:
                assert gpus == 1, (env, name)
                assert values["nodeSelector"], (env, name)
                assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values[
                    "tolerations"
                ], (env, name)
            else:
                assert gpus is None, (env, name)


def test_production_is_sized_above_staging() -> None:
    staging, production = helm_releases("staging"), helm_releases("production")
    for name in KAI_SERVICES:
        assert (
            production[name]["spec"]["values"]["replicaCount"]
            >= staging[name]["spec"]["values"]["replicaCount"]
        ), name
    assert (
        production["api-server"]["spec"]["values"]["replicaCount"]
        > staging["api-server"]["spec"]["values"]["replicaCount"]
    )
    assert staging["api-server"]["spec"]["values"] != production["api-server"]["spec"]["values"]


def test_every_kai_release_carries_the_canary_block() -> None:
    for env in ENVS:
        releases = helm_releases(env)
        for name in KAI_SERVICES:
            assert releases[name]["spec"]["values"].get("canary") == CANARY_BLOCK, (env, name)
        assert "canary" not in releases["redis"]["spec"]["values"], env


def test_the_kai_chart_comes_from_the_gitops_repository_with_a_values_file_per_environment() -> None:
    assert yaml.safe_load((CHARTS / "kai" / "Chart.yaml").read_text())["name"] == "kai"
    defaults = yaml.safe_load((CHARTS / "kai" / "values.yaml").read_text())
    assert "tag" not in defaults["image"]  # each environment pins its own tag in its own file
    for env in ENVS:
        chart = helm_releases(env)["kai"]["spec"]["chart"]["spec"]
        assert chart["chart"] == "./helm-charts/kai"
        assert chart["sourceRef"] == {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"}
        assert chart["valuesFiles"] == ["helm-charts/kai/values.yaml", f"helm-charts/kai/values-{env}.yaml"]
        for rel in chart["valuesFiles"]:  # relative to the root of the repository Flux syncs
            raw = (REPO / rel).read_bytes()
            assert raw.endswith(b"\n") and b"\r" not in raw and b"\t" not in raw, rel
        values = yaml.safe_load((REPO / chart["valuesFiles"][1]).read_text())
        assert values["image"] == {"repository": KAI_CHART_IMAGE, "tag": TAGS[env], "pullPolicy": "IfNotPresent"}
        assert values["canary"] == CANARY_BLOCK
