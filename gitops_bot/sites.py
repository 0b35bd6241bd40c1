"""Value objects of the manifest layer: a file (`Manifest`), one scalar of it (`Site`), and an image
reference made of one to three scalars (`ImageRef`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from gitops_bot.errors import ManifestError
from gitops_bot.images import Version
from gitops_bot.yamlnodes import STR_TAG, Path, compose_all

BOM = "\ufeff"
_ANCHOR = re.compile(r"&[^\s]+[ \t]+")


@dataclass(frozen=True)
class Site:
    """One scalar of a file: where it is in the (BOM-less) text, how it is quoted, what it says."""

    path: Path
    doc: int
    start: int
    end: int
    line: int
    style: str | None  # None (plain), "'" or '"'
    value: str
    source: str = ""  # the scalar's text as written (what `rollback` restores)
    yaml_tag: str = STR_TAG  # what YAML reads it as (`tag: 16` is an int)
    anchored: bool = False  # `&name value`: aliases elsewhere read the same scalar

    @classmethod
    def from_node(cls, node: yaml.ScalarNode, path: Path, doc: int, text: str = "") -> Site:
        start, end = node.start_mark.index, node.end_mark.index
        anchored = text[start : start + 1] == "&"
        if anchored:  # `&name value`: the value is what is edited, the anchor stays
            m = _ANCHOR.match(text, start, end)
            start = m.end() if m else start
        return cls(
            path=path,
            doc=doc,
            start=start,
            end=end,
            line=node.start_mark.line + 1,
            style=node.style,
            value=str(node.value),
            source=text[start:end],
            yaml_tag=node.tag,
            anchored=anchored,
        )


@dataclass(frozen=True)
class Slot:
    """Where a key missing from a mapping is inserted, in the mapping's own indentation and style:
    `prefix KEY: VALUE suffix` at `offset` (a block mapping: a line of its own; a flow mapping:
    `, KEY: VALUE` after its last value)."""

    path: Path  # of the mapping
    doc: int
    offset: int
    line: int
    prefix: str
    suffix: str

    @classmethod
    def after_last_key(cls, mapping: yaml.MappingNode, path: Path, doc: int, text: str) -> Slot | None:
        if not isinstance(mapping, yaml.MappingNode) or not mapping.value:
            return None
        first_key, last_value = mapping.value[0][0], mapping.value[-1][1]
        end = last_value.end_mark.index
        if mapping.flow_style:
            return cls(path, doc, end, last_value.end_mark.line + 1, ", ", "")
        if not isinstance(last_value, yaml.ScalarNode) or last_value.style in ("|", ">"):
            return None  # only scalar entries (kustomize images:) get a key inserted
        indent = " " * first_key.start_mark.column
        newline = text.find("\n", end)
        if newline < 0:  # the last line of a file without a final newline
            return cls(path, doc, len(text), last_value.end_mark.line + 2, "\n" + indent, "")
        eol = "\r\n" if text[newline - 1 : newline] == "\r" else "\n"
        return cls(path, doc, newline + 1, last_value.end_mark.line + 2, indent, eol)

    def text(self, pairs: list[tuple[str, str]]) -> str:
        """The inserted text for `[(key, rendered value), ...]`."""
        if self.prefix == ", ":
            return "".join(f", {key}: {value}" for key, value in pairs)
        return "".join(f"{self.prefix}{key}: {value}{self.suffix}" for key, value in pairs)


@dataclass(frozen=True)
class ImageRef:
    """An image reference found in a manifest.

    form: "values" (a {repository, tag} mapping), "string" (a whole `repo:tag` scalar),
    "kustomize" (an images: entry) or "marker-tag" (`$imagepolicy …:tag` and `…:digest` setters).
    `inline_digest`: the tag scalar is written `TAG@sha256:D` (the digest lives in the tag).
    """

    file: str
    kind: str
    name: str
    repository: str
    version: Version
    form: str
    string_site: Site | None = None
    tag_site: Site | None = None
    digest_site: Site | None = None
    policy: str | None = None
    policy_only: bool = False  # a bare `:tag` marker: its repository is unknown
    alt_repository: str | None = None  # kustomize: the `name` an entry rewrites
    policy_namespace: str | None = None  # NAMESPACE of `NAMESPACE:POLICY`
    inline_digest: bool = False
    slot: Slot | None = None  # kustomize: where a missing newTag/digest key is inserted

    @property
    def key(self) -> tuple[str, str, str, Path]:
        """Identifies the reference across commits: file, object and the path of its scalar."""
        site = self.string_site or self.tag_site or self.digest_site
        if site is None:
            assert self.slot is not None
            return (self.file, self.kind, self.name, (*self.slot.path, "newTag"))
        return (self.file, self.kind, self.name, site.path)

    @property
    def line(self) -> int:
        site = self.string_site or self.tag_site or self.digest_site
        if site is None:
            assert self.slot is not None
            return self.slot.line - (0 if self.slot.prefix == ", " else 1)
        return site.line

    @property
    def start(self) -> int:
        """Offset of the reference's first scalar (or of its insertion slot) in the file."""
        site = self.string_site or self.tag_site or self.digest_site
        if site is None:
            assert self.slot is not None
            return self.slot.offset
        return site.start


@dataclass(frozen=True)
class Manifest:
    """One YAML file: its decoded text (BOM removed), how to encode it back, and its documents."""

    path: str
    text: str
    bom: bool
    docs: tuple[yaml.Node, ...]
    # A Helm values file: (kind, name) of what reads it; its documents are values (docs/image-references.md)
    values_for: tuple[str, str] | None = None

    @classmethod
    def parse(cls, path: str, data: bytes) -> Manifest:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            raise ManifestError(f"{path}:{line}: not UTF-8 text") from None
        bom = text.startswith(BOM)
        if bom:
            text = text[1:]
        return cls(path, text, bom, tuple(compose_all(text, path)))

    def encode(self, text: str) -> bytes:
        return ((BOM if self.bom else "") + text).encode("utf-8")
