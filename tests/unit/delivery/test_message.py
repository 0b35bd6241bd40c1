"""Commit messages and trailers: what history, rollback and status read back."""

from __future__ import annotations

from gitops_bot.delivery.message import compose, image_moves, subject_for, trailer, trailers
from gitops_bot.model.context import RunContext
from gitops_bot.planning.plan import Change

API = "ghcr.io/kai-platform/kai-api-server"
COORD = "ghcr.io/kai-platform/kai-coordinator"
FILE = "flux/clusters/staging/releases/api-server.yaml"


def change(image: str = API, old: str = "1a2b3c4", new: str = "5d6e7f8", line: int = 23) -> Change:
    return Change(FILE, line, "HelmRelease", "api-server", image, old, new)


def test_message_is_exactly_the_contracts_shape() -> None:
    changes = [change()]
    text = compose(subject_for("deploy", "staging", changes), "staging", changes, context=RunContext())
    assert text == (
        "deploy(staging): kai-api-server 5d6e7f8\n\n"
        f"- kai-api-server: 1a2b3c4 -> 5d6e7f8 ({FILE}:23)\n\n"
        "Gitops-Bot-Environment: staging\n"
        f"Gitops-Bot-Image: {API} 1a2b3c4 -> 5d6e7f8\n"
    )


def test_source_and_run_trailers_when_known() -> None:
    run = RunContext.from_env({"GITHUB_REPOSITORY": "kai-platform/kai", "GITHUB_SHA": "abc123",
                               "GITHUB_RUN_ID": "77", "GITHUB_SERVER_URL": "https://ghe.example.com/"})
    text = compose("s", "staging", [change()], context=run)
    assert trailer(text, "Gitops-Bot-Source") == "kai-platform/kai@abc123"
    assert trailer(text, "Gitops-Bot-Run") == "https://ghe.example.com/kai-platform/kai/actions/runs/77"


def test_a_squash_merge_keeps_every_bumps_trailers() -> None:
    squashed = (
        "deploy(production): kai-api-server 2.0.0, kai-coordinator 2.0.1 (#7)\n\n"
        "* deploy(production): kai-api-server 2.0.0\n\n"
        "Gitops-Bot-Environment: production\n"
        f"Gitops-Bot-Image: {API} 0f9e8d7 -> 2.0.0\n\n"
        "* deploy(production): kai-coordinator 2.0.1\n\n"
        "Gitops-Bot-Environment: production\n"
        f"Gitops-Bot-Image: {COORD} 0f9e8d7 -> 2.0.1\n"
    )
    assert [(m.image, m.old, m.new) for m in image_moves(squashed)] == [
        (API, "0f9e8d7", "2.0.0"), (COORD, "0f9e8d7", "2.0.1")]


def test_many_images_make_a_short_subject() -> None:
    changes = [change(image=f"ghcr.io/kai-platform/kai-worker-{i}") for i in range(8)]
    assert subject_for("deploy", "staging", changes) == "deploy(staging): 8 images 5d6e7f8"


def test_an_image_that_had_no_tag_is_written_with_a_dash() -> None:
    text = compose("s", "staging", [change(old="")])
    assert f"Gitops-Bot-Image: {API} - -> 5d6e7f8" in text
    assert [(m.old, m.new) for m in image_moves(text)] == [("", "5d6e7f8")]
    assert trailers("no trailers here\n") == []


DIGEST = "sha256:a1fc" + "0" * 60


def test_a_single_digest_pin_names_the_image() -> None:
    worker = "ghcr.io/kai-platform/kai-workflow-finalizer"
    assert subject_for("deploy", "staging", [change(worker, "1a2b3c4", DIGEST)]) == (
        "deploy(staging): kai-workflow-finalizer@sha256:a1fc00000000…")
    assert subject_for("deploy", "staging", [change(worker, "1a2b3c4", f"5d6e7f8@{DIGEST}")]) == (
        "deploy(staging): kai-workflow-finalizer 5d6e7f8@sha256:a1fc00000000…")


def test_one_image_is_never_one_images() -> None:
    long_tag = "release-2026.12.01-build.4711-" + "a" * 40
    subject = subject_for("deploy", "staging", [change(new=long_tag)])
    assert subject == f"deploy(staging): kai-api-server {long_tag}"
    assert "1 images" not in subject


def test_several_digest_pins_are_counted() -> None:
    images = [f"ghcr.io/kai-platform/kai-service-{i}" for i in range(5)]
    assert subject_for("deploy", "staging", [change(i, "1", DIGEST) for i in images]) == (
        "deploy(staging): 5 images @sha256:a1fc00000000…")
