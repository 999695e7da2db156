"""The registry is killed under a USSD menu load: personal features answer the Khmer "service busy"
message, quickly once the circuit breaker is open; grievances are still accepted; the menus keep
answering; service resumes when the registry is back."""

from __future__ import annotations

from sqlalchemy import select

from chumnuoy.db import make_engine
from chumnuoy.faults import BUSY_KM, registry_outage
from chumnuoy.loadclient import percentile


def test_registry_down_breaker_opens_grievances_accepted_then_service_resumes(make_stack) -> None:
    stack, _twilio = make_stack(worker_processes=1)
    requests = 12
    report = registry_outage(stack, requests=requests)
    print("\n".join(report.lines()))

    assert report.before.startswith("CON ") and BUSY_KM not in report.before  # asks the date of birth
    assert report.busy_answers == [f"END {BUSY_KM}"] * requests
    # breaker: the registry was tried far fewer times than requests x attempts (3) ...
    tries = (stack.workdir / "web.log").read_text().count("unreachable")
    assert 1 <= tries < requests * 3 // 2, tries
    # ... and once open, the answer comes without waiting for the network or backoff
    assert percentile(report.busy_latencies_ms[-5:], 0.5) < 150
    assert report.api_status_during == 503
    assert len(report.grievance_references_during) == 4  # 3 by the API, 1 by USSD
    engine = make_engine(stack.spec.database_url)
    try:
        from portal.models.cases import Grievance

        with engine.connect() as connection:
            stored = set(connection.scalars(select(Grievance.reference)))
    finally:
        engine.dispose()
    assert set(report.grievance_references_during) <= stored
    assert report.after.startswith("CON ") and BUSY_KM not in report.after
    assert report.recovered_after_s < 60
    # the menus, which never need the registry, answered throughout
    assert report.background.requests > 50 and report.background.errors == 0, report.background.first_error
