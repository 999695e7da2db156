"""The portal's SQLAlchemy models, one module per area; importing this package registers them all."""

from portal.models.base import Base

__all__ = ["Base"]

# Each area module is imported here once it exists, so Alembic and create_all see every table.
for _module in ("cases", "citizen", "conversation_state", "telegram", "places"):
    try:
        __import__(f"portal.models.{_module}")
    except ModuleNotFoundError as _error:  # an area not built yet
        if _error.name != f"portal.models.{_module}":
            raise
