"""Shared fixtures. The whole suite runs twice under `make test`: on SQLite, then with
CHUMNUOY_BACKEND=postgres on the throwaway PostgreSQL and Redis of scripts/services.sh."""

import os

os.environ.setdefault("CHUMNUOY_ENV_FILE", "/nonexistent")  # tests never read the developer's .env

pytest_plugins = ["tests.fixtures.services", "tests.fixtures.registry", "tests.fixtures.portal"]
