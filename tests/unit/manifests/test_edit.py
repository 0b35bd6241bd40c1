"""The byte-exact editor (docs/editing.md): fixtures, quoting rules, refusals, property tests."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from gitops_bot.cli.exits import exit_code
from gitops_bot.manifests.edit import Edit, needs_quotes, render, splice
from gitops_bot.manifests.scan import Manifest, Site, find_refs
from gitops_bot.model.errors import ManifestError
from gitops_bot.model.images import TAG_RE, Wanted
from gitops_bot.planning.plan import Plan, Rules, make_plan
from tests.support.builders import helmrelease
from tests.support.paths import REPO

EDITOR = REPO / "fixtures" / "editor"
CASES: list[dict[str, Any]] = yaml.safe_load((EDITOR / "cases.yaml").read_text(encoding="utf-8"))["cases"]
FIXTURES = sorted(p.name for p in EDITOR.glob("*.yaml") if p.name != "cases.yaml")
PROPERTY = settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])


def plan_for(name: str, data: bytes, *specs: str, **rules: Any) -> Plan:
    return make_plan([Manifest.parse(name, data)], [Wanted.parse(s, None) for s in specs], Rules(**rules))


# --- byte-exact edits of every fixture ---------------------------------------------------------


def apply_edits(data: bytes, edits: list[list[Any]]) -> bytes:
    """The expected file: on each listed line, the one occurrence of `old` becomes `new`."""
    lines = data.decode("utf-8").split("\n")  # keeps "\r" and the BOM where they are
    for line, old, new in edits:
        assert lines[line - 1].count(old) == 1, f"cases.yaml: {old!r} is not unique on line {line}"
        lines[line - 1] = lines[line - 1].replace(old, new)
    return "\n".join(lines).encode("utf-8")


_VERSION_CHARS = re.compile(r"[A-Za-z0-9_.:@-]*")


def assert_only_version_chars(old: str, new: str) -> None:
    """Between `old` and `new`, only version characters differ, plus one pair of added quotes."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    removed, added = old[prefix : len(old) - suffix], new[prefix : len(new) - suffix]
    assert _VERSION_CHARS.fullmatch(removed), removed
    assert _VERSION_CHARS.fullmatch(added.replace('"', "")), added
    assert new.count('"') - old.count('"') in (0, 2)
    assert new.count("'") == old.count("'")


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['file']}[{' '.join(c['bump'])}]")
def test_fixture_is_edited_byte_exact(case: dict[str, Any]) -> None:
    data = (EDITOR / case["file"]).read_bytes()
    plan = plan_for(case["file"], data, *case["bump"], aliases=case.get("aliases", {}))

    assert len(plan.changes) == case["changes"]
    if not case["edits"]:
        assert plan.files == {}
        assert not plan.changed
        return
    expected = apply_edits(data, case["edits"])
    assert plan.files[case["file"]].decode("utf-8").split("\n") == expected.decode("utf-8").split("\n")
    assert plan.files == {case["file"]: expected}
    assert {c.line for c in plan.changes} <= {line for line, _, _ in case["edits"]}
    for _line, old, new in case["edits"]:
        assert_only_version_chars(old, new)


def test_every_fixture_has_a_case() -> None:
    assert {c["file"] for c in CASES} == set(FIXTURES)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_with_nothing_to_change_comes_back_identical(name: str) -> None:
    data = (EDITOR / name).read_bytes()
    manifest = Manifest.parse(name, data)
    assert manifest.encode(splice(manifest, [])) == data
    current = [f"{r.repository}={r.version}" for r in find_refs(manifest)]
    assert current, name
    plan = make_plan([manifest], [Wanted.parse(spec, None) for spec in dict.fromkeys(current)], Rules())
    assert plan.files == {}
    assert plan.changes == ()


def test_bom_and_crlf_survive_an_edit() -> None:
    data = (EDITOR / "bom-crlf.yaml").read_bytes()
    out = plan_for("bom-crlf.yaml", data, "kai-nerf-mesh-extractor=5d6e7f8").files["bom-crlf.yaml"]
    assert out.startswith(b"\xef\xbb\xbf")
    assert not out.startswith(b"\xef\xbb\xbf\xef\xbb\xbf")
    assert out.count(b"\r\n") == data.count(b"\r\n") == out.count(b"\n")


# --- quoting ---------------------------------------------------------------------------------

NON_STRINGS = ["1.10", "20240101", "true", "True", "false", "1e3", "1E3", "1e-3", "0x1F", "0o17", "017",
               "null", "Null", "NULL", "~", "", "yes", "no", "on", "off", "y", "N", "1_000", "+1", "-1.5",
               ".inf", ".NaN", "1:20", "0b101", "<<", "="]
STRINGS = ["1a2b3c4", "1.2.3", "v1.10", "1.10.0", "1.0.0-rc.1", "20240101-abc", "latest", "sha-1e3abc",
           "main_2024", "0x1G", "truex", "_1", "1e3x"]


@pytest.mark.parametrize("value", NON_STRINGS)
def test_values_yaml_reads_as_non_strings_need_quotes(value: str) -> None:
    assert needs_quotes(value)
    assert render(value, None) == f'"{value}"'
    assert yaml.safe_load(f"k: {render(value, None)}") == {"k": value}


@pytest.mark.parametrize("value", STRINGS)
def test_plain_strings_stay_plain(value: str) -> None:
    assert not needs_quotes(value)
    assert render(value, None) == value


def test_render_keeps_the_old_quoting_style() -> None:
    assert render("1.10", "'") == "'1.10'"
    assert render("1.2.3", "'") == "'1.2.3'"
    assert render("1.2.3", '"') == '"1.2.3"'
    assert render("it's", "'") == "'it''s'"
    assert render('say "hi"', '"') == '"say \\"hi\\""'


def _load_both(source: str) -> tuple[Any, Any]:
    """What PyYAML (YAML 1.1, as Helm's go-yaml) and ruamel.yaml (YAML 1.2 core) read."""
    one = yaml.safe_load(source)
    two = YAML(typ="safe", pure=True).load(io.StringIO(source))
    return one, two


@PROPERTY
@given(tag=st.from_regex(TAG_RE, fullmatch=True), style=st.sampled_from([None, "'", '"']))
def test_every_valid_tag_renders_to_the_same_string_in_yaml_1_1_and_1_2(tag: str, style: str | None) -> None:
    one, two = _load_both(f"k: {render(tag, style)}\n")
    assert one == {"k": tag}
    assert two == {"k": tag}


_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"), blacklist_characters="\ufeff"),
    max_size=30,
)


@PROPERTY
@given(value=_TEXT, style=st.sampled_from([None, "'", '"']))
def test_render_round_trips_any_single_line_text(value: str, style: str | None) -> None:
    assert yaml.safe_load(f"k: {render(value, style)}\n") == {"k": value}


# --- refusals and errors --------------------------------------------------------------------

REFUSALS = {
    # an anchored scalar whose alias is not an image field of the same image (docs/editing.md)
    "anchored.yaml": (9, "the anchored value &tag is also used by *tag (line 11), which is not an image field"),
    "alias.yaml": (8, "the anchored value &tag is also used by *tag (line 11), which is not an image field"),
    "tagged.yaml": (9, "anchored or tagged"),
    "block-literal.yaml": (9, "block scalar"),
    "block-folded.yaml": (9, "block scalar"),
    "multi-line.yaml": (9, "several lines"),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_anchored_tagged_block_and_multi_line_scalars_are_refused(name: str) -> None:
    line, reason = REFUSALS[name]
    path = f"refuse/{name}"
    with pytest.raises(ManifestError) as err:
        plan_for(path, (EDITOR / path).read_bytes(), "kai-api-server=5d6e7f8")
    assert str(err.value).startswith(f"{path}:{line}: ")
    assert reason in str(err.value)
    assert exit_code(err.value) == 2


def test_refusal_fixtures_are_all_listed() -> None:
    assert {p.name for p in (EDITOR / "refuse").iterdir()} == set(REFUSALS)


def test_an_edit_that_would_change_another_value_is_refused() -> None:
    """splice() re-parses its result: a value that YAML would read differently never gets written."""
    manifest = Manifest.parse("f.yaml", b"a:\n  tag: '1'\n  other: x\n")
    nodes = manifest.docs[0].value[0][1].value
    tag_site = Site.from_node(nodes[0][1], ("a", "tag"), 0)
    with pytest.raises(ManifestError, match="edit would"):
        splice(manifest, [Edit(tag_site, "two\nlines")])
    with pytest.raises(ManifestError, match="more than the image value"):
        splice(manifest, [Edit(replace(tag_site, path=("a", "other")), "2")])
    with pytest.raises(ManifestError, match="overlapping"):
        splice(manifest, [Edit(tag_site, "2"), Edit(tag_site, "3")])


# --- empty values ---------------------------------------------------------------------------

_HR = helmrelease("api")
MARK = '{"$imagepolicy": "flux-system:api:tag"}'


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("tag:\n", 'tag: "1.10"\n'),
        ("tag: \n", 'tag: "1.10"\n'),
        ("tag:   # set by CI\n", 'tag: "1.10"  # set by CI\n'),
        (f"tag: # {MARK}\n", f'tag: "1.10" # {MARK}\n'),
        ('tag: ""\n', 'tag: "1.10"\n'),
        ("tag: ''\n", "tag: '1.10'\n"),
        ("tag: ~\n", 'tag: "1.10"\n'),
        ("tag:", 'tag: "1.10"'),
    ],
)
def test_an_empty_or_null_tag_is_filled_in(before: str, after: str) -> None:
    head = _HR + "    image:\n      repository: ghcr.io/kai-platform/kai-api-server\n      "
    plan = plan_for("f.yaml", (head + before).encode(), "kai-api-server=1.10")
    assert plan.files["f.yaml"] == (head + after).encode()


def test_an_empty_tag_in_a_flow_mapping_is_filled_in() -> None:
    text = _HR + "    image: {repository: ghcr.io/kai-platform/kai-api-server, tag: , pullPolicy: Always}\n"
    plan = plan_for("f.yaml", text.encode(), "kai-api-server=5d6e7f8")
    assert plan.files["f.yaml"] == text.replace("tag: ,", "tag: 5d6e7f8,").encode()


# --- property tests: generated HelmReleases --------------------------------------------------

IMAGE = "ghcr.io/kai-platform/kai-api-server"
TAGS = st.from_regex(TAG_RE, fullmatch=True)
_FILLER_KEYS = ["a", "name", "enabled", "port", "labels", "x-y", "resources", "tags", "repo", "imageName"]
_FILLER_LEAVES = ["x", "42", "true", "~", "'quoted # not a comment'", '"dq: yes"', "1.10",
                  f"{IMAGE}:0000000", "[1, 2]", "{k: v}", "''", "plain text here"]
_HOLE = "\x00"  # where the image's changing scalar goes while the text is built


@dataclass
class Leaf:
    text: str
    comment: str = ""


@dataclass
class Image:
    """The reference under test: `mapping`, `flow` ({repository, tag}), `registry` or `string`."""

    form: str
    source: str  # the tag (or whole string) as written, with its quotes


@dataclass
class Doc:
    text: str
    start: int
    end: int
    path: tuple[Any, ...]  # path of the changing scalar in the loaded document


@dataclass
class Fmt:
    indent: int
    dash: str  # "- " or "-   "
    nested_seq: bool  # sequence items indented under their key, or at the key's column


def _scalar_source(value: str, style: str | None) -> str:
    """As a person would write it: plain may even be a value YAML reads as a number."""
    return render(value, style) if style else value


@st.composite
def structures(draw: st.DrawFn, depth: int) -> tuple[list[tuple[str, Any]], tuple[Any, ...]]:
    """A values mapping with filler around one path leading down to the image."""
    keys = draw(st.lists(st.sampled_from(_FILLER_KEYS), max_size=3, unique=True))
    items: list[tuple[str, Any]] = [
        (k, Leaf(draw(st.sampled_from(_FILLER_LEAVES)), draw(st.sampled_from(["", "  # note"]))))
        for k in keys
    ]
    at = draw(st.integers(0, len(items)))
    if depth == 0:
        items.insert(at, ("image", None))
        return items, ("image",)
    key = draw(st.sampled_from(["sub", "nested", "workers", "main"]))
    inner, path = draw(structures(depth - 1))
    if draw(st.booleans()):
        items.insert(at, (key, inner))
        return items, (key, *path)
    before = draw(st.integers(0, 2))
    seq = [[("name", Leaf(f"w{i}"))] for i in range(before)] + [inner] + [[("name", Leaf("last"))]]
    items.insert(at, (key, seq))
    return items, (key, before, *path)


def emit_map(items: list[tuple[str, Any]], col: int, fmt: Fmt, image: Image, out: list[str]) -> None:
    pad = " " * col
    for key, value in items:
        if value is None:  # the image
            inner = " " * (col + fmt.indent)
            if image.form == "string":
                out.append(f"{pad}image: {_HOLE}  # the image")
            elif image.form == "flow":
                out.append(f"{pad}image: {{repository: {IMAGE}, tag: {_HOLE}, pullPolicy: Always}}")
            elif image.form == "registry":
                host, _, repo = IMAGE.partition("/")
                out += [f"{pad}image:", f"{inner}registry: {host}", f"{inner}repository: {repo}",
                        f"{inner}tag: {_HOLE}"]
            else:
                out += [f"{pad}image:", f"{inner}repository: {IMAGE}", f"{inner}tag: {_HOLE} # bumped"]
        elif isinstance(value, Leaf):
            out.append(f"{pad}{key}: {value.text}{value.comment}")
        elif isinstance(value, list) and value and isinstance(value[0], list):
            out.append(f"{pad}{key}:")
            emit_seq(value, col + (fmt.indent if fmt.nested_seq else 0), fmt, image, out)
        else:
            out.append(f"{pad}{key}:")
            emit_map(value, col + fmt.indent, fmt, image, out)


def emit_seq(items: list[list[tuple[str, Any]]], col: int, fmt: Fmt, image: Image, out: list[str]) -> None:
    for item in items:
        first = len(out)
        emit_map(item, col + len(fmt.dash), fmt, image, out)
        out[first] = " " * col + fmt.dash + out[first][col + len(fmt.dash) :]


@st.composite
def helmreleases(draw: st.DrawFn) -> tuple[bytes, Doc, str]:
    """A file with one generated HelmRelease (maybe among other documents), its image and old tag."""
    fmt = Fmt(draw(st.sampled_from([2, 3, 4])), draw(st.sampled_from(["- ", "-   "])), draw(st.booleans()))
    form = draw(st.sampled_from(["mapping", "flow", "registry", "string"]))
    style = draw(st.sampled_from([None, "'", '"']))
    old_tag = draw(TAGS)
    value = f"{IMAGE}:{old_tag}" if form == "string" else old_tag
    image = Image(form, _scalar_source(value, style))
    items, path = draw(structures(draw(st.integers(0, 4))))
    ind = " " * fmt.indent
    lines = ["apiVersion: helm.toolkit.fluxcd.io/v2", "kind: HelmRelease", "metadata:",
             f"{ind}name: api-server", "spec:", f"{ind}interval: 10m", f"{ind}values:"]
    emit_map(items, 2 * fmt.indent, fmt, image, lines)
    docs = draw(st.sampled_from(["only", "first", "last", "middle"]))
    other = ["# a decoy before the marker", "apiVersion: v1", "kind: ConfigMap", "data:",
             f"{ind}image: {IMAGE}:{old_tag}" if form == "string" else f"{ind}tag: x"]
    marker = draw(st.sampled_from([["---"], ["...", "---"], ["# comment before the marker", "---"]]))
    if docs in ("first", "middle"):
        lines = [*lines, *marker, *other]
    if docs in ("last", "middle"):
        lines = [*other, *marker, *lines]
    if draw(st.booleans()):
        lines = ["---", *lines]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines) + newline
    start = text.index(_HOLE)
    text = text.replace(_HOLE, image.source)
    doc_index = 1 if docs in ("last", "middle") else 0
    full_path = (doc_index, "spec", "values", *path, *(("tag",) if form != "string" else ()))
    bom = "\ufeff" if draw(st.booleans()) else ""
    data = (bom + text).encode("utf-8")
    return data, Doc(text, start, start + len(image.source), full_path), old_tag


def _set(tree: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        tree = tree[step]
    tree[path[-1]] = value


def _wanted_name(draw_name: str) -> str:
    return {"full": IMAGE, "bare": "kai-platform/kai-api-server", "last": "kai-api-server"}[draw_name]


@PROPERTY
@given(generated=helmreleases(), name=st.sampled_from(["full", "bare", "last"]))
def test_generated_file_with_nothing_to_change_comes_back_identical(
    generated: tuple[bytes, Doc, str], name: str
) -> None:
    data, _doc, old_tag = generated
    manifest = Manifest.parse("f.yaml", data)
    assert manifest.encode(splice(manifest, [])) == data
    plan = make_plan([manifest], [Wanted.parse(f"{_wanted_name(name)}={old_tag}", None)], Rules())
    assert plan.files == {}
    assert plan.changes == ()
    other = make_plan([manifest], [Wanted.parse("kai-other=1.0", None)], Rules(allow_missing=True))
    assert other.files == {}
    assert other.changes == ()


@PROPERTY
@given(generated=helmreleases(), new_tag=TAGS, name=st.sampled_from(["full", "bare", "last"]))
def test_generated_edit_changes_only_the_target_value(
    generated: tuple[bytes, Doc, str], new_tag: str, name: str
) -> None:
    data, doc, old_tag = generated
    assume(new_tag != old_tag)
    wanted = Wanted.parse(f"{_wanted_name(name)}={new_tag}", None)
    plan = make_plan([Manifest.parse("f.yaml", data)], [wanted], Rules())

    assert [(c.old, c.new) for c in plan.changes] == [(old_tag, new_tag)]
    after_bytes = plan.files["f.yaml"]
    bom = "\ufeff" if data.startswith(b"\xef\xbb\xbf") else ""
    after = after_bytes.decode("utf-8")
    assert after.startswith(bom)
    assert not after[len(bom) :].startswith("\ufeff")
    after = after[len(bom) :]
    # Only the scalar's characters differ: same prefix, same suffix.
    head, tail = doc.text[: doc.start], doc.text[doc.end :]
    assert after.startswith(head)
    assert after.endswith(tail)
    written = after[len(head) : len(after) - len(tail)]
    new_value = f"{IMAGE}:{new_tag}" if doc.path[-1] != "tag" else new_tag
    old_source = doc.text[doc.start : doc.end]
    style = old_source[0] if old_source[0] in "'\"" else None
    assert written in ((f'"{new_value}"',) if style == '"' else (f"'{new_value}'",) if style == "'" else
                       (new_value, f'"{new_value}"'))
    # The result parses to the same tree with that one value changed, to a string in YAML 1.1 and 1.2.
    expected = list(yaml.safe_load_all(doc.text))
    _set(expected, doc.path, new_value)
    assert list(yaml.safe_load_all(after)) == expected
    assert _load_both(f"k: {written}\n") == ({"k": new_value}, {"k": new_value})
