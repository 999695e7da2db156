"""Chumnuoy: shared settings, command line and small utilities used by every part."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: `.env` and `var/` live here."""
