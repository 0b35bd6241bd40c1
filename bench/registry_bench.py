"""What do `--verify-image`, `--pin-digest` and `reconcile` cost against a registry?

Starts Debian's `docker-registry` on 127.0.0.1 (Bearer token auth behind the tests' token server,
as ghcr.io and Docker Hub work), pushes one image and gives it N tags (`main-<sha>-<n>`), then
measures, R times each (medians):

  tags        RegistryClient.tags(): every tag (one token fetch; Distribution 2.8 sends them on one
              page, registries that page get `n=1000` and are followed through `Link`)
  policy      numerical policy with filter-tags + extract over those N tags (pure Python)
  bump        `gitops-bot bump` of one image, without registry checks
  bump+check  the same bump with --verify-image --pin-digest (one HEAD, one token)
  reconcile   `gitops-bot reconcile` of that image (tag list + policy + bump)

    python bench/registry_bench.py                    # 5,000 tags, 3 runs each
    python bench/registry_bench.py --tags 500 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gitops_bot.model.policy import Policy, TagFilter  # noqa: E402
from gitops_bot.registry.auth import RegistryAuth  # noqa: E402
from gitops_bot.registry.client import RegistryClient  # noqa: E402
from tests.support.registry import OCI_MANIFEST, docker_config, running  # noqa: E402
from tests.support.registry_tree import registry_remote, write_config  # noqa: E402

BOT = shutil.which("gitops-bot") or str(Path(sys.executable).with_name("gitops-bot"))
PATTERN = r"^main-[0-9a-f]{7}-(?P<ts>[0-9]+)$"


def median_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tags", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitops-bot-registry-bench-") as tmp_text:
        tmp = Path(tmp_text)
        with running(tmp / "registry", "token") as reg:
            reg.push_image("bench/api", "1.0.0")
            status, _, body = reg._request("GET", "/v2/bench/api/manifests/1.0.0", "bench/api",
                                           headers={"Accept": OCI_MANIFEST})
            assert status == 200
            manifest = json.loads(body)
            started = time.perf_counter()
            for n in range(args.tags):
                reg.push_manifest("bench/api", f"main-{n:07x}-{1000 + n}", manifest, OCI_MANIFEST)
            print(f"pushed {args.tags} tags in {time.perf_counter() - started:.1f}s")
            cfg = docker_config(tmp / "docker", reg.host)
            environ = {"DOCKER_CONFIG": str(cfg)}
            tags: list[str] = []

            def list_tags() -> None:
                client = RegistryClient(RegistryAuth.from_env(environ))
                tags[:] = client.tags(f"{reg.host}/bench/api")
                client.close()

            t_tags = median_of(args.runs, list_tags)
            assert len(tags) == args.tags + 1, len(tags)
            policy = Policy("api", "numerical", filter=TagFilter(PATTERN, "$ts"))
            t_policy = median_of(args.runs, lambda: policy.latest(tags))
            newest = policy.latest(tags)

            remote = registry_remote(tmp / "git", reg.host, "bench", api_tag="main-0000000-1000")
            config = write_config(tmp / "git", f"policies:\n  api:\n    filter-tags: {{pattern: '{PATTERN}', "
                                               f"extract: '$ts'}}\n    numerical: {{order: asc}}\n")
            env = {**os.environ, **environ, "GIT_CONFIG_NOSYSTEM": "1"}

            def bot(*argv: str) -> None:
                proc = subprocess.run([BOT, "--repo", remote.url, "--config", str(config), "--dry-run", *argv],
                                      env=env, capture_output=True, text=True, check=False)
                assert proc.returncode == 0, proc.stderr

            bump = ("bump", "--env", "staging", "--image", f"api={newest}")
            t_bump = median_of(args.runs, lambda: bot(*bump))
            t_checked = median_of(args.runs, lambda: bot(*bump, "--verify-image", "--pin-digest"))
            t_reconcile = median_of(args.runs, lambda: bot("reconcile", "--env", "staging"))
    print(f"tags        {t_tags * 1000:8.1f} ms  ({args.tags + 1} tags)")
    print(f"policy      {t_policy * 1000:8.1f} ms  (numerical + extract, newest {newest})")
    print(f"bump        {t_bump * 1000:8.1f} ms  (--dry-run)")
    extra = (t_checked - t_bump) * 1000
    print(f"bump+check  {t_checked * 1000:8.1f} ms  (--verify-image --pin-digest: {extra:+.0f} ms)")
    print(f"reconcile   {t_reconcile * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
