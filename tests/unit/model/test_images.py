"""Tag/digest grammar, `--image` parsing, name matching (docs/image-references.md, docs/editing.md)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from gitops_bot.cli.exits import exit_code
from gitops_bot.model.errors import UsageError
from gitops_bot.model.images import (
    TAG_RE,
    ImageString,
    Version,
    Wanted,
    matches,
    short_name,
    strip_registry,
    validate_digest,
    validate_tag,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4
API = "ghcr.io/kai-platform/kai-api-server"
PROPERTY = settings(max_examples=200)


@pytest.fixture(autouse=True, scope="module")
def _hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))


# --- tags and digests -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag", ["1a2b3c4", "v1.2.3", "1.0.0-rc.1", "_build", "2024.01.01", "A" * 128, "1.10", "0"]
)
def test_valid_tags_are_accepted(tag: str) -> None:
    assert validate_tag(tag) == tag


@pytest.mark.parametrize(
    "tag",
    ["", "A" * 129, "-leading-dash", ".leading-dot", "has space", "line\nbreak", "trailing\n", "a:b", "a#b",
     "'quoted'", '"quoted"', "a/b", "a@b", "ü", "1.0+build", "\t1", "a\x00"],
)
def test_invalid_tags_are_refused_with_exit_2(tag: str) -> None:
    with pytest.raises(UsageError, match="invalid tag") as err:
        validate_tag(tag)
    assert exit_code(err.value) == 2


def test_valid_digest_is_accepted() -> None:
    assert validate_digest(DIGEST) == DIGEST


@pytest.mark.parametrize(
    "digest",
    ["sha256:" + "a" * 63, "sha256:" + "a" * 65, "sha256:" + "A" * 64, "sha512:" + "a" * 64, "a" * 64,
     "sha256:" + "g" * 64, f"{DIGEST}\n", f" {DIGEST}"],
)
def test_invalid_digests_are_refused_with_exit_2(digest: str) -> None:
    with pytest.raises(UsageError, match="invalid digest") as err:
        validate_digest(digest)
    assert exit_code(err.value) == 2


@PROPERTY
@given(st.from_regex(TAG_RE, fullmatch=True))
def test_every_tag_of_the_contract_grammar_is_accepted(tag: str) -> None:
    assert validate_tag(tag) == tag


@PROPERTY
@given(
    st.from_regex(TAG_RE, fullmatch=True),
    st.integers(0, 127),
    st.sampled_from([" ", "\n", "\r", ":", "#", "'", '"', "/", "@", "{", "\t", "é", "\u2028"]),
)
def test_a_forbidden_character_anywhere_is_refused(tag: str, at: int, bad: str) -> None:
    candidate = tag[:at] + bad + tag[at:]
    with pytest.raises(UsageError):
        validate_tag(candidate)


# --- --image NAME=TAG ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "default", "expected"),
    [
        ("kai-api-server=5d6e7f8", None, Wanted("kai-api-server", Version("5d6e7f8"))),
        ("kai-api-server", "5d6e7f8", Wanted("kai-api-server", Version("5d6e7f8"))),
        ("kai-api-server=1.0", "9.9", Wanted("kai-api-server", Version("1.0"))),
        (f"kai-api-server@{DIGEST}", None, Wanted("kai-api-server", Version(None, DIGEST))),
        (f"kai-api-server=1.0@{DIGEST}", None, Wanted("kai-api-server", Version("1.0", DIGEST))),
        (f"{API}=v2", None, Wanted(API, Version("v2"))),
        ("localhost:5000/kai/api=v2", None, Wanted("localhost:5000/kai/api", Version("v2"))),
    ],
)
def test_wanted_parse(spec: str, default: str | None, expected: Wanted) -> None:
    assert Wanted.parse(spec, default) == expected


@pytest.mark.parametrize(
    ("spec", "default", "message"),
    [
        ("kai-api-server", None, "has no tag"),
        ("kai-api-server=", None, "invalid tag"),
        ("=1.0", None, "invalid --image"),
        ("kai api=1.0", None, "invalid --image"),
        ("kai-api-server=1.0 ", None, "invalid tag"),
        ("kai-api-server=1.0\nrm -rf /", None, "invalid tag"),
        ("kai-api-server=a:b", None, "invalid tag"),
        ("kai-api-server", "bad tag", "invalid tag"),
        ("kai-api-server@sha256:abc", None, "invalid digest"),
        (f"kai-api-server=1.0@{DIGEST.upper()}", None, "invalid digest"),
    ],
)
def test_wanted_parse_refuses_bad_input_with_exit_2(spec: str, default: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message) as err:
        Wanted.parse(spec, default)
    assert exit_code(err.value) == 2


# --- whole references ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "repository", "version"),
    [
        (f"{API}:1a2b3c4", API, Version("1a2b3c4")),
        ("redis:7.2", "redis", Version("7.2")),
        (f"bitnami/redis@{DIGEST}", "bitnami/redis", Version(None, DIGEST)),
        (f"ghcr.io/kai/api:v1@{DIGEST}", "ghcr.io/kai/api", Version("v1", DIGEST)),
        ("localhost:5000/kai/api:v1", "localhost:5000/kai/api", Version("v1")),
    ],
)
def test_image_string_parse(text: str, repository: str, version: Version) -> None:
    parsed = ImageString.parse(text)
    assert parsed == ImageString(repository, version)
    assert parsed.with_version(version) == text


@pytest.mark.parametrize(
    "text",
    ["kai-api-server", "localhost:5000/kai/api", "https://example.com/x:1", "Upper/Case:1", "a//b:1",
     "ghcr.io/kai/api:", "ghcr.io/kai/api:1 # c", "not an image", "http://redis:6379", "", "1.2.3"],
)
def test_strings_that_are_not_references(text: str) -> None:
    assert ImageString.parse(text) is None


# --- name matching --------------------------------------------------------------------------

ALIASES = {"api": "ghcr.io/kai-platform/kai-api-server", "cache": "bitnami/redis"}


@pytest.mark.parametrize(
    ("name", "repository"),
    [
        ("ghcr.io/kai-platform/kai-api-server", "ghcr.io/kai-platform/kai-api-server"),  # full repository
        ("kai-platform/kai-api-server", "ghcr.io/kai-platform/kai-api-server"),  # without the host
        ("kai-api-server", "ghcr.io/kai-platform/kai-api-server"),  # last path segment
        ("api", "ghcr.io/kai-platform/kai-api-server"),  # alias
        ("docker.io/bitnami/redis", "bitnami/redis"),  # Docker Hub is the default registry
        ("bitnami/redis", "docker.io/bitnami/redis"),
        ("index.docker.io/bitnami/redis", "docker.io/bitnami/redis"),
        ("docker.io/library/busybox", "busybox"),
        ("busybox", "docker.io/library/busybox"),
        ("redis", "docker.io/bitnami/redis"),
        ("cache", "docker.io/bitnami/redis"),  # alias to a name without a host
        ("kai/api", "localhost:5000/kai/api"),
        ("registry.example.com:5000/kai/api", "registry.example.com:5000/kai/api"),
    ],
)
def test_names_that_match(name: str, repository: str) -> None:
    assert matches(name, repository, ALIASES)


@pytest.mark.parametrize(
    ("name", "repository"),
    [
        ("api-server", "ghcr.io/kai-platform/kai-api-server"),  # a suffix is not the last segment
        ("kai", "ghcr.io/kai-platform/kai-api-server"),
        ("kai-platform", "ghcr.io/kai-platform/kai-api-server"),  # nor is a middle one
        ("ghcr.io/bitnami/redis", "docker.io/bitnami/redis"),  # another registry is another image
        ("ghcr.io/bitnami/redis", "bitnami/redis"),
        ("docker.io/kai-platform/kai-api-server", "ghcr.io/kai-platform/kai-api-server"),
        ("platform/kai-api-server", "ghcr.io/kai-platform/kai-api-server"),
        ("bitnami/redis", "docker.io/bitnami/redis-exporter"),
        ("redis", "docker.io/bitnami/redis-exporter"),
        ("coordinator", "ghcr.io/kai-platform/kai-coordinator"),  # not an alias here
    ],
)
def test_names_that_do_not_match(name: str, repository: str) -> None:
    assert not matches(name, repository, ALIASES)


def test_strip_registry_and_short_name() -> None:
    assert strip_registry("ghcr.io/kai-platform/kai-api-server") == "kai-platform/kai-api-server"
    assert strip_registry("docker.io/library/redis") == "redis"
    assert strip_registry("bitnami/redis") == "bitnami/redis"
    assert strip_registry("localhost/kai/api") == "kai/api"
    assert short_name("ghcr.io/kai-platform/kai-api-server") == "kai-api-server"
