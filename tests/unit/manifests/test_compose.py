"""Reading YAML as Flux (go-yaml v3) does, and bounded work on hostile YAML (docs/reading-yaml.md)."""

from __future__ import annotations

import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_bot.cli.exits import exit_code
from gitops_bot.manifests.compose import MAX_ALIAS_NODES, MAX_DEPTH, MAX_FILE_BYTES, _compose_events
from gitops_bot.manifests.nodes import check_syntax, dig
from gitops_bot.manifests.scan import Manifest, find_refs
from gitops_bot.model.errors import ManifestError
from tests.support.builders import helmrelease

HR = helmrelease("app")


def values(text: str) -> dict[str, str]:
    """Every scalar under its path, aliases followed (as a program loading the file sees it)."""
    out: dict[str, str] = {}

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.ScalarNode):
            out[path] = node.value
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{path}.{i}".lstrip("."))
        else:
            for k, v in node.value:
                walk(v, f"{path}.{k.value}".lstrip("."))

    walk(Manifest.parse("f.yaml", text.encode()).docs[0], "")
    return out


def refused(text: str | bytes, filename: str = "f.yaml") -> str:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(ManifestError) as err:
        Manifest.parse(filename, data)
    assert exit_code(err.value) == 2
    return str(err.value)


def test_a_redefined_anchor_is_read_and_an_alias_takes_the_latest_definition_before_it() -> None:
    text = "a: &x one\nb: *x\nc: &x two\nd: *x\ne: &x {k: three}\nf: *x\n"
    assert values(text) == {"a": "one", "b": "one", "c": "two", "d": "two", "e.k": "three", "f.k": "three"}


def test_redefined_anchors_in_app_template_values_still_yield_the_image_references() -> None:
    text = HR + (
        "    controllers:\n"
        "      app:\n"
        "        containers:\n"
        "          app:\n"
        "            image:\n"
        "              repository: ghcr.io/home-operations/sonarr\n"
        "              tag: 4.0.19.3001@sha256:" + "a" * 64 + "\n"
        "            probes:\n"
        "              liveness: &probes\n"
        "                enabled: true\n"
        "              readiness: *probes\n"
        "          sidecar:\n"
        "            image: {repository: ghcr.io/acme/side, tag: 1.2.3}\n"
        "            probes:\n"
        "              liveness: &probes\n"
        "                enabled: false\n"
        "              readiness: *probes\n"
    )
    manifest = Manifest.parse("f.yaml", text.encode())
    refs = find_refs(manifest)
    assert [(r.repository, str(r.version)) for r in refs] == [
        ("ghcr.io/home-operations/sonarr", "4.0.19.3001@sha256:" + "a" * 64),
        ("ghcr.io/acme/side", "1.2.3"),
    ]
    sidecar = dig(manifest.docs[0], "spec", "values", "controllers", "app", "containers", "sidecar",
                  "probes", "readiness", "enabled")
    assert sidecar is not None and sidecar.value == "false"


def test_anchors_and_scalar_types_match_the_c_composer_where_both_read_the_file() -> None:
    text = "a: &n 1\nb: [*n, 'q', \"d\", ~, 1.5, true, !!str 7]\nc: &m {x: 1}\nd:\n  <<: *m\n  y: 2\n"
    expected = yaml.compose(text, Loader=yaml.SafeLoader)
    text_again = text + "e: &n 2\n"  # a re-definition sends it through the event composer
    got = Manifest.parse("f.yaml", text_again.encode()).docs[0]

    def shape(node: yaml.Node) -> object:
        if isinstance(node, yaml.ScalarNode):
            return (node.tag, node.value, node.style, node.start_mark.index, node.end_mark.index)
        if isinstance(node, yaml.SequenceNode):
            return [shape(n) for n in node.value]
        return [(shape(k), shape(v)) for k, v in node.value]

    assert shape(got)[:-1] == shape(expected)  # type: ignore[index]


@pytest.mark.parametrize("text", [
    "---\n---\na: 1\n---\n",
    "# only a comment\n---\na: 1\n---\n# and another\n",
    "%YAML 1.2\n---\na: 1\n",
    "%YAML 1.1\n---\na: 1\n...\n---\nb: 2\n...\n",
    "a: 1\n...\n%YAML 1.2\n---\nb: 2\n",
])
def test_empty_documents_directives_and_document_ends_are_read(text: str) -> None:
    docs = Manifest.parse("f.yaml", text.encode()).docs
    assert all(isinstance(d, yaml.MappingNode) for d in docs)
    assert [k.value for d in docs for k, _ in d.value] in (["a"], ["a", "b"])


@pytest.mark.parametrize(("text", "expected"), [
    ("a: 1\nb: *nope\n", "f.yaml:2: invalid YAML: alias *nope refers to no anchor &nope before it"),
    ("a: &y 1\nb: &y [2]\nc: *y\nd: &y [*y]\n", "f.yaml:4: invalid YAML: alias *y lies inside the node anchored &y"),
    ("a: &y [1, *y]\n", "f.yaml:1: invalid YAML: alias *y lies inside the node anchored &y"),
    ("a: 1\nb: 2\na: 3\n", "f.yaml:3: invalid YAML: duplicate key 'a'"),
    ("a: b: c\n", "f.yaml:1: invalid YAML: mapping values are not allowed in this context at ': c'"),
])
def test_truly_invalid_yaml_names_the_line_and_the_anchor_key_or_token(text: str, expected: str) -> None:
    assert refused(text) == expected


def billion_laughs(levels: int, width: int = 9) -> str:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return HR + "".join(f"    {line}\n" for line in lines)


@pytest.mark.parametrize("levels", [8, 30])
def test_an_alias_bomb_is_refused_quickly_naming_the_file(levels: int) -> None:
    started = time.monotonic()
    message = refused(billion_laughs(levels), "clusters/staging/bomb.yaml")
    assert time.monotonic() - started < 5  # generous: linear work, whatever the number of levels
    assert message.startswith("clusters/staging/bomb.yaml:")
    assert f"aliases expand to more than {MAX_ALIAS_NODES} nodes" in message


def test_the_alias_bound_counts_every_document_of_the_file() -> None:
    doc = "a: &a [" + ", ".join(["x"] * 1000) + "]\nb: [" + ", ".join(["*a"] * 60) + "]\n"
    assert Manifest.parse("f.yaml", doc.encode()).docs  # 60,000 nodes through aliases: fine
    assert "alias bomb" in refused("---\n".join([doc] * 4))


def test_ordinary_aliases_are_well_within_the_bound() -> None:
    assert values(billion_laughs(2))["spec.values.l2.8.8.8"] == "lol"


def test_deep_nesting_is_bad_input_not_an_internal_error() -> None:
    flow = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    assert refused(flow) == f"f.yaml:1: invalid YAML: nested more than {MAX_DEPTH} levels deep"
    block = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "v\n"
    assert f"nested more than {MAX_DEPTH} levels deep" in refused(block)
    deeper = "[" * 5000 + "]" * 5000  # past libyaml's own limit
    assert refused(deeper).startswith("f.yaml:1: invalid YAML: ")


def test_deep_but_reasonable_nesting_is_read() -> None:
    text = HR + "".join("  " * (i + 3) + f"k{i}:\n" for i in range(60)) + "  " * 63 + "image: a/b:1\n"
    assert [r.repository for r in find_refs(Manifest.parse("f.yaml", text.encode()))] == ["a/b"]


def test_a_file_over_the_size_limit_is_refused_naming_it_and_the_limit() -> None:
    data = b"a: " + b"x" * MAX_FILE_BYTES + b"\n"
    expected = f"big.yaml:1: file is {len(data)} bytes, over the limit of {MAX_FILE_BYTES} bytes"
    assert refused(data, "big.yaml").startswith(expected)
    with pytest.raises(ManifestError, match=f"over the limit of {MAX_FILE_BYTES} bytes"):
        check_syntax(data, "big.yaml")


def test_the_syntax_check_accepts_what_the_reader_accepts() -> None:
    check_syntax(b"a: &x 1\nb: *x\nc: &x 2\n---\n---\n", "f.yaml")


# The event composer (used when an anchor is defined twice) builds the same trees as libyaml's.
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
                     st.sampled_from(["1.10", "0x1F", "~", "yes", "a: b", "- x", "#", "*x", "&y"]))
_trees = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)


def _shape(node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return (node.tag, node.value, node.style or None, node.start_mark.index, node.end_mark.index)
    children = node.value if isinstance(node, yaml.SequenceNode) else [x for kv in node.value for x in kv]
    return (node.tag, node.start_mark.index, node.end_mark.index, [_shape(c) for c in children])


@settings(max_examples=200)
@given(data=_trees, shared=_trees, flow=st.sampled_from([None, True, False]))
def test_the_event_composer_matches_libyaml(data: object, shared: object, flow: bool | None) -> None:
    text = yaml.safe_dump({"a": shared, "b": [shared, data], "c": shared}, default_flow_style=flow)
    expected = [_shape(d) for d in yaml.compose_all(text, Loader=yaml.CSafeLoader)]
    assert [_shape(d) for d in _compose_events(text, "f.yaml")] == expected
