"""How fast does gitops-bot plan and edit a big environment?

Generates a tree of N HelmRelease documents (about 60 lines each, spread over files, some of them
multi-document) in a temporary folder, then measures, best of R runs:

  plan+edit         read every file, Manifest.parse, make_plan for one image found in ~1% of the
                    documents (the plan includes the byte-exact splice and its verification)
  prefilter         what `bump` does: only files holding one of plan.needles() (the image's last
                    segment, its alias's, or a $imagepolicy marker) are parsed; the others are
                    only checked to be well-formed YAML by libyaml in C (yamlnodes.check_syntax)
  ruamel roundtrip  for comparison: ruamel.yaml round-trip load + dump of a sample of documents

    python bench/editor_bench.py                 # 10,000 documents, a table
    python bench/editor_bench.py --docs 2000 --json
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TypeVar

from ruamel.yaml import YAML

from gitops_bot.manifests.nodes import check_syntax
from gitops_bot.manifests.scan import Manifest
from gitops_bot.model.images import Wanted
from gitops_bot.planning.plan import Rules, make_plan, needles

T = TypeVar("T")
TARGET = "kai-bench-target"
TARGET_REPO = f"ghcr.io/kai-platform/{TARGET}"


def helmrelease(i: int, image: str, tag: str) -> str:
    """One HelmRelease of about 60 lines, shaped like the Kai platform's releases."""
    return f"""\
# release {i}: generated for the editor benchmark
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: svc-{i}
  namespace: kai-ml
  labels:
    app.kubernetes.io/part-of: kai
    kai-platform.io/tier: worker
spec:
  interval: 10m
  timeout: 5m
  chart:
    spec:
      chart: gpu-worker
      version: ">=1.4.0-0 <2.0.0"
      sourceRef:
        kind: HelmRepository
        name: kai-charts
        namespace: flux-system
      interval: 30m
  install:
    remediation:
      retries: 3
  upgrade:
    cleanupOnFail: true
    remediation:
      retries: 3
      strategy: rollback
  values:
    replicaCount: {1 + i % 4}
    image:
      repository: {image}
      tag: {tag}  # updated by gitops-bot
      pullPolicy: IfNotPresent
    imagePullSecrets:
      - name: ghcr-pull-secret
    service:
      type: ClusterIP
      port: 8080
    env:
      - name: LOG_LEVEL
        value: info
      - name: REDIS_URL
        value: redis://redis-master.kai.svc.cluster.local:6379
      - name: WORKER_ID
        value: "svc-{i}"
    resources:
      requests: {{cpu: 500m, memory: 2Gi}}
      limits:
        memory: 4Gi
        nvidia.com/gpu: 1
    nodeSelector:
      kai-platform.io/gpu: "true"
    tolerations:
      - key: nvidia.com/gpu
        operator: Exists
        effect: NoSchedule
    canary:
      enabled: false
      weight: 20
      image:
        tag: ""
"""


def generate(root: Path, docs: int, seed: int) -> tuple[int, list[str]]:
    """Write the tree; return the number of files and a sample of documents' texts."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    files, i = 0, 0
    sample: list[str] = []
    while i < docs:
        count = 1 if rng.random() < 0.7 else rng.randint(2, 8)  # 30% of the files hold several documents
        count = min(count, docs - i)
        texts = []
        for j in range(i, i + count):
            image = TARGET_REPO if j % 100 == 50 else f"ghcr.io/kai-platform/kai-svc-{j % 97}"
            texts.append(helmrelease(j, image, f"{rng.getrandbits(28):07x}"))
        folder = root / f"team-{files % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"release-{files:05d}.yaml").write_text("---\n".join(texts), encoding="utf-8")
        sample.extend(texts[: max(0, 500 - len(sample))])
        files += 1
        i += count
    return files, sample


def plan_edit(paths: list[Path], root: Path, prefilter: bool) -> tuple[int, int]:
    """What `bump` does after reading the files (Session.manifests, then make_plan)."""
    wanted = [Wanted.parse(f"{TARGET}=5d6e7f8", None)]
    keys = needles(wanted, {})
    manifests = []
    for path in paths:
        data, name = path.read_bytes(), path.relative_to(root).as_posix()
        if prefilter and not any(k in data for k in keys):
            check_syntax(data, name)  # a malformed file still stops the run
            continue
        manifests.append(Manifest.parse(name, data))
    plan = make_plan(manifests, wanted, Rules())
    return len(plan.changes), len(plan.files)


def ruamel_roundtrip(sample: list[str]) -> None:
    yaml = YAML()  # round-trip mode: comments and formatting are kept
    for text in sample:
        out = io.StringIO()
        yaml.dump(yaml.load(text), out)


class Row(NamedTuple):
    mode: str
    documents: int
    seconds: float
    changes: int | None = None
    files_changed: int | None = None

    def to_json(self) -> dict[str, object]:
        return {**self._asdict(), "seconds": round(self.seconds, 3),
                "documents_per_second": round(self.documents / self.seconds)}


def best_of(runs: int, fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn()
    best = time.perf_counter() - start
    for _ in range(runs - 1):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000, help="HelmRelease documents (default 10000)")
    parser.add_argument("--sample", type=int, default=500, help="documents for ruamel.yaml (default 500)")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="gitops-bot-bench-") as tmp:
        root = Path(tmp)
        files, sample = generate(root, args.docs, args.seed)
        sample = sample[: args.sample]
        paths = sorted(root.rglob("*.yaml"))
        size = sum(p.stat().st_size for p in paths)
        rows: list[Row] = []
        for name, prefilter in (("plan+edit", False), ("prefilter", True)):
            seconds, (changes, changed_files) = best_of(
                args.runs, functools.partial(plan_edit, paths, root, prefilter)
            )
            rows.append(Row(name, args.docs, seconds, changes, changed_files))
        seconds, _ = best_of(args.runs, functools.partial(ruamel_roundtrip, sample))
        rows.append(Row("ruamel roundtrip", len(sample), seconds))

    report = {"documents": args.docs, "files": files, "bytes": size, "runs": args.runs,
              "image": TARGET_REPO, "python": sys.version.split()[0], "results": [r.to_json() for r in rows]}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.docs} HelmRelease documents in {files} files ({size / 1e6:.1f} MB), "
          f"image {TARGET} in {rows[0].changes} of them; best of {args.runs}")
    print(f"{'mode':<18}{'documents':>10}{'seconds':>10}{'docs/s':>10}{'changes':>9}")
    for row in rows:
        shown = "" if row.changes is None else str(row.changes)
        print(f"{row.mode:<18}{row.documents:>10}{row.seconds:>10.3f}"
              f"{round(row.documents / row.seconds):>10}{shown:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
