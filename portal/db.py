"""The portal's database: one engine per process, sessions per request or job, Alembic migrations."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from chumnuoy.db import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def init_app(app: Flask, url: str) -> None:
    engine = make_engine(url)
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(engine, expire_on_commit=False)


def engine_of(app: Flask) -> Engine:
    return app.extensions["db_engine"]


def upgrade(url: str) -> None:
    """Bring the portal database to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")
