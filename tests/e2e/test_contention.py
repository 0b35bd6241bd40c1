"""Many writers at once, with the default settings: 16 over file:// and 16 over smart-HTTP (32 there
take ~55 s on a 2-CPU runner: the server runs one http-backend per request), each bumping its own
image on one branch. Every bump lands exactly once (the back-off of
gitops_bot/delivery/push.py and the default --retries); bench/issue13.py runs 64."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

from tests.conftest import BOT, bot_env
from tests.e2e.test_delivery import RELEASES, has_tag
from tests.support.gitrepo import FLUX, Remote, git, make_remote
from tests.support.http_git import GitHttpServer


def writers_remote(tmp: Path, writers: int) -> tuple[Remote, list[tuple[str, str]]]:
    """The Kai tree plus one release per writer, each with its own image: [(image, file)]."""
    tree = tmp / "tree"
    shutil.copytree(FLUX, tree)
    template = (tree / "clusters/staging/releases/api-server.yaml").read_text()
    names = [f"writer-{i:02d}" for i in range(writers)]
    for name in names:
        (tree / f"clusters/staging/releases/{name}.yaml").write_text(template.replace("api-server", name))
    return make_remote(tmp / "srv", tree=tree), [(f"kai-{n}", f"{RELEASES}/{n}.yaml") for n in names]


def all_at_once(remote: Remote, url: str, images: list[tuple[str, str]], env: dict[str, str]) -> None:
    before = remote.head("staging")
    procs = [subprocess.Popen([BOT, "--repo", url, "bump", "--env", "staging", "--image", f"{image}=build-{i:02d}"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, (image, _) in enumerate(images)]
    outcomes = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [(rc, err) for rc, _out, err in outcomes if rc != 0] == []
    subjects = git("log", "--format=%s", f"{before}..refs/heads/staging", cwd=remote.bare).splitlines()
    assert len(subjects) == len(images)  # one commit per writer: none lost, none duplicated
    assert all(s.startswith("deploy(staging): kai-writer-") for s in subjects)
    for i, (image, path) in enumerate(images):
        assert has_tag(remote.show("staging", path), f"build-{i:02d}"), image
    trailers = git("log", "--format=%(trailers:key=Gitops-Bot-Image,valueonly)", f"{before}..refs/heads/staging",
                   cwd=remote.bare).split()
    named = sorted(t.rsplit("/", 1)[-1] for t in trailers if "/" in t)
    assert named == sorted(image for image, _ in images)  # each image in exactly one commit


def test_16_writers_over_file_all_land_once(tmp_path: Path) -> None:
    remote, images = writers_remote(tmp_path, 16)
    all_at_once(remote, remote.url, images, bot_env(tmp_path))


def test_16_writers_over_smart_http_all_land_once(tmp_path: Path) -> None:
    remote, images = writers_remote(tmp_path, 16)
    token = "ghs_" + secrets.token_hex(16)
    with GitHttpServer(tmp_path / "srv", token) as server:
        all_at_once(remote, server.url_for(remote.bare.name), images,
                    bot_env(tmp_path, {"GITOPS_BOT_TOKEN": token}))
        assert ("POST", f"/{remote.bare.name}/git-receive-pack") in [(r.method, r.path) for r in server.requests]
