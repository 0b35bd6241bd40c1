"""Which files are Helm values files of an environment (gitops_bot/manifests/valuesfiles.py), and how their
references are read."""

from __future__ import annotations

import pytest

from gitops_bot.config.settings import Config, Environment
from gitops_bot.manifests.scan import Manifest, find_refs
from gitops_bot.manifests.valuesfiles import as_values, discover, glob_regex
from gitops_bot.model.errors import ConfigError
from gitops_bot.model.images import Wanted
from gitops_bot.planning.plan import Rules, make_plan

ENV = Environment("staging", "staging", "clusters/staging")


@pytest.mark.parametrize(("pattern", "yes", "no"), [
    ("helm-charts/kai/values-*.yaml", ["helm-charts/kai/values-staging.yaml"],
     ["helm-charts/kai/sub/values-x.yaml", "helm-charts/kai/values.yaml"]),
    ("values/**/*.yaml", ["values/a.yaml", "values/x/y/a.yaml"], ["other/values/a.yaml", "values/a.yml"]),
    ("values/?.y[am]l", ["values/a.yml", "values/b.yal"], ["values/ab.yml"]),
    ("values/[!a]*.yaml", ["values/b.yaml"], ["values/a.yaml"]),
])
def test_globs_stay_inside_a_segment_unless_double_star(pattern: str, yes: list[str], no: list[str]) -> None:
    regex = glob_regex(pattern)
    assert [p for p in yes if regex.fullmatch(p)] == yes
    assert [p for p in no if regex.fullmatch(p)] == []


def _config(values: str) -> str:
    return ("gitops: {repository: a/b}\nenvironments:\n  staging:\n    branch: staging\n"
            f"    path: clusters/staging\n    values-files: {values}\n")


def test_values_files_are_read_from_the_config_and_normalised() -> None:
    env = Config.from_text(_config("[./charts/*.yaml, values/x.yaml]"), "c").environment("staging")
    assert env.values_files == ("charts/*.yaml", "values/x.yaml")
    assert Config.from_text(_config("one.yaml"), "c").environment("staging").values_files == ("one.yaml",)


@pytest.mark.parametrize(("value", "message"), [
    ("[../up.yaml]", "leaves the repository"),
    ("[/etc/x.yaml]", "leaves the repository"),
    ("[a/../../x.yaml]", "leaves the repository"),
    ("[1]", "must be a list of strings"),
    ("{a: b}", "must be a list of strings"),
    ('[""]', "must be a list of strings"),
])
def test_bad_values_files_are_refused_naming_the_key(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"'environments.staging.values-files' {message}"):
        Config.from_text(_config(value), "c")


RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: {name}}}
spec:
  chart:
    spec:
      chart: ./charts/app
      sourceRef: {{kind: {kind}, name: {source}}}
      valuesFiles: {files}
  valuesFrom: {values_from}
"""


def _release(name: str = "app", kind: str = "GitRepository", source: str = "flux-system",
             files: str = "[]", values_from: str = "[]") -> Manifest:
    text = RELEASE.format(name=name, kind=kind, source=source, files=files, values_from=values_from)
    return Manifest.parse(f"clusters/staging/{name}.yaml", text.encode())


PATHS = ["charts/app/values.yaml", "charts/app/values-staging.yaml", "clusters/staging/app/values.yaml"]


def test_valuesfiles_of_a_chart_from_flux_system_relative_to_the_repository_root() -> None:
    found = discover(ENV, [_release(files="[./charts/app/values.yaml, charts/app/values-staging.yaml]")], PATHS)
    assert sorted(found.uses) == ["charts/app/values-staging.yaml", "charts/app/values.yaml"]
    use = found.uses["charts/app/values.yaml"]
    assert (use.kind, use.name, use.named_at) == ("HelmRelease", "app", "clusters/staging/app.yaml:9")
    assert found.problems == ()


@pytest.mark.parametrize(("kind", "source"), [("HelmRepository", "flux-system"), ("GitRepository", "other")])
def test_valuesfiles_of_other_sources_are_not_this_repository(kind: str, source: str) -> None:
    found = discover(ENV, [_release(kind=kind, source=source, files="[charts/app/values.yaml]")], PATHS)
    assert found.uses == {}


def test_valuesfiles_that_leave_the_repository_or_do_not_exist_are_problems() -> None:
    found = discover(ENV, [_release(files="[../other/values.yaml, charts/app/missing.yaml]")], PATHS)
    assert found.uses == {}
    assert [(p.line, p.message) for p in found.problems] == [
        (9, "HelmRelease app: valuesFiles entry '../other/values.yaml' leaves the repository"),
        (9, "HelmRelease app: values file 'charts/app/missing.yaml' does not exist"),
    ]


KUSTOMIZATION = """\
configMapGenerator:
  - name: app-values
    files:
      - app/values.yaml
  - name: keyed
    files:
      - custom.yaml=app/values.yaml
  - name: escape
    files:
      - ../../../etc/passwd
"""


@pytest.mark.parametrize(("values_from", "found"), [
    ("[{kind: ConfigMap, name: app-values}]", ["clusters/staging/app/values.yaml"]),
    ("[{kind: ConfigMap, name: keyed, valuesKey: custom.yaml}]", ["clusters/staging/app/values.yaml"]),
    ("[{kind: ConfigMap, name: keyed}]", []),  # valuesKey defaults to values.yaml: not this key
    ("[{kind: Secret, name: app-values}]", []),
    ("[{kind: ConfigMap, name: app-values, targetPath: image.tag}]", []),  # one value, not a file
])
def test_generated_configmaps_named_in_valuesfrom(values_from: str, found: list[str]) -> None:
    kustomization = Manifest.parse("clusters/staging/kustomization.yaml", KUSTOMIZATION.encode())
    result = discover(ENV, [kustomization, _release(kind="HelmRepository", values_from=values_from)], PATHS)
    assert sorted(result.uses) == found
    assert [p.message for p in result.problems] == [
        "configMapGenerator escape: file '../../../etc/passwd' leaves the repository"]


def test_the_config_globs_match_files_anywhere_in_the_repository() -> None:
    env = Environment("staging", "staging", "clusters/staging", values_files=("charts/*/values-staging.yaml",))
    found = discover(env, [], PATHS)
    assert list(found.uses) == ["charts/app/values-staging.yaml"]
    assert found.uses["charts/app/values-staging.yaml"].kind == "ValuesFile"
    assert found.unmatched == ()
    missing = Environment("staging", "staging", "clusters/staging", values_files=("nothing/*.yaml",))
    assert discover(missing, [], PATHS).unmatched == ("nothing/*.yaml",)


VALUES = b"""\
# the whole file is values: the mapping and string rules of spec.values apply at its root
image:
  repository: ghcr.io/kai/app
  tag: "1.0"
sidecar:
  image: ghcr.io/kai/proxy:2.0 # a string under `image`
apiVersion: not-an-object
"""


def test_a_values_file_holds_references_at_its_root() -> None:
    manifest = as_values(Manifest.parse("values.yaml", VALUES), discover(
        Environment("s", "s", "p", values_files=("values.yaml",)), [], ["values.yaml"]).uses["values.yaml"])
    refs = find_refs(manifest)
    assert [(r.repository, str(r.version), r.kind, r.name, r.line) for r in refs] == [
        ("ghcr.io/kai/app", "1.0", "ValuesFile", "values.yaml", 4),
        ("ghcr.io/kai/proxy", "2.0", "ValuesFile", "values.yaml", 6)]
    assert find_refs(Manifest.parse("values.yaml", VALUES)) == []  # read as a plain manifest: nothing
    plan = make_plan([manifest], [Wanted.parse("ghcr.io/kai/app=1.10", None)], Rules())
    assert plan.files == {"values.yaml": VALUES.replace(b'"1.0"', b'"1.10"')}


def test_a_missing_values_file_flux_is_told_to_ignore_is_no_problem() -> None:
    release = _release(files="[charts/app/missing.yaml]")
    text = release.text.replace("      valuesFiles:", "      ignoreMissingValuesFiles: true\n      valuesFiles:")
    found = discover(ENV, [Manifest.parse(release.path, text.encode())], PATHS)
    assert found.uses == {} and found.problems == ()
