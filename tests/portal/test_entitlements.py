"""My benefits and payments for the personas, from the sandbox over HTTP."""

from __future__ import annotations

from datetime import date

from portal.services.entitlements import Entitlement, entitlements_for, next_payment
from registry_client.types import Enrolment, Payment
from tests.portal.citizen_fixtures import TODAY, registry_fixture  # noqa: F401 (fixture)


def entitlements(registry, uin: str) -> dict[str, Entitlement]:
    (person,) = registry.find_people("UIN", uin)
    return {e.programme: e for e in entitlements_for(registry, person, TODAY)}


def test_p1_antenatal_payments_and_pending_next(registry) -> None:
    mch = entitlements(registry, "100000101")["pregnant_child_cash"]
    assert mch.for_self and mch.frequency == "per_visit"
    assert [(p.status, p.date, p.amount_riel) for p in mch.payments] == [
        ("pending", date(2026, 11, 20), 80_000),
        ("paid", date(2026, 10, 20), 80_000),
        ("paid", date(2026, 9, 15), 80_000),
    ]
    assert mch.next_payment is not None
    assert (mch.next_payment.expected_date, mch.next_payment.basis) == (date(2026, 11, 20), "pending")
    assert mch.collection_point


def test_p2_elderly_paid_then_failed_next_from_schedule(registry) -> None:
    elderly = entitlements(registry, "100000102")["elderly"]
    assert elderly.frequency == "monthly"
    assert [(p.status, p.date) for p in elderly.payments] == [
        ("failed", date(2026, 10, 10)),
        ("paid", date(2026, 9, 10)),
    ]
    assert elderly.next_payment is not None
    assert (elderly.next_payment.expected_date, elderly.next_payment.basis) == (
        date(2026, 12, 10),
        "schedule",
    )
    assert elderly.next_payment.amount_riel == elderly.amount_riel


def test_p3_postnatal_and_sons_scholarship(registry) -> None:
    result = entitlements(registry, "100000103")
    mch = result["pregnant_child_cash"]
    components = [p.component for p in mch.payments]
    assert len(mch.payments) == 6 and components[0] == "vaccination_3"  # 7 payments, 6 most recent shown
    assert mch.next_payment is not None and mch.next_payment.basis == "per_visit"
    assert mch.next_payment.expected_date is None
    scholarship = result["scholarship"]
    assert not scholarship.for_self and scholarship.beneficiary_name == "ពៅ ពិសិដ្ឋ"
    assert scholarship.amount_riel == 20_000
    assert scholarship.payments[0].date == date(2026, 10, 30)
    assert scholarship.next_payment is not None
    assert scholarship.next_payment.expected_date == date(2026, 11, 30)


def test_dependants_under_18_are_listed_babies_included(registry) -> None:
    (p3,) = registry.find_people("UIN", "100000103")
    hef = [e for e in entitlements_for(registry, p3, TODAY) if e.programme == "health_equity_fund"]
    # herself, her son (10) and her baby (1); not her husband (adult)
    assert sorted(e.beneficiary_name for e in hef) == sorted(["កែវ ស្រីនាង", "ពៅ ពិសិដ្ឋ", "ពៅ ស្រីល័ក្ខ"])
    assert [e.for_self for e in hef].count(True) == 1


def test_p7_suspended_health_equity_fund_is_not_listed(registry) -> None:
    assert entitlements(registry, "100000107") == {}


def test_next_payment_rule() -> None:
    monthly = Enrolment("elderly", "", "Active", None, "cash", 40_000, "monthly")
    paid = Payment("x", "elderly", 40_000, "paid", date(2026, 1, 31), date(2026, 1, 31))
    assert next_payment(monthly, [paid], date(2026, 2, 1)).expected_date == date(2026, 2, 28)  # type: ignore[union-attr]
    assert next_payment(monthly, [paid], date(2026, 4, 15)).expected_date == date(2026, 4, 28)  # type: ignore[union-attr]
    yearly = Enrolment("x", "", "Active", None, "cash", 1, "yearly")
    assert next_payment(yearly, [paid], date(2026, 2, 1)).expected_date == date(2027, 1, 31)  # type: ignore[union-attr]
    assert next_payment(monthly, [], date(2026, 2, 1)) is None
