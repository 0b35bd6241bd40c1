"""Plan+edit throughput in documents/s (issue 13, point 3), for bench/issue13.py.

Two trees of 100,000 HelmRelease documents:
  generated  the environment of the 50 x 2,000 repository (bench/gitopsrepo.py), read from its
             objects once; one image is bumped (it is in one document), as `bump` would
  mixed      bench/editor_bench.py's tree: files of one to eight documents, the image in 1% of
             them (that benchmark's "prefilter" mode, which is `bump`'s way)
Timed: what `bump` does once it has the bytes: the needle prefilter, libyaml's syntax check of the
files it need not read, parsing the others, make_plan (the splice and its verification included).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import editor_bench
import gitopsrepo as repo

from gitops_bot.manifests.nodes import check_syntax
from gitops_bot.manifests.scan import Manifest
from gitops_bot.manifests.valuesfiles import needs_parsing
from gitops_bot.model.images import Wanted
from gitops_bot.planning.plan import Rules, make_plan, needles


def environment_files(bare: Path, env: dict[str, str]) -> list[tuple[str, bytes]]:
    listing = repo.git("ls-tree", "-r", "-z", repo.BRANCH, "--", repo.ENV_PATH, cwd=bare, env=env)
    entries = [line.split("\t", 1) for line in listing.split("\0") if line]
    shas = [meta.split()[2] for meta, _ in entries]
    proc = subprocess.run(["git", "cat-file", "--batch"], cwd=bare, env=env, check=True, capture_output=True,
                          input="".join(f"{sha}\n" for sha in shas).encode())
    out, pos, files = proc.stdout, 0, []
    for (_, name), _sha in zip(entries, shas, strict=True):
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        files.append((name, out[header_end + 1 : header_end + 1 + size]))
        pos = header_end + 1 + size + 1
    return files


def plan_edit(files: list[tuple[str, bytes]], spec: str) -> int:
    wanted = [Wanted.parse(spec, None)]
    keys = needles(wanted, {})
    manifests = []
    for name, data in files:
        if any(k in data for k in keys) or needs_parsing(data):
            manifests.append(Manifest.parse(name, data))
        else:
            check_syntax(data, name)
    plan = make_plan(manifests, wanted, Rules())
    return len(plan.changes)


def best(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def report(bare: Path, env: dict[str, str], runs: int) -> list[str]:
    files = environment_files(bare, env)
    docs = sum(data.count(b"\nkind: ") + data.startswith(b"kind: ") for _, data in files)
    spec = f"{repo.image(7, 42)}=5d6e7f8"
    changes = plan_edit(files, spec)
    seconds = best(runs, lambda: plan_edit(files, spec))
    lines = [f"generated {docs} documents, {len(files)} files, {changes} change(s): {seconds:.3f}s, "
             f"{docs / seconds:,.0f} docs/s"]
    with tempfile.TemporaryDirectory(prefix="issue13-mixed-") as tmp:
        root = Path(tmp)
        count, _sample = editor_bench.generate(root, 100_000, seed=1)
        paths = sorted(root.rglob("*.yaml"))
        changes, _files = editor_bench.plan_edit(paths, root, prefilter=True)
        seconds = best(runs, lambda: editor_bench.plan_edit(paths, root, prefilter=True))
        lines.append(f"mixed     100000 documents, {count} files, {changes} change(s): {seconds:.3f}s, "
                     f"{100_000 / seconds:,.0f} docs/s")
    return lines
