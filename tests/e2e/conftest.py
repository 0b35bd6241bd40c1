"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.hung import hung_server as hung


@pytest.fixture
def hung_server() -> Iterator[str]:
    """The URL of a loopback server that accepts connections and never answers."""
    with hung() as url:
        yield url
