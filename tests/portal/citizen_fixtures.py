"""Citizen-service test fixtures (imported by the citizen test modules): a real RegistryClient on
the live sandbox, and a fixed "today"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session", name="registry")
def registry_fixture(live_registry) -> Iterator[object]:
    """The real DCI client talking HTTP to the seeded sandbox."""
    from registry_client.client import RegistryClient

    client = RegistryClient(live_registry.settings)
    yield client
    client.close()
