"""IBR `/ibr/registry/sync/enrolled` (validated against the IBR file) and the `/ext` extensions:
enrolments, dated payments and change application, for the personas."""

# ruff: noqa: F811  (the shared fixtures are imported by name from test_api_support)

from __future__ import annotations

import uuid

import pytest

from tests.registry_sandbox.test_api_support import (
    DciCaller,
    caller,  # noqa: F401  (fixture)
    ts,
)

ENROLLED = "/registry/sync/enrolled"


def enrolled(caller: DciCaller, person: object, programme: str) -> dict:
    body = caller.envelope(
        "search",
        {
            "transaction_id": f"txn-{uuid.uuid4().hex[:10]}",
            "enrolled_criteria": {
                "query_type": "idtype-value",
                "response_entity": "Member",
                "query": {
                    "person_identifier": {"eq": person},
                    "programme_identifier.program.programme_identifier": {"eq": programme},
                },
            },
        },
    )
    response = caller.post(ENROLLED, body, spec="ibr").json()
    assert response["header"]["total_count"] == 1
    [item] = response["message"]["enrolled_response"]
    assert item["reference_id"] == body["message"]["transaction_id"]
    return item


@pytest.mark.parametrize(
    ("person", "programme", "expected"),
    [
        ("100000101", "pregnant_child_cash", "yes"),
        ("100000101", "elderly", "no"),
        ("100000102", "elderly", "yes"),
        ("100000104", "nssf", "yes"),
        ("100000104", "health_equity_fund", "no"),
        ("100000107", "health_equity_fund", "no"),  # suspended since the card expired
        ("100000105", "disability", "yes"),
    ],
)
def test_enrolled_yes_no(caller: DciCaller, person: str, programme: str, expected: str) -> None:
    item = enrolled(caller, person, programme)
    assert item["status"] == "succ" and item["enrolled_status"] == expected


def test_enrolled_by_spid_phone_and_unknown_person(caller: DciCaller) -> None:
    member = caller.search(
        {
            "reference_id": "r",
            "timestamp": ts(),
            "search_criteria": {
                "query_type": "idtype-value",
                "response_entity": "Member",
                "query": {"type": "UIN", "value": "100000103"},
            },
        }
    )
    record = member["message"]["search_response"][0]["data"]["reg_records"][0]
    spid = next(i["identifier_value"] for i in record["member_identifier"] if i["identifier_type"] == "SPID")
    assert enrolled(caller, spid, "pregnant_child_cash")["enrolled_status"] == "yes"
    assert enrolled(caller, "+85597000103", "pregnant_child_cash")["enrolled_status"] == "yes"
    unknown = enrolled(caller, "999999999", "elderly")
    assert unknown["status"] == "rjct" and unknown["enrolled_status"] == "no"


def test_enrolled_bad_requests(caller: DciCaller) -> None:
    body = caller.envelope(
        "search",
        {
            "transaction_id": "txn-ibr",
            "enrolled_criteria": {
                "query_type": "idtype-value",
                "query": {"person_identifier": {"eq": "100000101"}},
            },
        },
    )
    response = caller.http.post(
        "/ibr" + ENROLLED, json=body, headers={"Authorization": f"Bearer {caller.token()}"}
    )
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "err.request.bad"
    caller.verify(response.json())


def _person(value: str, id_type: str = "UIN") -> dict:
    return {"type": id_type, "value": value}


def test_ext_enrolments(caller: DciCaller) -> None:
    response = caller.ext(
        "/ext/registry/sync/enrolments",
        "enrolments",
        "enrolment_request",
        [
            {"reference_id": f"e-{n}", "timestamp": ts(), "person_identifier": _person(uin)}
            for n, uin in enumerate(("100000101", "100000102", "100000103", "999999999"))
        ],
    )
    assert response["header"]["action"] == "on-enrolments" and response["header"]["status"] == "succ"
    p1, p2, p3, unknown = response["message"]["enrolment_response"]

    def programmes(item: dict) -> dict[str, dict]:
        return {
            e["programme"]["programme_identifier"]: e for e in item["beneficiary"]["programme_identifier"]
        }

    assert p1["status"] == "succ" and set(programmes(p1)) == {"pregnant_child_cash", "health_equity_fund"}
    assert programmes(p1)["pregnant_child_cash"]["benefits"]["benefit_value"] == 80_000
    assert programmes(p1)["pregnant_child_cash"]["enrolment_status"] == "Active"
    assert programmes(p2)["elderly"]["benefits"]["benefit_frequency"] == "monthly"
    assert "pregnant_child_cash" in programmes(p3)
    assert p1["beneficiary"]["member_identifier"] == [
        {"identifier_type": "UIN", "identifier_value": "100000101"}
    ]
    assert unknown["status"] == "rjct" and unknown["status_reason_code"] == "rjct.person_id.invalid"


def test_ext_payments_with_dates(caller: DciCaller) -> None:
    response = caller.ext(
        "/ext/registry/sync/payments",
        "payments",
        "payment_request",
        [
            {"reference_id": "p1", "timestamp": ts(), "person_identifier": _person("+85512000101", "MOBILE")},
            {"reference_id": "p2", "timestamp": ts("Z"), "person_identifier": _person("100000102")},
            {
                "reference_id": "p3",
                "timestamp": ts(),
                "person_identifier": _person("100000103"),
                "programme_identifier": "pregnant_child_cash",
                "since": "2025-09-01",
            },
            {
                "reference_id": "bad",
                "timestamp": ts(),
                "person_identifier": _person("100000103"),
                "since": "yesterday",
            },
        ],
    )
    p1, p2, p3, bad = response["message"]["payment_response"]
    assert [(p["component"], p["amount"], p["status"], p["paid_date"]) for p in p1["payments"]] == [
        ("antenatal_1", 80_000, "paid", "2026-09-15"),
        ("antenatal_2", 80_000, "paid", "2026-10-20"),
        ("antenatal_3", 80_000, "pending", None),
    ]
    assert [(p["status"], p["due_date"]) for p in p2["payments"]] == [
        ("paid", "2026-09-10"),
        ("failed", "2026-10-10"),
    ]
    assert all(p["currency"] == "KHR" for p in p1["payments"] + p2["payments"])
    components = [p["component"] for p in p3["payments"]]
    assert components == ["postnatal_2", "postnatal_3", "vaccination_1", "vaccination_2", "vaccination_3"]
    assert bad["status"] == "rjct" and bad["status_reason_code"] == "rjct.search_criteria.invalid"


def test_ext_changes_report_refusals(caller: DciCaller) -> None:
    response = caller.ext(
        "/ext/registry/sync/changes",
        "changes",
        "change_request",
        [
            {
                "reference_id": "c1",
                "timestamp": ts(),
                "change_type": "favourite_colour",
                "person_identifier": _person("TEST-002"),
                "new_value": "blue",
            },
            {
                "reference_id": "c2",
                "timestamp": ts(),
                "change_type": "phone",
                "person_identifier": _person("TEST-002"),
                "old_value": "+85511999999",
                "new_value": "+85511999998",
            },
            {
                "reference_id": "c3",
                "timestamp": ts(),
                "change_type": "phone",
                "person_identifier": _person("nobody"),
            },
            {
                "reference_id": "c3",
                "timestamp": ts(),
                "change_type": "phone",
                "person_identifier": _person("TEST-002"),
            },
        ],
    )
    assert response["header"]["status"] == "rjct"
    codes = [i["status_reason_code"] for i in response["message"]["change_response"]]
    assert codes == [
        "rjct.change_type.invalid",
        "rjct.old_value.mismatch",
        "rjct.person_id.invalid",
        "rjct.reference_id.duplicate",
    ]


def test_ext_requests_are_checked_like_dci(caller: DciCaller) -> None:
    body = caller.envelope("payments", {"transaction_id": "t", "payment_request": []})
    response = caller.post("/ext/registry/sync/payments", body, validate=False, expect=400).json()
    assert response["errors"][0]["code"] == "err.request.bad"
    wrong_action = caller.envelope(
        "search",
        {
            "transaction_id": "t",
            "payment_request": [
                {"reference_id": "p", "timestamp": ts(), "person_identifier": _person("100000101")}
            ],
        },
    )
    response = caller.post("/ext/registry/sync/payments", wrong_action, validate=False, expect=400).json()
    assert response["header"]["status_reason_code"] == "rjct.action.invalid"
