"""Helm values files (docs/image-references.md): the Kai chart's files, explicit `values-files`, and
configMapGenerator files named in `valuesFrom`; every command sees them, a shared file is refused."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote, git, make_remote

STAGING_VALUES = "helm-charts/kai/values-staging.yaml"
PRODUCTION_VALUES = "helm-charts/kai/values-production.yaml"
RAG = "ghcr.io/kai-platform/kai-rag-server"


def _json(proc: object) -> dict:  # type: ignore[type-arg]
    assert proc.returncode == 0, proc.stderr  # type: ignore[attr-defined]
    return json.loads(proc.stdout)  # type: ignore[attr-defined,no-any-return]


def test_valuesfiles_of_a_chart_from_the_gitops_repository_are_bumped_byte_exact(
        remote: Remote, run_bot: RunBot) -> None:
    before = remote.show("staging", STAGING_VALUES)
    result = _json(run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                           "--image", "kai-rag-server=5d6e7f8"))
    assert result["changes"] == [{"file": STAGING_VALUES, "line": 5, "kind": "HelmRelease", "name": "kai",
                                  "image": RAG, "from": "1a2b3c4", "to": "5d6e7f8"}]
    assert remote.show("staging", STAGING_VALUES) == before.replace(b"tag: 1a2b3c4", b"tag: 5d6e7f8")
    assert remote.show("main", PRODUCTION_VALUES).count(b"tag: 0f9e8d7") == 1  # production untouched
    changed = git("diff", "--name-only", "staging~1", "staging", cwd=remote.bare).split()
    assert changed == [STAGING_VALUES]


def test_status_history_rollback_and_promote_read_values_files(remote: Remote, run_bot: RunBot) -> None:
    board = _json(run_bot("--repo", remote.url, "--output", "json", "status"))["environments"]
    assert board["staging"][RAG] == "1a2b3c4"
    assert board["production"][RAG] == "0f9e8d7"

    for tag in ("good111", "bad2222"):
        assert run_bot("--repo", remote.url, "bump", "--env", "staging", "--image",
                       f"kai-rag-server={tag}").returncode == 0
    remote.commit_file("staging", STAGING_VALUES,
                       remote.show("staging", STAGING_VALUES).replace(b"bad2222", b"hand333"), "hand edit")
    deploys = _json(run_bot("--repo", remote.url, "--output", "json", "history", "--env", "staging",
                            "--limit", "3"))["deploys"]
    assert [d["changes"] for d in deploys] == [
        [{"image": RAG, "from": "bad2222", "to": "hand333"}],  # a hand-made commit is diffed
        [{"image": RAG, "from": "good111", "to": "bad2222"}],
        [{"image": RAG, "from": "1a2b3c4", "to": "good111"}],
    ]
    rolled = _json(run_bot("--repo", remote.url, "--output", "json", "rollback", "--env", "staging",
                           "--steps", "2"))
    assert [(c["file"], c["from"], c["to"]) for c in rolled["changes"]] == [(STAGING_VALUES, "hand333", "good111")]
    assert b"tag: good111  # updated by gitops-bot" in remote.show("staging", STAGING_VALUES)

    promoted = _json(run_bot("--repo", remote.url, "--output", "json", "promote", "--from", "staging",
                             "--to", "production", "--image", "kai-rag-server", "--delivery", "push"))
    assert [(c["file"], c["to"]) for c in promoted["changes"]] == [(PRODUCTION_VALUES, "good111")]
    assert b"tag: good111  # updated by gitops-bot" in remote.show("main", PRODUCTION_VALUES)


def test_canary_and_validate_see_values_files(remote: Remote, run_bot: RunBot) -> None:
    started = _json(run_bot("--repo", remote.url, "--output", "json", "canary", "start", "--env", "staging",
                            "--image", "kai-rag-server=c4n4ry1", "--weight", "10"))
    assert [(c["file"], c["to"]) for c in started["changes"]] == [(STAGING_VALUES, "c4n4ry1")]
    text = remote.show("staging", STAGING_VALUES)
    assert b"  enabled: true\n  weight: 10\n" in text and b'tag: "c4n4ry1"' in text
    proc = run_bot("--repo", remote.url, "validate", "--env", "staging")
    assert proc.returncode == 0, proc.stderr

    broken = remote.show("staging", STAGING_VALUES).replace(b"tag: 1a2b3c4", b"tag: [unclosed")
    remote.commit_file("staging", STAGING_VALUES, broken)
    stderr = refused(run_bot, remote, "validate", "--env", "staging")
    assert f"{STAGING_VALUES}:6: invalid YAML" in stderr


CONFIG = """\
gitops:
  repository: kai-platform/kai-gitops
environments:
  staging:
    branch: main
    path: flux/clusters/staging
    values-files: {staging}
  production:
    branch: main
    path: flux/clusters/production
    values-files: {production}
"""
SHARED = "values/common/*.yaml"
COMMON = b"# images both clusters run\nworker:\n  image: ghcr.io/kai-platform/kai-worker:1.0.0\n"


def _config(tmp_path: Path, staging: str, production: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(staging=staging, production=production))
    return str(path)


def test_explicit_values_files_and_a_file_shared_by_two_environments(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "r", extra={"values/common/workers.yaml": COMMON,
                                                "values/staging-only.yml": COMMON.replace(b"1.0.0", b"0.9.0")})
    config = _config(tmp_path, f"['{SHARED}', 'values/staging-*.yml']", f"['{SHARED}']")
    stderr = refused(run_bot, remote, "--config", config, "bump", "--env", "staging",
                     "--image", "kai-worker=2.0.0")
    assert ("values/common/workers.yaml is a values file of environment production too "
            "(environments.production.values-files)") in stderr
    assert "--allow-shared" in stderr

    result = _json(run_bot("--repo", remote.url, "--config", config, "--output", "json", "bump", "--env",
                           "staging", "--image", "kai-worker=2.0.0", "--allow-shared"))
    assert sorted((c["file"], c["from"], c["kind"]) for c in result["changes"]) == [
        ("values/common/workers.yaml", "1.0.0", "ValuesFile"), ("values/staging-only.yml", "0.9.0", "ValuesFile")]
    assert remote.show("main", "values/common/workers.yaml") == COMMON.replace(b"1.0.0", b"2.0.0")


def test_a_values_files_glob_that_leaves_the_repository_is_refused(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "r")
    for bad in ("../outside.yaml", "/etc/*.yaml"):
        stderr = refused(run_bot, remote, "--config", _config(tmp_path, f"['{bad}']", "[]"), "status")
        assert "config key 'environments.staging.values-files' leaves the repository" in stderr


KUSTOMIZATION = b"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - release.yaml
configMapGenerator:
  - name: web-values
    files:
      - values.yaml=web-values.yaml
  - name: unrelated
    files:
      - other.yaml
generatorOptions:
  disableNameSuffixHash: true
"""
RELEASE = b"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: kai
spec:
  interval: 10m
  chart:
    spec:
      chart: web
      sourceRef: {kind: HelmRepository, name: kai-charts, namespace: flux-system}
  valuesFrom:
    - kind: ConfigMap
      name: web-values
"""
WEB_VALUES = b"image:\n  repository: ghcr.io/kai-platform/kai-web\n  tag: '1.0.0'   # pinned\n"


def test_a_configmapgenerator_file_named_in_valuesfrom_is_a_values_file(tmp_path: Path, run_bot: RunBot) -> None:
    base = "flux/clusters/staging/web"
    remote = make_remote(tmp_path / "r", extra={
        f"{base}/kustomization.yaml": KUSTOMIZATION, f"{base}/release.yaml": RELEASE,
        f"{base}/web-values.yaml": WEB_VALUES, f"{base}/other.yaml": WEB_VALUES.replace(b"kai-web", b"kai-other")})
    result = _json(run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                           "--image", "kai-web=1.1.0", "--allow-missing", "--image", "kai-other=9"))
    assert [(c["file"], c["line"], c["name"], c["to"]) for c in result["changes"]] == [
        (f"{base}/web-values.yaml", 3, "web", "1.1.0")]
    assert remote.show("staging", f"{base}/web-values.yaml") == WEB_VALUES.replace(b"'1.0.0'", b"'1.1.0'")
    assert result["skipped"] == [{"image": "kai-other", "reason": "no matching image reference in the environment"}]


def test_validate_reports_a_valuesfiles_entry_that_names_no_file(tmp_path: Path, run_bot: RunBot) -> None:
    kai = "flux/clusters/staging/releases/kai.yaml"
    remote = make_remote(tmp_path / "r")
    release = remote.show("staging", kai).replace(b"values-staging.yaml", b"values-stagign.yaml")
    remote.commit_file("staging", kai, release)
    stderr = refused(run_bot, remote, "validate", "--env", "staging")
    line = release.decode().splitlines().index("        - helm-charts/kai/values-stagign.yaml") + 1
    assert f"{kai}:{line}: HelmRelease kai: values file 'helm-charts/kai/values-stagign.yaml' does not exist" in stderr
    # a bump of another image still works, with a warning that names the entry
    proc = run_bot("--repo", remote.url, "--dry-run", "bump", "--env", "staging", "--image", "kai-api-server=abc1234")
    assert proc.returncode == 0, proc.stderr
    assert "values-stagign.yaml' does not exist (skipped)" in proc.stderr


def test_a_values_file_that_is_a_symbolic_link_is_never_read(remote: Remote, run_bot: RunBot) -> None:
    scratch = remote.scratch
    git("fetch", "-q", "origin", "staging", cwd=scratch)
    git("checkout", "-q", "-B", "staging", "FETCH_HEAD", cwd=scratch)
    (scratch / STAGING_VALUES).unlink()
    (scratch / STAGING_VALUES).symlink_to("/etc/hostname")
    git("add", "-A", cwd=scratch)
    git("commit", "-qm", "values file as a link out of the repository", cwd=scratch)
    git("push", "-q", "origin", "HEAD:refs/heads/staging", cwd=scratch)
    stderr = refused(run_bot, remote, "bump", "--env", "staging", "--image", "kai-rag-server=5d6e7f8")
    assert f"skipping values file {STAGING_VALUES}: a symbolic link (not followed)" in stderr
    assert "matches no image reference" in stderr


def test_a_file_another_environment_reads_through_its_helmrelease_is_shared(tmp_path: Path, run_bot: RunBot) -> None:
    """As in examples/self.gitops-bot.yaml, both environments live on one branch; production's kai
    release reads the staging values file too."""
    kai = "flux/clusters/production/releases/kai.yaml"
    remote = make_remote(tmp_path / "r", branches=("main",))
    release = remote.show("main", kai).replace(b"values-production.yaml", b"values-staging.yaml")
    remote.commit_file("main", kai, release)
    config = tmp_path / "one-branch.yaml"
    config.write_text(CONFIG.format(staging="[]", production="[]"))
    line = release.decode().splitlines().index("        - helm-charts/kai/values-staging.yaml") + 1
    stderr = refused(run_bot, remote, "--config", str(config), "bump", "--env", "staging",
                     "--image", "kai-rag-server=5d6e7f8")
    assert f"{STAGING_VALUES} is a values file of environment production too ({kai}:{line})" in stderr
    proc = run_bot("--repo", remote.url, "--config", str(config), "bump", "--env", "production",
                   "--image", "kai-rag-server=5d6e7f8")  # the other way round too
    assert proc.returncode == 2 and "of environment staging too" in proc.stderr
