"""Every citizen journey, defined once (SPEC §4). `build()` assembles the node graph."""

from __future__ import annotations

from functools import cache

from bot.engine import Engine, Journeys


@cache
def build() -> Engine:
    from bot.journeys import complaint, details, eligibility, personal, start

    journeys = Journeys()
    for module in (start, complaint, eligibility, personal, details):
        module.register(journeys)
    return Engine(journeys)
