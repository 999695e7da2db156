"""Worker job: data retention (portal/services/retention.py), one batch of every purge per run.

| job | every | does |
|---|---|---|
| data_retention | 1 h | purges transcripts, photos and anonymous-case addresses past their periods |

The worker runs a job again at once while it reports work done, so a backlog drains batch by batch.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy.orm import Session, sessionmaker

from chumnuoy.db import make_engine
from chumnuoy.settings import get_settings
from portal.models.base import utcnow
from portal.services import retention
from portal.worker import job


@cache
def _factory() -> sessionmaker[Session]:
    return sessionmaker(make_engine(get_settings().database_url), expire_on_commit=False)


@job("data_retention", every_seconds=3600.0)
def data_retention() -> int:
    with _factory()() as session:
        return sum(retention.run_once(session, utcnow(), retention.RetentionPolicy.from_env()).values())
