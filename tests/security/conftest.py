"""Fixtures of the security tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.security.scene import Scene, make_scene


@pytest.fixture
async def scene(sample_db: str) -> AsyncIterator[Scene]:
    """Sign in a resident and staff of every kind around the first unit."""
    async for made in make_scene(sample_db):
        yield made
