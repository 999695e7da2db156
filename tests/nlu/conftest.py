"""NLU test helpers: the embedded model is (re)built once per session when missing or stale."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Also registered in pyproject.toml by the lead; registering twice is harmless.
    config.addinivalue_line("markers", "sqlite_only: runs only in the SQLite pass of make test")


@pytest.fixture(scope="session")
def embedded():
    """The embedded interpreter on the current training data (trained here when out of date)."""
    from nlu.embedded import MODEL_FILE, EmbeddedInterpreter, is_up_to_date, train

    if not is_up_to_date():
        train()
    return EmbeddedInterpreter(MODEL_FILE)
