"""PostgreSQL restarts under running `web` and `worker` processes (a PRIVATE cluster: own port and data
directory, the Debian binaries of scripts/services.sh); they recover without being restarted."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from chumnuoy.faults import database_restart
from chumnuoy.localservices import LocalServices
from chumnuoy.stack import free_port
from tests.fixtures.services import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL pass only (a server to restart)")


@pytest.fixture
def private_postgres():
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL binaries missing: scripts/services.sh install")
    directory = Path(tempfile.mkdtemp(prefix="chumnuoy-pg-restart-"))
    services = LocalServices(free_port(), free_port(), directory / "services")
    try:
        services.start()
        yield services
    finally:
        services.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_processes_recover_when_postgres_restarts(make_stack, private_postgres) -> None:
    stack, twilio = make_stack(worker_processes=1, database_url=private_postgres.database("portal"),
                               registry_database_url=private_postgres.database("registry"),
                               redis_url=private_postgres.redis_url())
    report = database_restart(stack, private_postgres.restart_postgres)
    print("\n".join(report.lines()))

    assert report.ok_before
    assert report.grievance_after, "no grievance could be lodged after the restart"
    assert report.failed_after_recovery == 0  # stale pooled connections are replaced (pool_pre_ping)
    assert report.pids_after == report.pids_before  # nobody restarted anything
    assert report.recovered_after_s < 30
    assert set(report.outbox_after) == {"sent"}, report.outbox_after  # the worker delivers again
    assert len(twilio.messages()) == report.outbox_after["sent"]
