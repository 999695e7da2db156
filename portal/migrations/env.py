"""Alembic environment for the portal database (run through `portal.db.upgrade`)."""

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
target_metadata = None
try:  # the models arrive with the services issue; until then there is no metadata to compare
    from portal.models import Base

    target_metadata = Base.metadata
except ImportError:
    pass


def run_migrations() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
