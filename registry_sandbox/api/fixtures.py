"""Protocol-layer compliance fixtures, seeded by `registry_sandbox.seed.seed_database`.

`sub-test-001` is the subscription code the DCI compliance suite expects. It watches the compliance
record `UIN TEST-001` for updates, belongs to no particular sender and has no callback URL (so a
change to TEST-001 notifies nobody unless a real subscription also matches). Unsubscribing it is
answered as a success but keeps it active, so the fixture survives repeated suite runs.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, select

from registry_sandbox.api.models import API_TABLES, DciSubscription
from registry_sandbox.models import registry_now

FIXTURE_SUBSCRIPTION = "sub-test-001"


def seed_fixtures(connection: Connection) -> None:
    """Create the tables if needed and insert `sub-test-001` unless present (idempotent)."""
    for table in API_TABLES:
        table.create(connection, checkfirst=True)
    table = DciSubscription.__table__
    if connection.execute(select(table.c.id).where(table.c.code == FIXTURE_SUBSCRIPTION)).first():
        return
    now = registry_now()
    connection.execute(
        table.insert().values(
            code=FIXTURE_SUBSCRIPTION,
            sender_id=None,
            sender_uri=None,
            transaction_id=None,
            reference_id=None,
            reg_event_type="update",
            filter_type="idtype-value",
            filter_json=json.dumps({"type": "UIN", "value": "TEST-001"}),
            notify_record_type="Group",
            active=True,
            fixture=True,
            locale="khm",
            created_at=now,
            updated_at=now,
        )
    )
