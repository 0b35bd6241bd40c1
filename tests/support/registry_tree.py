"""A small GitOps remote whose images live in a test registry on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from tests.support.gitrepo import Remote, make_remote

RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: api
  namespace: kai
spec:
  values:
    image:
      repository: {host}/{ns}/api
      tag: {api_tag}  # moved by gitops-bot
      digest: ""
"""
WORKER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
  namespace: kai
spec:
  template:
    spec:
      containers:
        - name: worker
          image: {host}/{ns}/worker:{worker_tag}
"""
CONFIG = """\
gitops:
  repository: kai-platform/kai-gitops
environments:
  staging:
    branch: staging
    path: flux/clusters/staging
    delivery: push
  production:
    branch: main
    path: flux/clusters/production
    delivery: push
{extra}"""

API = "flux/clusters/staging/api.yaml"
PROD_API = "flux/clusters/production/api.yaml"
WORKER_FILE = "flux/clusters/staging/worker.yaml"


def registry_remote(tmp: Path, host: str, ns: str, *, api_tag: str = "1.0.0", worker_tag: str = "1.0.0",
                    files: dict[str, str] | None = None) -> Remote:
    """A remote whose environments (staging on `staging`, production on `main`) each hold an api
    HelmRelease and a worker Deployment from `host/ns/…`."""
    tree = tmp / "tree"
    for env in ("staging", "production"):
        folder = tree / "clusters" / env
        folder.mkdir(parents=True)
        (folder / "api.yaml").write_text(RELEASE.format(host=host, ns=ns, api_tag=api_tag))
        (folder / "worker.yaml").write_text(WORKER.format(host=host, ns=ns, worker_tag=worker_tag))
        for name, text in (files or {}).items():
            (folder / name).write_text(text.format(host=host, ns=ns))
    return make_remote(tmp / "remote", tree)


def write_config(tmp: Path, extra: str = "") -> Path:
    path = tmp / "gitops-bot.yaml"
    path.write_text(CONFIG.format(extra=extra))
    return path
