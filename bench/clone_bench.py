"""How much does the minimal clone save on a GitOps repository with a long deploy history?

Generates a bare repository with the project's flux/ tree and N commits of deploy history (each one
moves one service's tag in one environment, as gitops-bot does), written with `git fast-import`.
Then measures, R times each, the wall time of one deploy to staging:

  gitops-bot       `gitops-bot --repo file://… bump --env staging --image kai-api-server=TAG`
                   (shallow, blob-less, sparse fetch of one branch; plan; commit; push)
  plain git        `git clone file://…` (full) + `sed -i` + `git commit -a` + `git push`
  gitops-bot reuse the same bump with --workdir on a clone left by an earlier run (fetch + reset)

and prints the medians and the ratio plain / gitops-bot.

    python bench/clone_bench.py                      # 20,000 commits, 3 runs each
    python bench/clone_bench.py --commits 2000 --runs 1
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLUX = ROOT / "flux"
BOT = shutil.which("gitops-bot") or str(Path(sys.executable).with_name("gitops-bot"))
IDENT = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
         "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
# The scalar gitops-bot moves: `tag: 1a2b3c4  # updated by gitops-bot` (quoted or not).
TAG_LINE = re.compile(r'(?m)^(\s+tag: "?)([0-9a-f]{7})("?\s+# updated by gitops-bot)$')
API = "flux/clusters/staging/releases/api-server.yaml"


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT") and k not in (
        "GITOPS_BOT_TOKEN", "GITHUB_TOKEN")}
    env.update(IDENT, HOME=str(home), GIT_CONFIG_NOSYSTEM="1")
    return env


def git(*args: str, cwd: Path, env: dict[str, str], stdin: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode().strip()


def new_tag(rng: random.Random) -> str:
    """A 7-character hex tag that YAML reads as a string (a letter first: never a number)."""
    return rng.choice("abcdef") + "".join(rng.choice("0123456789abcdef") for _ in range(6))


def history(commits: int, seed: int = 7) -> Iterator[bytes]:
    """A fast-import stream: the flux/ tree, then `commits - 1` deploys, on main and staging."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
    files = {f"flux/{p.relative_to(FLUX).as_posix()}": p.read_text()
             for p in sorted(FLUX.rglob("*")) if p.is_file()}
    movable = sorted(path for path, text in files.items() if TAG_LINE.search(text))
    when = 1_700_000_000

    def data(text: str) -> bytes:
        raw = text.encode()
        return b"data %d\n%s\n" % (len(raw), raw)

    def commit(message: str, changed: dict[str, str]) -> bytes:
        """A commit on top of the branch's last one (fast-import keeps the tip)."""
        nonlocal when
        when += 60
        out = [b"commit refs/heads/staging\n",
               b"committer bench <bench@example.com> %d +0000\n" % when, data(message)]
        for path, text in changed.items():
            out.append(f"M 100644 inline {path}\n".encode())
            out.append(data(text))
        return b"".join(out) + b"\n"

    yield commit("initial Kai GitOps tree", files)
    for i in range(1, commits):
        path = rng.choice(movable)
        tag = new_tag(rng)
        files[path] = TAG_LINE.sub(lambda m, tag=tag: f"{m[1]}{tag}{m[3]}", files[path], count=1)
        env_name = path.split("/")[2]
        service = Path(path).stem
        yield commit(f"deploy({env_name}): kai-{service} {tag}\n\nbench commit {i}\n", {path: files[path]})
    yield b"reset refs/heads/main\nfrom refs/heads/staging\n\n"


def make_repository(where: Path, commits: int, env: dict[str, str]) -> Path:
    bare = where / "kai-gitops.git"
    git("init", "-q", "--bare", str(bare), cwd=where, env=env)
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=bare, env=env, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for chunk in history(commits):
        proc.stdin.write(chunk)
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    git("symbolic-ref", "HEAD", "refs/heads/main", cwd=bare, env=env)
    git("repack", "-a", "-d", "-q", cwd=bare, env=env)  # one pack with deltas, as a forge serves it
    for key, value in (("uploadpack.allowFilter", "true"), ("uploadpack.allowAnySHA1InWant", "true")):
        git("config", key, value, cwd=bare, env=env)
    return bare


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=20_000, help="history length (default 20000)")
    parser.add_argument("--runs", type=int, default=3, help="measurements of each method (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="clone-bench-"))
    home = tmp / "home"
    home.mkdir()
    env = clean_env(home)
    rng = random.Random(11)  # noqa: S311 - reproducible data, not secrets
    try:
        built = timed(lambda: make_repository(tmp, args.commits, env))
        bare = tmp / "kai-gitops.git"
        url = bare.as_uri()
        count = git("rev-list", "--count", "refs/heads/staging", cwd=bare, env=env)
        size = sum(p.stat().st_size for p in (bare / "objects").rglob("*") if p.is_file())
        print(f"repository: {count} commits, {size / 2**20:.1f} MiB of objects, built in {built:.1f} s "
              f"({url})")

        def bot(workdir: Path | None = None) -> None:
            extra = ["--workdir", str(workdir)] if workdir else []
            proc = subprocess.run([BOT, "--repo", url, *extra, "bump", "--env", "staging",
                                   "--image", f"kai-api-server={new_tag(rng)}"],
                                  env=env, cwd=tmp, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"gitops-bot failed: {proc.stderr}")

        def plain(run: int) -> None:
            clone = tmp / f"plain-{run}"
            git("clone", "-q", "--branch", "staging", url, str(clone), cwd=tmp, env=env)
            script = rf"s/^(\s+tag: \"?)[0-9a-f]{{7}}(\"?\s+# updated)/\1{new_tag(rng)}\2/"
            subprocess.run(["sed", "-i", "-E", script, API], cwd=clone, check=True)
            git("commit", "-q", "-a", "-m", "deploy(staging): kai-api-server", cwd=clone, env=env)
            git("push", "-q", "origin", "HEAD:refs/heads/staging", cwd=clone, env=env)
            shutil.rmtree(clone)

        reuse_dir = tmp / "reused"
        bot(reuse_dir)  # leave a clone behind for the reuse measurement
        results: dict[str, list[float]] = {"gitops-bot": [], "plain git": [], "gitops-bot reuse": []}
        for run in range(args.runs):
            results["gitops-bot"].append(timed(bot))
            results["plain git"].append(timed(lambda run=run: plain(run)))
            results["gitops-bot reuse"].append(timed(lambda: bot(reuse_dir)))
        print(f"{'method':<18} {'median':>8}   runs")
        for name, times in results.items():
            runs = ", ".join(f"{t:.2f}" for t in times)
            print(f"{name:<18} {statistics.median(times):>7.2f}s   {runs}")
        ratio = statistics.median(results["plain git"]) / statistics.median(results["gitops-bot"])
        print(f"plain git clone+sed+commit+push takes {ratio:.1f}x as long as gitops-bot clone+bump+push")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
