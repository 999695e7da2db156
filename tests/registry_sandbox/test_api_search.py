"""Sync search over HTTP: personas by UIN and MOBILE, fixtures, expression/predicate, pagination,
sort, per-item rejections, lenient input and request-level rejections. Every request and response is
validated against the compliance OpenAPI file and every response signature is checked."""

# ruff: noqa: F811  (the shared fixtures are imported by name from test_api_support)

from __future__ import annotations

import copy
import uuid

import pytest

from tests.dci_openapi import DciSchemaError, validate_request
from tests.registry_sandbox.test_api_support import (
    DciCaller,
    caller,  # noqa: F401  (fixture)
    id_item,
    search_item,
    ts,
)

SYNC = "/registry/sync/search"

# persona: (UIN, phone, household id, surname, given name, sex, birth date)
PERSONAS = {
    "P1": ("100000101", "+85512000101", "HH-05-00000101", "ចាន់", "សុខា", "female", "1996-04-12"),
    "P2": ("100000102", "+85512000102", "HH-02-00000102", "សុខ", "ដារ៉ា", "male", "1958-09-03"),
    "P3": ("100000103", "+85597000103", "HH-17-00000103", "កែវ", "ស្រីនាង", "female", "1990-01-20"),
    "P4": ("100000104", "+85510000104", "HH-03-00000104", "លឹម", "វណ្ណៈ", "male", "1985-06-30"),
    "P5": ("100000105", "+85512000105", "HH-14-00000105", "ម៉ៅ", "ចិន្តា", "female", "1979-11-05"),
    "P7": ("100000107", "+85512000107", "HH-08-00000107", "ហេង", "រតនា", "male", "1970-02-14"),
    "P8": ("100000109", "+85512000108", "HH-12-00000108", "ឡុង", "វិចិត្រ", "male", "1986-03-15"),
}


def ids(record: dict, key: str) -> dict[str, str]:
    return {i["identifier_type"]: i["identifier_value"] for i in record[key]}


def only_item(response: dict) -> dict:
    assert response["header"]["action"] == "on-search"
    assert response["header"]["message_ts"].endswith("+07:00")
    assert len(response["message"]["search_response"]) == 1
    return response["message"]["search_response"][0]


def uins(records: list[dict]) -> set[str]:
    return {ids(r, "member_identifier").get("UIN") for r in records}


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_persona_by_uin_and_mobile(caller: DciCaller, persona: str) -> None:
    uin, phone, household, surname, given, sex, born = PERSONAS[persona]
    for id_type, value in (("UIN", uin), ("MOBILE", phone)):
        group = only_item(caller.search(id_item(id_type, value, "Group")))
        assert group["status"] == "succ" and group["locale"] == "khm"
        assert group["data"]["reg_record_type"] == "Group"
        assert group["data"]["reg_type"] == "ns:org:RegistryType:Social"
        [record] = group["data"]["reg_records"]
        assert ids(record, "group_identifier")["HOUSEHOLD_ID"] == household
        assert uin in uins(record["member_list"])
        assert group["pagination"] == {"page_size": 10, "page_number": 1, "total_count": 1}

        member = only_item(caller.search(id_item(id_type, value, "Member")))
        assert member["data"]["reg_record_type"] == "Member"
        people = {ids(r, "member_identifier")["UIN"]: r for r in member["data"]["reg_records"]}
        person = people[uin]
        info = person["demographic_info"]
        assert info["name"] == {"surname": surname, "given_name": given}
        assert info["sex"] == sex and info["birth_date"].startswith(born)
        assert phone in info["phone_number"] and info["household_identifier"] == household


def test_unknown_person_is_an_empty_success(caller: DciCaller) -> None:
    for id_type, value in (("MOBILE", "+85512000199"), ("UIN", "999999999")):
        item = only_item(caller.search(id_item(id_type, value, "Member")))
        assert item["status"] == "succ" and "status_reason_code" not in item
        assert item["data"]["reg_records"] == [] and item["pagination"]["total_count"] == 0


def test_shared_phone_finds_both_people_and_one_household(caller: DciCaller) -> None:
    members = only_item(caller.search(id_item("MOBILE", "+85512000108", "Member")))
    assert uins(members["data"]["reg_records"]) == {"100000109", "100000108"}
    assert members["pagination"]["total_count"] == 2
    groups = only_item(caller.search(id_item("MOBILE", "+85512000108", "Group")))
    assert len(groups["data"]["reg_records"]) == 1


def test_compliance_record_test_001(caller: DciCaller) -> None:
    item = only_item(caller.search(id_item("UIN", "TEST-001", "Member")))
    [record] = item["data"]["reg_records"]
    assert ids(record, "member_identifier")["UIN"] == "TEST-001"


def test_expression_compliance_fixture(caller: DciCaller) -> None:
    query = {
        "type": "ns:org:QueryType:expression",
        "value": {
            "expression": {
                "collection": "Group",
                "query": {
                    "$and": [
                        {"poverty_score": {"$lt": 5}},
                        {"location": {"$eq": "central_region"}},
                        {"group_size": {"$lt": 5}},
                    ]
                },
            }
        },
    }
    item = only_item(
        caller.search(
            search_item(
                "expression", query, response_entity="Group", pagination={"page_size": 100, "page_number": 1}
            )
        )
    )
    records = item["data"]["reg_records"]
    households = {ids(r, "group_identifier")["HOUSEHOLD_ID"] for r in records}
    assert {"HH-12-00000901", "HH-08-00000902"} <= households
    for record in records:
        location = {a["name"]: a["value"] for a in record["additional_attributes"]}["location"]
        assert record["poverty_score"] < 5 and record["group_size"] < 5 and location == "central_region"


def test_predicate_compliance_fixture_with_sort(caller: DciCaller) -> None:
    predicate = [
        {
            "seq_num": 1,
            "expression1": {"attribute_name": "age", "operator": "lt", "attribute_value": "25"},
            "condition": "and",
            "expression2": {"attribute_name": "poverty_score", "operator": "lt", "attribute_value": "2.5"},
        }
    ]
    item = only_item(
        caller.search(
            search_item(
                "predicate",
                predicate,
                response_entity="Member",
                sort=[{"attribute_name": "age", "sort_order": "desc"}],
                pagination={"page_size": 50},
            )
        )
    )
    records = item["data"]["reg_records"]
    assert {"TEST-003", "TEST-004"} <= uins(records)
    ages = [{a["name"]: a["value"] for a in r["additional_attributes"]}["age"] for r in records]
    assert all(age < 25 for age in ages) and ages == sorted(ages, reverse=True)


def test_expression_or_not_in(caller: DciCaller) -> None:
    query = {
        "type": "expression",
        "value": {
            "expression": {
                "collection": "Member",
                "query": {
                    "$or": [{"sex": {"$in": ["female"]}}, {"$not": {"age": {"$gte": 18}}}],
                    "province_code": "12",
                },
            }
        },
    }
    item = only_item(
        caller.search(
            search_item("expression", query, response_entity="Member", pagination={"page_size": 200})
        )
    )
    assert item["status"] == "succ" and item["data"]["reg_records"]
    for record in item["data"]["reg_records"]:
        age = {a["name"]: a["value"] for a in record["additional_attributes"]}["age"]
        assert record["demographic_info"]["address"][0]["region_code"] == "12"
        assert record["demographic_info"]["sex"] == "female" or age < 18


def test_pagination_pages_are_disjoint_and_consistent(caller: DciCaller) -> None:
    query = {"type": "expression", "value": {"expression": {"query": {"province_code": {"$eq": "12"}}}}}

    def page(number: int) -> dict:
        return only_item(
            caller.search(
                search_item(
                    "expression",
                    query,
                    response_entity="Group",
                    sort=[{"attribute_name": "poverty_score", "sort_order": "asc"}],
                    pagination={"page_size": 3, "page_number": number},
                )
            )
        )

    first, second = page(1), page(2)
    assert first["pagination"]["total_count"] == second["pagination"]["total_count"] > 6
    assert second["pagination"] == {
        "page_size": 3,
        "page_number": 2,
        "total_count": first["pagination"]["total_count"],
    }
    one = [ids(r, "group_identifier")["HOUSEHOLD_ID"] for r in first["data"]["reg_records"]]
    two = [ids(r, "group_identifier")["HOUSEHOLD_ID"] for r in second["data"]["reg_records"]]
    assert len(one) == len(two) == 3 and not set(one) & set(two)
    scores = [r["poverty_score"] for r in first["data"]["reg_records"] + second["data"]["reg_records"]]
    assert scores == sorted(scores)


def test_batch_items_are_answered_separately(caller: DciCaller) -> None:
    good = id_item("UIN", "100000101", reference_id="ref-a")
    duplicate = id_item("UIN", "100000102", reference_id="ref-a")
    unknown_type = id_item("PASSPORT", "N123", reference_id="ref-b")
    unknown_attribute = search_item(
        "predicate",
        [{"expression1": {"attribute_name": "shoe_size", "operator": "eq", "attribute_value": 42}}],
        reference_id="ref-c",
    )
    page_zero = id_item("UIN", "100000101", reference_id="ref-d", pagination={"page_size": 0})
    bad_sort = id_item("UIN", "100000101", reference_id="ref-e", sort=[{"attribute_name": "salary"}])
    no_offset = id_item("UIN", "100000101", reference_id="ref-f")
    no_offset["timestamp"] = "2026-11-25T10:00:00"
    body = caller.envelope(
        "search",
        {
            "transaction_id": "txn-batch",
            "search_request": [
                good,
                duplicate,
                unknown_type,
                unknown_attribute,
                page_zero,
                bad_sort,
                no_offset,
            ],
        },
    )
    with pytest.raises(DciSchemaError):  # the item timestamp violates the schema; the sandbox is lenient
        validate_request(SYNC, body)
    response = caller.post(SYNC, body, validate=False).json()
    assert response["header"]["status"] == "succ"  # one item succeeded
    assert "6 of 7" in response["header"]["status_reason_message"]
    answers = response["message"]["search_response"]
    assert [a["status"] for a in answers] == ["succ"] + ["rjct"] * 6
    assert [a.get("status_reason_code") for a in answers[1:]] == [
        "rjct.reference_id.duplicate",
        "rjct.search_criteria.invalid",
        "rjct.search_criteria.invalid",
        "rjct.pagination.invalid",
        "rjct.sort.invalid",
        "rjct.timestamp.invalid",
    ]
    assert "PASSPORT" in answers[2]["status_reason_message"]
    assert "shoe_size" in answers[3]["status_reason_message"]


def test_all_items_rejected_rejects_the_header(caller: DciCaller) -> None:
    response = caller.search(id_item("NIDX", "1"))
    assert response["header"]["status"] == "rjct"
    assert only_item(response)["status_reason_code"] == "rjct.search_criteria.invalid"


def test_lenient_input_z_timestamps_and_omitted_optional_fields(caller: DciCaller) -> None:
    message = {
        "transaction_id": "txn-lenient",
        "search_request": [
            {
                "reference_id": "ref-1",
                "timestamp": ts("Z"),
                "search_criteria": {
                    "query_type": "idtype-value",
                    "query": {"type": "UIN", "value": "100000103"},
                },
            }
        ],
    }
    body = caller.envelope("search", message, header={"message_ts": ts("Z")}, signature=None)
    for optional in ("version", "receiver_id", "is_msg_encrypted"):
        del body["header"][optional]
    item = only_item(caller.post(SYNC, body).json())
    assert item["status"] == "succ" and item["data"]["reg_record_type"] == "Group"
    assert item["pagination"] == {"page_size": 10, "page_number": 1, "total_count": 1}
    assert item["locale"] == "khm" and item["timestamp"].endswith("+07:00")
    for reg_type in ("SOCIAL_REGISTRY", "social"):
        variant = id_item("UIN", "100000103")
        variant["search_criteria"]["reg_type"] = reg_type
        assert only_item(caller.search(variant))["status"] == "succ"


@pytest.mark.parametrize("locale", ["en", "KHM", "EN/GB", "kh"])
def test_bad_locale_rejects_the_request(caller: DciCaller, locale: str) -> None:
    item = id_item("UIN", "100000101")
    item["locale"] = locale
    body = caller.envelope("search", {"transaction_id": "txn-locale", "search_request": [item]})
    response = caller.post(SYNC, body, validate=False, expect=400).json()
    assert response["errors"][0]["code"] == "err.request.bad"
    assert "locale" in response["errors"][0]["message"]
    assert response["header"]["status"] == "rjct"


def _mutated(caller: DciCaller, change) -> dict:  # type: ignore[no-untyped-def]
    body = caller.envelope(
        "search", {"transaction_id": "txn-bad", "search_request": [id_item("UIN", "1")]}, signature=None
    )
    change(body)
    return body


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        (
            "message_ts without offset",
            lambda b: b["header"].update(message_ts="2026-11-25T10:00:00"),
            "rjct.message_ts.invalid",
        ),
        (
            "total_count as a string",
            lambda b: b["header"].update(total_count="1"),
            "rjct.total_count.invalid",
        ),
        ("wrong action", lambda b: b["header"].update(action="subscribe"), "rjct.action.invalid"),
        ("transaction_id too long", lambda b: b["message"].update(transaction_id="t" * 100), None),
        ("no search_request", lambda b: b["message"].pop("search_request"), None),
        ("missing reference_id", lambda b: b["message"]["search_request"][0].pop("reference_id"), None),
        ("no header", lambda b: b.pop("header"), None),
    ],
)
def test_malformed_requests_are_400_err_request_bad(caller: DciCaller, name: str, change, reason) -> None:  # type: ignore[no-untyped-def]
    body = _mutated(caller, change)
    response = caller.post(SYNC, body, validate=False, expect=400).json()
    assert response["errors"][0]["code"] == "err.request.bad", name
    assert response["header"].get("status_reason_code") == reason


def test_unsupported_version_and_encryption(caller: DciCaller) -> None:
    version = _mutated(caller, lambda b: b["header"].update(version="2.0.0"))
    response = caller.post(SYNC, version, validate=False, expect=400).json()
    assert response["errors"][0]["code"] == "err.version.not_supported"
    assert response["header"]["status_reason_code"] == "rjct.version.invalid"
    encrypted = _mutated(caller, lambda b: b["header"].update(is_msg_encrypted=True))
    encrypted["message"] = {
        "header": {"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "k"},
        "ciphertext": "x",
        "encrypted_key": "x",
        "tag": "x",
        "iv": "x",
    }
    response = caller.post(SYNC, encrypted, expect=400).json()
    assert response["errors"][0]["code"] == "err.encryption.invalid"


def test_duplicate_message_id_is_rejected(caller: DciCaller) -> None:
    body = caller.envelope(
        "search", {"transaction_id": "txn-dup", "search_request": [id_item("UIN", "100000101")]}
    )
    first = caller.post(SYNC, body).json()
    assert first["header"]["status"] == "succ"
    again = caller.post(SYNC, copy.deepcopy(body)).json()
    assert again["header"]["status"] == "rjct"
    assert again["header"]["status_reason_code"] == "rjct.message_id.duplicate"
    assert "message" not in again
    fresh = copy.deepcopy(body)
    fresh["header"]["message_id"] = str(uuid.uuid4())
    fresh["signature"] = "unsigned-stub"
    assert caller.post(SYNC, fresh).json()["header"]["status"] == "succ"
