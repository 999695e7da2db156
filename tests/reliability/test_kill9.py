"""SPEC §13: no acknowledged grievance or change request lost or duplicated when `web` or `worker` is
killed with SIGKILL under load and started again; the outbox drains without duplicate deliveries."""

from __future__ import annotations

from chumnuoy.faults import kill_under_load


def test_kill9_web_and_workers_under_load_loses_and_duplicates_nothing(make_stack) -> None:
    stack, twilio = make_stack(worker_processes=2)
    report = kill_under_load(stack, twilio, seconds=10.0, writers=6, ussd_users=3)
    print("\n".join(report.lines()))

    assert [kill.split(" at ")[0] for kill in report.kills] == ["kill -9 web", "kill -9 worker-1",
                                                                "kill -9 worker-2"]
    # the load really ran on both sides of the kills, through every kind of write
    assert report.acknowledged_grievances >= 20 and report.acknowledged_changes >= 20
    assert report.acknowledged_ussd >= 3
    assert report.failed_or_unanswered > 0, "the web kill should have cut some requests off"
    # every write a client was told about is stored exactly once; nothing is stored twice
    assert report.missing == []
    assert report.duplicated == []
    assert report.stored_acknowledged_once == report.acknowledged
    # the outbox drained: every message sent, and the stand-in got each one
    assert set(report.outbox) == {"sent"}, report.outbox
    assert report.outbox["sent"] >= report.acknowledged
    # exactly once towards the provider: a row taken over from a killed worker is first looked up in
    # the stand-in's Messages list (issue #8), so even a kill between the provider's answer and the
    # commit sends nothing twice
    assert report.duplicate_deliveries == 0
    assert report.delivered == report.outbox["sent"]
