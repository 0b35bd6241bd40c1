"""A commit subject names each image so that two images with one short name stay apart."""

from __future__ import annotations

from gitops_bot.delivery.message import subject_for
from gitops_bot.planning.plan import Change


def change(image: str, old: str, new: str, line: int) -> Change:
    return Change("c/hr.yaml", line, "HelmRelease", "db", image, old, new)


def test_two_images_sharing_a_last_segment_are_named_in_full() -> None:
    subject = subject_for("deploy", "staging", [
        change("ghcr.io/a/db", "1", "2", 10), change("ghcr.io/b/db", "1", "3", 14)])
    assert subject == "deploy(staging): ghcr.io/a/db 2, ghcr.io/b/db 3"
    long = subject_for("deploy", "staging", [  # too long to name: counted, never one name for two
        change("ghcr.io/home-operations/postgres-init", "16", "17", 10),
        change("ghcr.io/rafaribe/postgres-init", "16.1", "abc", 14),
    ])
    assert long == "deploy(staging): 2 images"


def test_one_image_keeps_its_short_name() -> None:
    assert subject_for("deploy", "staging", [change("ghcr.io/kai/api", "1", "2", 3)]) == \
        "deploy(staging): api 2"


def test_labels_are_short_names_unless_two_images_share_one() -> None:
    from gitops_bot.model.images import labels

    assert labels(["ghcr.io/a/db", "ghcr.io/kai/api", "ghcr.io/b/db", "docker.io/library/redis"]) == {
        "ghcr.io/a/db": "ghcr.io/a/db", "ghcr.io/b/db": "ghcr.io/b/db", "ghcr.io/kai/api": "api",
        "docker.io/library/redis": "redis"}
    # one image in two spellings is one image: its short name
    assert labels(["docker.io/bitnami/redis", "bitnami/redis"]) == {"docker.io/bitnami/redis": "redis",
                                                                    "bitnami/redis": "redis"}
