"""Property-based fuzzing of the officer portal and the simulator: sign-in with arbitrary fields,
every form with arbitrary fields (with the CSRF token: never a 5xx; without it: always 400), every
page with arbitrary filters and path segments."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.security.conftest import ADMIN_LOGIN, ADMIN_PASSWORD
from tests.security.fuzzing import assert_safe, budget, case, citizen_text, form_with, phones, printable_junk

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SIM_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

field_values = st.one_of(printable_junk, st.sampled_from(["1", "0", "-1", "99999999999", "admin", "km", "en",
                                                          "officer", "NSAF", "duplicate", "12", "1201"]))


@pytest.fixture
def portal(web):  # type: ignore[no-untyped-def]
    """The admin signed in, one case, one handoff conversation, one change request (for an unknown
    person, so approving it is refused by the registry and the shared sandbox stays as it is)."""
    from portal.services import change_requests, conversations, grievances

    with web.app.extensions["db_sessionmaker"]() as session:
        case_ = grievances.lodge(session, category_code="non_payment", channel="sms", now=NOW,
                                 address="+85512000555", description="fuzz case")
        conversation = conversations.open_handoff(session, channel="sms", address="+85512000556", now=NOW,
                                                  text="hello")
        change = change_requests.create(session, change_type="phone", new_value="+85512000557",
                                        source="citizen", requested_by="citizen:sms", now=NOW,
                                        person_spid="KH0000000000", reply_channel="sms",
                                        reply_address="+85512000558")
        session.commit()
        ids = {"ref": case_.reference, "conversation": conversation.id, "change": change.id}
    client = web.client
    token = CSRF.search(client.get("/portal/login").get_data(as_text=True)).group(1)
    signed = client.post("/portal/login", data={"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD,
                                                "csrf_token": token})
    assert signed.status_code == 302
    return web, ids


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    return CSRF.search(client.get("/portal/users").get_data(as_text=True)).group(1)


FORMS = {
    "case/reply": ["text", "canned", "wait"], "case/note": ["text"], "case/assign": ["officer_id"],
    "case/escalate": ["reason"], "case/resolve": ["resolution_code", "text"], "case/reject": ["reason"],
    "case/reopen": ["reason"], "case/unknown": ["x"],
    "change/reject": ["reason"], "change/approve": [], "change/unknown": ["x"],
    "conversation/reply": ["text"], "conversation/close": [],
    "users": ["login", "name", "password", "role", "area_code", "agency", "phone", "locale"],
    "users/active": ["active"], "canned": ["key", "text", "locale", "agency"], "canned/active": ["active"],
    "language": ["locale", "next"],
}


def _path(form: str, ids: dict[str, object]) -> str:
    kind, _, action = form.partition("/")
    return {"case": f"/portal/cases/{ids['ref']}/{action}",
            "change": f"/portal/changes/{ids['change']}/{action}",
            "conversation": f"/portal/conversations/{ids['conversation']}/{action}",
            "users": "/portal/users" if not action else "/portal/users/2/active",
            "canned": "/portal/canned" if not action else "/portal/canned/1/active",
            "language": "/portal/language"}[kind]


@pytest.mark.parametrize("form", sorted(FORMS))
@budget(0.2)
@given(data=st.data(), with_token=st.sampled_from([True, True, True, False]))
def test_portal_forms_with_arbitrary_fields(portal, form, data, with_token) -> None:
    web, ids = portal
    fields = data.draw(form_with({name: field_values for name in FORMS[form]}))
    with case(f"POST /portal/{form} (CSRF or not)"):
        if with_token:
            fields["csrf_token"] = _csrf(web.client)
        else:
            fields.pop("csrf_token", None)
        response = web.client.post(_path(form, ids), data=fields)
        assert_safe(response)
        if not with_token:
            assert response.status_code == 400


@budget(0.3)
@given(fields=form_with({"login": field_values, "password": field_values, "next": field_values,
                         "csrf_token": printable_junk}), with_token=st.booleans())
def test_login_with_arbitrary_fields(web, fields, with_token) -> None:
    with case("POST /portal/login"):
        client = web.app.test_client()
        token = CSRF.search(client.get("/portal/login").get_data(as_text=True)).group(1)
        if with_token:
            fields["csrf_token"] = token
        response = client.post("/portal/login", data=fields)
        assert_safe(response)
        if not with_token and fields.get("csrf_token") != token:
            assert response.status_code == 400
        else:
            assert response.status_code in (302, 400, 401, 429)


PAGES = ["/portal/", "/portal/export.csv", "/portal/audit", "/portal/dashboard", "/portal/changes",
         "/portal/conversations", "/portal/cases/{x}", "/portal/cases/{x}/registry", "/portal/changes/{x}",
         "/portal/conversations/{x}", "/portal/cases/{x}/evidence/{x}", "/portal/login"]
FILTERS = ["status", "level", "category", "programme", "channel", "deadline", "sla", "area", "province",
           "actor", "action", "subject", "from", "to", "page", "next", "x"]


@pytest.mark.parametrize("page", PAGES)
@budget(0.2)
@given(segment=st.one_of(field_values, st.integers().map(str)),
       query=st.dictionaries(st.sampled_from(FILTERS), field_values, max_size=4))
def test_portal_pages_with_arbitrary_filters(portal, page, segment, query) -> None:
    web, _ = portal
    with case(f"GET {page.replace('{x}', '…')} (any filter)"):
        response = web.client.get(page.replace("{x}", quote(segment, safe="") or "x"), query_string=query)
        assert_safe(response)


@given(fields=form_with({"phone": phones,
                         "action": st.sampled_from(["dial", "ussd", "sms", "hangup", "", "x", "tg_send",
                                                    "tg_contact", "tg_photo"]),
                         "tg_thread": st.one_of(printable_junk, st.just('[{"id": 1}]'), st.just("[1]")),
                         "tg_input": citizen_text, "tg_press": printable_junk,
                         "session": printable_junk, "text": citizen_text, "input": citizen_text,
                         "thread": st.one_of(printable_junk, st.just('[["me","hi"]]'), st.just("[[1,2,3]]"),
                                             st.just('{"a": 1}'), st.just("[null]"))}),
       with_token=st.sampled_from([True, True, True, False]))
@budget(0.5)
def test_simulator_with_arbitrary_fields(web, fields, with_token) -> None:
    with case("POST /simulator"):
        client = web.client
        token = SIM_CSRF.search(client.get("/simulator").get_data(as_text=True)).group(1)
        fields["csrf"] = token if with_token else "forged"
        response = client.post("/simulator", data=fields)
        assert_safe(response)
        nul = any("\x00" in key or "\x00" in value for key, value in fields.items())
        assert response.status_code == (200 if with_token and not nul else 400)
