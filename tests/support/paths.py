"""Where things are in this checkout, for tests at any depth of tests/."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the repository root: pyproject.toml, flux/, fixtures/
FIXTURES = REPO / "fixtures"
SCHEMAS = REPO / "tests" / "data" / "schemas"
