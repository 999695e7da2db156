"""A private PostgreSQL + Redis pair on loopback, run by `scripts/services.sh` with its own ports and data
directory (the production-shaped set of `chumnuoy run --production`, the load bench and the fault tests).

The shared test set of `make test` (ports 55432/56379) is never touched: every call passes its own
CHUMNUOY_TEST_PG_PORT, CHUMNUOY_TEST_REDIS_PORT and CHUMNUOY_TEST_SERVICES_DIR to the script.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from chumnuoy import ROOT

SCRIPT = ROOT / "scripts" / "services.sh"
SHARED_TEST_PORTS = {55432, 56379}


@dataclass(frozen=True)
class LocalServices:
    pg_port: int
    redis_port: int
    directory: Path

    def __post_init__(self) -> None:
        if {self.pg_port, self.redis_port} & SHARED_TEST_PORTS:
            raise ValueError("the shared test services' ports are not for a private set")

    def _script(self, command: str) -> None:
        env = {**os.environ, "CHUMNUOY_TEST_PG_PORT": str(self.pg_port),
               "CHUMNUOY_TEST_REDIS_PORT": str(self.redis_port),
               "CHUMNUOY_TEST_SERVICES_DIR": str(self.directory)}
        subprocess.run(["bash", str(SCRIPT), command], check=True, env=env, cwd=ROOT,
                       stdout=subprocess.DEVNULL)

    def start(self) -> None:
        """Install (when missing) and start both; idempotent."""
        parent = self.directory.parent
        parent.mkdir(parents=True, exist_ok=True)
        if parent.stat().st_mode & 0o001 == 0:  # e.g. a mkdtemp directory: the postgres user must enter
            parent.chmod(parent.stat().st_mode | 0o055)
        self._script("start")

    def halt(self) -> None:
        """Stop both, keeping the data."""
        self._script("halt")

    def stop(self) -> None:
        """Stop both and delete the data directory."""
        self._script("stop")

    def restart_postgres(self) -> None:
        self._script("restart-pg")

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://chumnuoy:chumnuoy-test@127.0.0.1:{self.pg_port}/chumnuoy_test"

    def redis_url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/{db}"

    def database(self, name: str, *, fresh: bool = False) -> str:
        """The URL of database `name` on this server, created when missing (dropped first if `fresh`)."""
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                if fresh:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
                if not exists:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)
