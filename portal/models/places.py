"""The portal's own copy of the administrative-division gazetteer (province, district, commune, village).

Same codes and rows as the sandbox registry's `gazetteer_units` (NCDD scheme: 2, 4, 6, 8 digits, each
prefixed by its parent's code). Loaded from the bundled data when the table is created (migration
0005_places) and replaced by `chumnuoy gazetteer import FILE`. Below province level the bundled rows
are generated and `synthetic` until the official list is imported.
"""

from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base

LEVELS = ("province", "district", "commune", "village")


class Place(Base):
    __tablename__ = "places"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    """province | district | commune | village"""
    parent_code: Mapped[str | None] = mapped_column(String(8), index=True, default=None)
    name_km: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=True)
    """Generated stand-in (below province level until the NCDD/MoI list is imported)."""
    version: Mapped[str] = mapped_column(String(60))
    """Gazetteer version the row comes from (units are split and renamed over the years)."""
