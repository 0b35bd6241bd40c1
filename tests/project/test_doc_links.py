"""The documentation's links resolve, and code comments cite documents that exist in the repository.

Relative links in README.md and docs/**/*.md must name an existing file and, with `#anchor`, a
heading of it (GitHub's anchor rules). A `docs/….md` named in a comment or docstring of gitops_bot/
or tests/ must exist, and no comment cites the contract by section (`CONTRACT §n`), a document that
is not in the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.paths import REPO

PAGES = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CITED = re.compile(r"docs/[A-Za-z0-9_./-]+\.md")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces become hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    return {anchor(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}


def links(page: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    return [m.group(1) for m in LINK.finditer(text) if "://" not in m.group(1)
            and not m.group(1).startswith("mailto:")]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in links(page):
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{target}: no heading with that anchor")
    assert broken == []


def test_anchor_rules() -> None:
    assert anchor("1. HelmRelease `spec.values`") == "1-helmrelease-specvalues"
    assert anchor("Trust: the default branch only") == "trust-the-default-branch-only"
    assert anchor("`bump`") == "bump"


def sources() -> list[Path]:
    return sorted([*(REPO / "gitops_bot").rglob("*.py"), *(REPO / "tests").rglob("*.py")])


def test_cited_documents_exist() -> None:
    missing = sorted({f"{src.relative_to(REPO)}: {doc}"
                      for src in sources()
                      for doc in CITED.findall(src.read_text(encoding="utf-8"))
                      if not (REPO / doc).is_file()})
    assert missing == []


def test_no_citation_of_the_contract_by_section() -> None:
    cites = [f"{src.relative_to(REPO)}:{n}"
             for src in [*sources(), REPO / "README.md"]
             for n, text in enumerate(src.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"CONTRACT[.\w`]*\s*(§|section)", text) and src != Path(__file__).resolve()]
    assert cites == []
