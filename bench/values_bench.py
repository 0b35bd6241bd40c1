"""What do Helm values files cost a bump?

Generates two bare repositories with N HelmReleases in flux/clusters/staging/releases/:

  inline       each release keeps its image in spec.values (the classic layout)
  valuesFiles  each release takes its chart from the GitRepository flux-system and lists
               charts/svc-I/values-staging.yaml, where the image lives (discovered, read, parsed)

and measures, median of R runs, the wall time of
`gitops-bot --repo file://… --dry-run bump --env staging --image svc-7=NEWTAG` on each.

    python bench/values_bench.py                 # 500 releases, 3 runs
    python bench/values_bench.py --releases 2000 --runs 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BOT = shutil.which("gitops-bot") or str(Path(sys.executable).with_name("gitops-bot"))
ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com", "GIT_CONFIG_GLOBAL": "/dev/null"}
HEAD = """apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: svc-{i}
  namespace: kai
spec:
  interval: 10m
  chart:
    spec:
      chart: {chart}
      sourceRef:
        kind: {kind}
        name: {source}
"""
IMAGE = "image:\n  repository: ghcr.io/kai-platform/svc-{i}\n  tag: 1a2b3c4  # updated by gitops-bot\n"


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True)


def make_repo(root: Path, releases: int, values_files: bool) -> str:
    seed = root / "seed"
    rel = seed / "flux" / "clusters" / "staging" / "releases"
    rel.mkdir(parents=True)
    for i in range(releases):
        if values_files:
            text = HEAD.format(i=i, chart=f"./charts/svc-{i}", kind="GitRepository", source="flux-system")
            text += f"      valuesFiles:\n        - charts/svc-{i}/values-staging.yaml\n"
            chart = seed / "charts" / f"svc-{i}"
            chart.mkdir(parents=True)
            (chart / "values-staging.yaml").write_text(IMAGE.format(i=i) + "replicaCount: 2\n")
        else:
            text = HEAD.format(i=i, chart=f"svc-{i}", kind="HelmRepository", source="kai-charts")
            text += "  values:\n" + "".join(f"    {line}\n" for line in IMAGE.format(i=i).splitlines())
        (rel / f"svc-{i}.yaml").write_text(text)
    _git("init", "-q", "-b", "staging", cwd=seed)
    _git("add", "-A", cwd=seed)
    _git("commit", "-qm", "seed", cwd=seed)
    bare = root / "repo.git"
    _git("clone", "-q", "--bare", str(seed), str(bare), cwd=root)
    _git("config", "uploadpack.allowFilter", "true", cwd=bare)
    _git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=bare)
    return bare.as_uri()


def bump_time(url: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([BOT, "--repo", url, "--dry-run", "bump", "--env", "staging", "--image",
                               "svc-7=5d6e7f8"], capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0 or "5d6e7f8" not in proc.stdout:
            raise SystemExit(f"bump failed: {proc.stderr}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--releases", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="values-bench-") as tmp:
        results = {}
        for name, flag in (("inline", False), ("valuesFiles", True)):
            root = Path(tmp) / name
            root.mkdir()
            results[name] = bump_time(make_repo(root, args.releases, flag), args.runs)
    print(f"{args.releases} releases, median of {args.runs} dry-run bumps")
    for name, seconds in results.items():
        print(f"  {name:12} {seconds:6.2f} s")
    print(f"  ratio        {results['valuesFiles'] / results['inline']:6.2f}x")


if __name__ == "__main__":
    main()
