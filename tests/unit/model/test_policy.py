"""Image policies: Flux ImagePolicy semantics, and the `registry:`/`policies:` config sections."""

from __future__ import annotations

import pytest

from gitops_bot.config.settings import Config
from gitops_bot.model.errors import ConfigError
from gitops_bot.model.policy import Policy, PolicyFailed, TagFilter, is_downgrade
from gitops_bot.model.semrange import Range, parse_version

TAGS = ["1.0.0", "1.2.0", "1.2.10", "1.10.0", "1.11.0-rc.1", "2.0.0", "v2.1", "latest", "0.9.3", "0.0.7"]


@pytest.mark.parametrize(("constraint", "newest"), [
    ("1.x", "1.10.0"),
    ("1.2.x", "1.2.10"),
    ("~1.2.0", "1.2.10"),
    ("^1.2.0", "1.10.0"),
    ("^0.9.0", "0.9.3"),
    ("^0.0.7", "0.0.7"),
    (">=1.0.0 <2.0.0", "1.10.0"),
    (">=1.0.0, <1.10.0", "1.2.10"),
    ("1.0 - 1.2", "1.2.10"),
    ("1.0.0 - 1.2.5", "1.2.0"),
    ("*", "v2.1"),
    (">=2.0.0", "v2.1"),
    ("<1.0.0 || 2.0.x", "2.0.0"),
    (">=1.11.0-0 <2.0.0", "1.11.0-rc.1"),  # a range naming a pre-release admits pre-releases
    ("5.x", None),
    ("!=2.1.0", "2.0.0"),
    ("<=1.2", "1.2.10"),
    (">1.2", "v2.1"),
])
def test_semver_ranges_pick_the_newest_allowed(constraint: str, newest: str | None) -> None:
    assert Policy("p", "semver", range=constraint).latest(TAGS) == newest


def test_versions_are_read_leniently_like_flux() -> None:
    assert str(parse_version("v1.2")) == "1.2.0"
    assert str(parse_version("3")) == "3.0.0"
    assert parse_version("1.2.3.4") is None
    assert parse_version("latest") is None
    assert not Range.parse("1.x").holds(parse_version("1.2.0-rc.1"))  # type: ignore[arg-type]


def test_semver_downgrade() -> None:
    assert is_downgrade("1.3.0", "1.2.9")
    assert not is_downgrade("1.2.0", "1.2.0")
    assert not is_downgrade("main-abc", "1.0.0")  # no version to compare with


def test_numerical_with_extract_and_go_named_groups() -> None:
    tags = ["main-aaaaaaa-100", "main-bbbbbbb-200", "main-ccccccc-30", "dev-ddddddd-900", "main-e-1"]
    for pattern in (r"^main-[0-9a-f]{7}-(?P<ts>[0-9]+)$", r"^main-[0-9a-f]{7}-(?<ts>[0-9]+)$"):
        asc = Policy("p", "numerical", filter=TagFilter(pattern, "$ts"))
        assert asc.latest(tags) == "main-bbbbbbb-200"
        desc = Policy("p", "numerical", order="desc", filter=TagFilter(pattern, "${ts}"))
        assert desc.latest(tags) == "main-ccccccc-30"
    assert Policy("p", "numerical", filter=TagFilter(r"^v(\d+)$", "$1")).latest(["v9", "v10", "x"]) == "v10"


def test_numerical_fails_on_a_value_that_is_not_a_number() -> None:
    with pytest.raises(PolicyFailed, match=r"'abc' .* not a number"):
        Policy("p", "numerical").latest(["1", "2", "abc"])
    with pytest.raises(PolicyFailed, match=r"'1_000' .* not a number"):
        Policy("p", "numerical").latest(["1", "1_000"])
    assert Policy("p", "numerical").latest(["9", "10.5", "1e3", "-4"]) == "1e3"


def test_alphabetical_orders_and_exclusions() -> None:
    tags = ["2024-01-01", "2024-03-05", "2023-12-31", "2024-03-05.sig", "RELEASE"]
    dated = TagFilter(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    assert Policy("p", "alphabetical", filter=dated).latest(tags) == "2024-03-05"
    assert Policy("p", "alphabetical", order="desc", filter=dated).latest(tags) == "2023-12-31"
    assert Policy("p", "alphabetical").latest(tags) == "RELEASE"  # byte order: letters after digits
    assert Policy("p", "alphabetical", filter=TagFilter("^2024")).latest(tags) == "2024-03-05"  # .sig excluded
    assert Policy("p", "alphabetical", filter=TagFilter("^2024"), exclusions=()).latest(tags) == "2024-03-05.sig"


def test_filter_is_unanchored_like_go_matchstring() -> None:
    assert Policy("p", "alphabetical", filter=TagFilter("rc")).latest(["1.0-rc1", "2.0", "1.1-rc2"]) == "1.1-rc2"


def test_no_candidate_is_none() -> None:
    assert Policy("p", "semver", range="1.x", filter=TagFilter("^release-")).latest(TAGS) is None
    assert Policy("p", "alphabetical").latest([]) is None


CONFIG = """\
registry:
  verify: true
  pin-digest: false
policies:
  kai-api-server:
    filter-tags: {pattern: '^main-[0-9a-f]{7}-(?P<ts>[0-9]+)$', extract: '$ts'}
    numerical: {order: asc}
  bitnami/redis:
    semver: {range: '7.2.x'}
  web:
    alphabetical: {}
"""


def test_config_sections_parse() -> None:
    config = Config.from_text(CONFIG, "cfg")
    assert (config.registry.verify, config.registry.pin_digest) == (True, False)
    assert config.policies["bitnami/redis"].describe() == "semver 7.2.x"
    assert config.policies["web"].order == "asc"
    api = config.policies["kai-api-server"]
    assert (api.kind, api.order, api.filter) == ("numerical", "asc", TagFilter(
        "^main-[0-9a-f]{7}-(?P<ts>[0-9]+)$", "$ts"))
    defaults = Config.defaults()
    assert (defaults.registry.verify, defaults.registry.pin_digest, dict(defaults.policies)) == (False, False, {})


@pytest.mark.parametrize(("text", "message"), [
    ("registry: {verify: 'yes'}", "config key 'registry.verify' must be true or false"),
    ("registry: {check: true}", "unknown config key 'registry.check'"),
    ("registry: [verify]", "config key 'registry' must be a mapping"),
    ("policies: [a]", "config key 'policies' must map image names to policies"),
    ("policies: {a: {}}", "config key 'policies.a' needs exactly one of semver, alphabetical or numerical"),
    ("policies: {a: {semver: {range: 1.x}, numerical: {}}}", "(has semver, numerical)"),
    ("policies: {a: {semver: {}}}", "config key 'policies.a.semver.range' is missing"),
    ("policies: {a: {semver: {range: 'one'}}}", "config key 'policies.a.semver.range': semver range 'one'"),
    ("policies: {a: {numerical: {order: up}}}", "config key 'policies.a.numerical.order' must be asc or desc"),
    ("policies: {a: {alphabetical: {sort: asc}}}", "unknown config key 'policies.a.alphabetical.sort'"),
    ("policies: {a: {alphabetical: {}, filter-tags: {extract: $x}}}",
     "config key 'policies.a.filter-tags.pattern' is missing"),
    ("policies: {a: {alphabetical: {}, filter-tags: {pattern: '('}}}",
     "config key 'policies.a.filter-tags.pattern': invalid regular expression"),
    ("policies: {a: {alphabetical: {}, filter-tags: {pattern: '(?P<x>.)', extract: '$y'}}}",
     "config key 'policies.a.filter-tags.extract' names $y, which is not a group of the pattern"),
    ("policies: {a: {alphabetical: {}, filterTags: {pattern: x}}}", "unknown config key 'policies.a.filterTags'"),
])
def test_bad_sections_are_refused_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_text(text, "cfg.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("cfg.yaml: ")


@pytest.mark.parametrize(("pattern", "reason"), [
    (r"^(a)\1$", "invalid escape sequence"),   # a backreference: Python's re accepts it, Go's regexp does not
    (r"^main-(?=[0-9])", "invalid perl operator"),  # look-ahead, the same
])
def test_patterns_are_go_regexp_not_python_re(pattern: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        TagFilter(pattern).check("policies.a.filter-tags")
    message = str(caught.value)
    assert message.startswith("config key 'policies.a.filter-tags.pattern': invalid regular expression")
    assert reason in message and "\n" not in message


def test_a_backtracking_pattern_is_matched_in_linear_time() -> None:
    # `(a+)+$` against a run of `a`s and one `b` takes about 2**n steps in a backtracking engine
    # (minutes at n=30 with Python's re); RE2 answers in one pass. This is the shape of pattern a
    # branch's ImagePolicy could carry to stall `reconcile`.
    policy = Policy("a", "alphabetical", filter=TagFilter(r"(a+)+$"))
    tags = ["a" * 30 + "b", "aaa"]
    assert policy.latest(tags) == "aaa"
