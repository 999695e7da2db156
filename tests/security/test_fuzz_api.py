"""Property-based fuzzing of every `/api/v1` endpoint with a valid token: arbitrary JSON bodies (and
bodies shaped like the real requests with arbitrary values), arbitrary query strings and path
segments, malformed JSON. Every answer: no 5xx, no stack trace, and the `{"error": {"code",
"message"}}` shape on every error."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.security.fuzzing import assert_safe, budget, case, json_values, printable_junk

scalars = st.one_of(st.none(), st.booleans(), st.integers(), printable_junk,
                    st.sampled_from(["100000101", "KH0000000000", "TEST-001", "km", "en", "2026-11-25",
                                     "non_payment", "fraud", "sms", "+85512000101", "01", "0101", "010101"]))
objects = st.dictionaries(st.sampled_from(["uin", "spid", "address", "channel", "province_code",
                                           "district_code", "commune_code", "village_code", "phone"]),
                          scalars, max_size=4) | json_values


def shaped(fields: list[str]) -> st.SearchStrategy[object]:
    """A JSON object with (some of) the endpoint's fields holding anything, or any JSON at all."""
    return st.one_of(
        st.fixed_dictionaries({}, optional={name: st.one_of(scalars, objects) for name in fields}),
        json_values)


ENDPOINT_BODIES = {
    "/api/v1/eligibility": ["answers", "person", "locale", "as_of"],
    "/api/v1/entitlements": ["person", "locale", "as_of"],
    "/api/v1/grievances": ["category", "description", "channel", "reply", "area", "person", "anonymous",
                           "programme", "locale"],
    "/api/v1/grievances/lookup": ["reference", "channel", "address", "person_spid", "locale"],
    "/api/v1/change-requests": ["change_type", "new_value", "old_value", "person_spid", "household_id",
                                "source", "reply", "locale", "notify"],
    "/api/v1/change-requests/1/approve": ["reason"],
    "/api/v1/change-requests/1/reject": ["reason"],
}


def error_shaped(response) -> None:  # type: ignore[no-untyped-def]
    if response.status_code >= 400:
        payload = response.get_json(silent=True)
        assert isinstance(payload, dict) and set(payload["error"]) == {"code", "message"}, response.data[:300]


@pytest.mark.parametrize("path", sorted(ENDPOINT_BODIES))
@budget(0.7)
@given(data=st.data(), encoding=st.sampled_from(["json", "json", "json", "bad-json", "form", "text"]))
def test_api_posts_with_arbitrary_bodies(web, path, data, encoding) -> None:
    body = data.draw(shaped(ENDPOINT_BODIES[path]))
    with case(f"POST {path}"):
        if encoding == "json":
            response = web.client.post(path, json=body, headers=web.bearer)
        elif encoding == "bad-json":
            response = web.client.post(path, data=json.dumps(body)[:-1] or "{", headers=web.bearer,
                                       content_type="application/json")
        elif encoding == "form":
            response = web.client.post(path, data={"x": json.dumps(body)}, headers=web.bearer)
        else:
            response = web.client.post(path, data=str(body), headers=web.bearer, content_type="text/plain")
        assert_safe(response)
        error_shaped(response)


@given(segment=st.one_of(printable_junk, st.sampled_from(["12345678", "00000000", "1" * 500, "%00", ".."])),
       query=st.dictionaries(st.sampled_from(["locale", "status", "limit", "offset", "x"]),
                             st.one_of(printable_junk, st.integers().map(str)), max_size=3),
       )
@pytest.mark.parametrize("kind", ["grievance", "change-request", "change-requests", "decide", "unknown"])
@budget(0.5)
def test_api_gets_with_arbitrary_paths_and_queries(web, segment, query, kind) -> None:
    quoted = quote(segment, safe="") or "x"
    path = {"grievance": f"/api/v1/grievances/{quoted}",
            "change-request": f"/api/v1/change-requests/{quoted}",
            "change-requests": "/api/v1/change-requests",
            "decide": f"/api/v1/change-requests/{quoted}/approve",
            "unknown": f"/api/v1/{quoted}"}[kind]
    with case(f"GET /api/v1/{kind} (any path, any query)"):
        method = web.client.post if kind == "decide" else web.client.get
        response = method(path, query_string=query, headers=web.bearer)
        assert_safe(response)
        error_shaped(response)


@given(header=st.one_of(printable_junk, st.just("Bearer "), printable_junk.map(lambda t: "Bearer " + t)),
       path=st.sampled_from(["/api/v1/eligibility", "/api/v1/grievances/12345678",
                             "/api/v1/change-requests"]))
def test_api_arbitrary_authorization(web, header, path) -> None:
    with case("any /api/v1 (any Authorization header)"):
        try:
            response = web.client.get(path, headers={"Authorization": header})
        except ValueError:  # a header value no HTTP client can send (newlines): werkzeug refuses it
            return
        assert_safe(response)
        assert response.status_code in (401, 405)
        error_shaped(response)
