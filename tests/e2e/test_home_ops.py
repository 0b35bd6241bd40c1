"""The installed CLI on a tree shaped like a real home-ops Flux repository (fixtures/trees/home-ops)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunBot, refused
from tests.support.gitrepo import ROOT, Remote, git, make_remote

TREE = ROOT / "fixtures" / "trees" / "home-ops"
APPS = "flux/kubernetes/apps"
SONARR = f"{APPS}/default/sonarr/app/helmrelease.yaml"
POSTGRES = f"{APPS}/default/postgres/app/helmrelease.yaml"
PLEX = f"{APPS}/media/plex/app/helmrelease.yaml"
ECHO = f"{APPS}/default/echo/app/deployment.yaml"
KUSTOMIZATION = f"{APPS}/default/echo/app/Kustomization"
A, B, C, D = ("a1" * 32, "b2" * 32, "c3" * 32, "d4" * 32)
E = "e5" * 32

REFERENCES = {  # by hand, from fixtures/trees/home-ops/README.md
    "busybox": "1.37.0",
    "ghcr.io/mendhak/http-https-echo": "35",
    "bitnami/postgresql": "16",
    "bitnami/postgres-exporter": "0.17.1-debian-12-r2",
    "ghcr.io/home-operations/postgres-init": f"17.4.0@sha256:{A}",
    "ghcr.io/home-operations/sonarr": f"4.0.19.3001@sha256:{B}",
    "ghcr.io/onedr0p/exportarr": "v2.2.0",
    "registry.k8s.io/metrics-server/metrics-server": f"v0.7.2@sha256:{D}",
    "ghcr.io/rafaribe/postgres-init": "16.8",
    "ghcr.io/home-operations/plex": f"1.41.6.9685-d301f511a@sha256:{C}",
    "ghcr.io/journeydocker/plex-auto-languages": "${PAL_TAG}",
}


@pytest.fixture
def home(tmp_path: Path) -> tuple[Remote, Path]:
    remote = make_remote(tmp_path / "remote", tree=TREE)
    config = tmp_path / "gitops-bot.yaml"
    config.write_text(
        "environments:\n"
        "  home:\n    branch: main\n    path: flux/kubernetes/apps\n    source-refs: [refs/heads/main]\n"
        "    delivery: push\n"
        "  lab:\n    branch: staging\n    path: flux/kubernetes/apps\n    source-refs: [refs/heads/staging]\n"
        "    delivery: push\n"
    )
    return remote, config


def bot(run_bot: RunBot, home: tuple[Remote, Path], *args: str) -> dict:  # type: ignore[type-arg]
    remote, config = home
    proc = run_bot("--repo", remote.url, "--config", str(config), "--output", "json", *args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def original(path: str) -> bytes:
    return (TREE / path.removeprefix("flux/")).read_bytes()


def changed_files(remote: Remote, old: str, new: str) -> list[str]:
    return git("diff", "--name-only", old, new, cwd=remote.bare).split()


def test_validate_passes_the_working_tree(run_bot: RunBot, home: tuple[Remote, Path]) -> None:
    remote, config = home
    proc = run_bot("--repo", remote.url, "--config", str(config), "validate", "--env", "home")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "home: 27 documents, 0 problem(s)"
    assert proc.stderr == ""


def test_status_finds_exactly_the_references_listed_by_hand(run_bot: RunBot, home: tuple[Remote, Path]) -> None:
    board = bot(run_bot, home, "status", "--env", "home")
    assert board["environments"]["home"] == REFERENCES


def test_a_bump_changes_exactly_the_intended_bytes(run_bot: RunBot, home: tuple[Remote, Path]) -> None:
    remote = home[0]
    before = remote.head("main")
    result = bot(run_bot, home, "bump", "--env", "home", "--image", "sonarr=4.0.20.3100")
    # the old digest pinned the old image: NAME=NEW drops it
    assert [(c["file"], c["line"], c["from"], c["to"]) for c in result["changes"]] == [
        (SONARR, 36, f"4.0.19.3001@sha256:{B}", "4.0.20.3100")]
    expected = original(SONARR).replace(f"tag: 4.0.19.3001@sha256:{B}\n".encode(), b"tag: 4.0.20.3100\n")
    assert remote.show("main", SONARR) == expected
    assert changed_files(remote, before, remote.head("main")) == [SONARR]

    bot(run_bot, home, "bump", "--env", "home", "--image", f"sonarr=4.0.21.1@sha256:{E}")
    assert f"tag: 4.0.21.1@sha256:{E}\n".encode() in remote.show("main", SONARR)
    bot(run_bot, home, "bump", "--env", "home", "--image", f"plex@sha256:{E}")  # the digest only
    assert remote.show("main", PLEX) == original(PLEX).replace(C.encode(), E.encode())


def test_rollback_restores_the_exact_bytes(run_bot: RunBot, home: tuple[Remote, Path]) -> None:
    remote = home[0]
    start = remote.head("main")
    bot(run_bot, home, "bump", "--env", "home", "--image", "sonarr=4.0.20.3100", "--image", "postgresql=17.2",
        "--image", "busybox=1.37.1", "--image", "metrics-server=v0.8.0")
    result = bot(run_bot, home, "rollback", "--env", "home", "--steps", "1", "--no-hold")
    assert {c["to"] for c in result["changes"]} == {f"4.0.19.3001@sha256:{B}", "16", "1.37.0",
                                                    f"v0.7.2@sha256:{D}"}
    assert changed_files(remote, start, remote.head("main")) == []  # byte for byte the first tree
    assert b"      tag: 16\n" in remote.show("main", POSTGRES)  # `tag: 16` comes back as written


def test_a_tag_that_yaml_reads_as_a_number_is_written_quoted(run_bot: RunBot, home: tuple[Remote, Path]) -> None:
    remote = home[0]
    bot(run_bot, home, "bump", "--env", "home", "--image", "bitnami/postgresql=17.2")
    assert remote.show("main", POSTGRES) == original(POSTGRES).replace(b"tag: 16\n", b'tag: "17.2"\n')


def test_an_ambiguous_short_name_is_refused_listing_the_full_names(run_bot: RunBot,
                                                                   home: tuple[Remote, Path]) -> None:
    remote, config = home
    stderr = refused(run_bot, remote, "--config", str(config), "bump", "--env", "home",
                     "--image", "postgres-init=17.5.0")
    assert ("image 'postgres-init' is ambiguous: it names ghcr.io/home-operations/postgres-init, "
            "ghcr.io/rafaribe/postgres-init; give the full name") in stderr
    result = bot(run_bot, home, "bump", "--env", "home", "--image", "ghcr.io/rafaribe/postgres-init=16.9")
    assert [(c["file"], c["to"]) for c in result["changes"]] == [(PLEX, "16.9")]


def test_markers_and_kustomization_without_extension(run_bot: RunBot, home: tuple[Remote, Path]) -> None:
    remote = home[0]
    result = bot(run_bot, home, "bump", "--env", "home", "--image", "flux-system:echo=36")
    assert [(c["file"], c["from"], c["to"]) for c in result["changes"]] == [(ECHO, "35", "36")]
    assert remote.show("main", ECHO) == original(ECHO).replace(b"http-https-echo:35 #", b"http-https-echo:36 #")
    result = bot(run_bot, home, "bump", "--env", "home", "--image", "busybox=1.37.1")
    assert [(c["file"], c["line"]) for c in result["changes"]] == [(KUSTOMIZATION, 8)]
    assert remote.show("main", KUSTOMIZATION) == original(KUSTOMIZATION).replace(b'"1.37.0"', b'"1.37.1"')


def test_status_names_an_image_once_however_it_is_spelled(run_bot: RunBot, home: tuple[Remote, Path]) -> None:
    remote = home[0]
    spelled = original(POSTGRES).replace(b"      registry: docker.io\n", b"").replace(
        b"repository: bitnami/postgresql", b"repository: docker.io/bitnami/postgresql")
    spelled = spelled.replace(b"repository: bitnami/postgres-exporter",
                              b"repository: index.docker.io/bitnami/postgres-exporter")
    remote.commit_file("staging", POSTGRES, spelled)
    board = bot(run_bot, home, "status")
    assert board["environments"]["lab"] == board["environments"]["home"] == REFERENCES
    assert board["drift"] == []
    promoted = bot(run_bot, home, "promote", "--from", "home", "--to", "lab", "--dry-run")
    assert promoted["changes"] == []


def test_rollback_to_before_an_image_existed_lists_it_as_skipped(run_bot: RunBot,
                                                                 home: tuple[Remote, Path]) -> None:
    remote = home[0]
    start = remote.head("main")
    extra = original(POSTGRES).replace(b"name: postgres\n", b"name: redis\n", 1).replace(
        b"bitnami/postgresql", b"bitnami/redis").replace(b"tag: 16", b"tag: 7.4.1")
    remote.commit_file("main", f"{APPS}/default/postgres/app/redis.yaml", extra, "add redis")
    bot(run_bot, home, "bump", "--env", "home", "--image", "exportarr=v2.3.0")
    result = bot(run_bot, home, "rollback", "--env", "home", "--to", start, "--no-hold")
    assert [(c["image"], c["to"]) for c in result["changes"]] == [("ghcr.io/onedr0p/exportarr", "v2.2.0")]
    assert result["skipped"] == [{"image": "bitnami/redis",
                                  "reason": f"not in the environment at {start[:12]}: left at 7.4.1"}]


def test_validate_of_a_path_that_does_not_exist_is_bad_input(run_bot: RunBot, home: tuple[Remote, Path],
                                                            tmp_path: Path) -> None:
    remote, config = home
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(config.read_text().replace("path: flux/kubernetes/apps\n", "path: flux/kubernetes/appz\n", 1))
    stderr = refused(run_bot, remote, "--config", str(wrong), "validate", "--env", "home")
    assert "environment home: path 'flux/kubernetes/appz' does not exist on branch 'main'" in stderr


def test_promote_copies_the_tag_with_its_inline_digest(run_bot: RunBot, home: tuple[Remote, Path]) -> None:
    remote = home[0]
    older = original(SONARR).replace(f"4.0.19.3001@sha256:{B}".encode(), b"4.0.18.2000")
    remote.commit_file("staging", SONARR, older)
    assert bot(run_bot, home, "status")["drift"] == ["ghcr.io/home-operations/sonarr"]
    result = bot(run_bot, home, "promote", "--from", "home", "--to", "lab", "--image", "sonarr")
    assert [(c["from"], c["to"]) for c in result["changes"]] == [("4.0.18.2000", f"4.0.19.3001@sha256:{B}")]
    assert remote.show("staging", SONARR) == original(SONARR)
