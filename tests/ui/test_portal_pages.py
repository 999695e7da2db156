"""The officer portal through Flask's test client: sign-in, CSRF, headers, rate limits, language,
scoping of every list, the case actions through the services, registry views (audited), change
requests, conversations, dashboard, CSV, audit log and users. Real database, real sandbox registry."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from sqlalchemy import select

from portal import create_app
from portal.models.cases import AuditEntry, ConversationMessage, OutboxMessage
from portal.services import change_requests, conversations
from tests.ui.conftest import P2_PHONE, P5_UIN, PASSWORD, csrf_of, grievance, post, sign_in


def test_queue_redirects_to_login_and_security_headers_are_set(app, world):
    client = app.test_client()
    response = client.get("/portal/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/portal/login")
    page = client.get("/portal/login")
    assert page.status_code == 200
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert 'lang="km"' in page.get_data(as_text=True) and "ចូលប្រើ" in page.get_data(as_text=True)


def test_posts_without_the_csrf_token_are_refused(app, world):
    client = app.test_client()
    client.get("/portal/login")
    refused = client.post("/portal/login", data={"login": "dara.district", "password": PASSWORD})
    assert refused.status_code == 400
    assert sign_in(client, "dara.district").status_code == 302
    wrong = client.post(f"/portal/cases/{world.p2_case}/reply", data={"text": "x", "csrf_token": "forged"})
    assert wrong.status_code == 400
    assert client.post(f"/portal/cases/{world.p2_case}/escalate", data={}).status_code == 400
    assert client.post("/portal/logout").status_code == 400
    assert grievance(app.extensions["db_sessionmaker"](), world.p2_case).level == "commune"


def test_session_cookie_is_httponly_and_secure_behind_https(app, world, portal_database_url):
    client = app.test_client()
    sign_in(client, "dara.district")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and not cookie.secure and cookie.same_site == "Lax"
    secure_app = create_app(replace(app.config["CHUMNUOY_SETTINGS"], public_base_url="https://portal.example"))
    assert secure_app.config["SESSION_COOKIE_SECURE"] is True


def test_wrong_password_and_login_rate_limit(app, world, session):
    client = app.test_client()
    assert sign_in(client, "dara.district", "wrong-password").status_code == 401
    for _ in range(4):
        sign_in(client, "dara.district", "wrong-password")
    throttled = sign_in(client, "dara.district")  # 6th attempt within the window: refused even if right
    assert throttled.status_code == 429
    assert "១៥" in throttled.get_data(as_text=True)
    other = app.test_client()
    assert sign_in(other, "province.sup").status_code == 302  # the limit is per login (and per IP)
    actions = [a.action for a in session.scalars(select(AuditEntry).where(
        AuditEntry.action.in_(("login_failed", "login_throttled", "login"))))]
    assert actions.count("login_failed") == 5 and "login_throttled" in actions and "login" in actions
    # no login name in clear in the audit log
    assert not any("dara" in (a.subject_id or "") for a in session.scalars(select(AuditEntry)))


def test_ip_rate_limit(app, world):
    from portal.ui.auth import IP_LIMIT

    assert 5 < IP_LIMIT <= 50
    app.config["PORTAL_LOGIN_IP_LIMIT"] = 8  # the default (30) works the same, only slower to reach
    client = app.test_client()
    for n in range(8):
        assert sign_in(client, f"nobody{n}", "wrong-password").status_code == 401  # one try per login
    assert sign_in(client, "dara.district").status_code == 429


def test_language_switch(app, world):
    client = app.test_client()
    sign_in(client, "dara.district")
    assert "បណ្តឹង" in client.get("/portal/").get_data(as_text=True)
    token = csrf_of(client, "/portal/")
    client.post("/portal/language", data={"locale": "en", "csrf_token": token, "next": "/portal/"})
    page = client.get("/portal/").get_data(as_text=True)
    assert 'lang="en"' in page and "Cases" in page and "Payment not received" in page


def test_district_officer_sees_only_their_district_and_agency(app, world):
    client = app.test_client()
    sign_in(client, "dara.district")
    page = client.get("/portal/").get_data(as_text=True)
    assert world.p2_case in page and world.anonymous_case in page
    assert world.other_district_case not in page and world.other_agency_case not in page
    assert client.get(f"/portal/cases/{world.other_agency_case}").status_code == 404
    assert client.get(f"/portal/cases/{world.other_district_case}").status_code == 404
    # the MoP officer of the same district sees the MoP case only
    mop = app.test_client()
    sign_in(mop, "mop.district")
    page = mop.get("/portal/").get_data(as_text=True)
    assert world.other_agency_case in page and world.p2_case not in page


def test_filters_and_sla_words(app, world):
    client = app.test_client()
    sign_in(client, "national")
    page = client.get("/portal/?category=non_payment").get_data(as_text=True)
    assert world.p2_case in page and world.other_district_case not in page
    page = client.get(f"/portal/?area={world.district}&channel=sms").get_data(as_text=True)
    assert world.p2_case in page and world.other_district_case not in page
    page = client.get("/portal/?sla=on_time").get_data(as_text=True)
    assert world.p2_case in page and 'class="sla sla-on_time"' in page and "ទាន់ពេល" in page
    assert world.p2_case not in client.get("/portal/?sla=breached").get_data(as_text=True)
    assert world.p2_case not in client.get("/portal/?status=resolved").get_data(as_text=True)


def test_reply_in_khmer_goes_to_the_outbox_for_the_citizens_channel(app, world, session):
    client = app.test_client()
    sign_in(client, "dara.district")
    case_page = client.get(f"/portal/cases/{world.p2_case}").get_data(as_text=True)
    assert P2_PHONE in case_page and "ខ្ញុំមិនទាន់ទទួលបានប្រាក់ខែតុលា" in case_page
    reply = "យើងកំពុងពិនិត្យការបើកប្រាក់របស់លោក"
    response = post(client, f"/portal/cases/{world.p2_case}/reply", {"text": reply},
                    page=f"/portal/cases/{world.p2_case}")
    assert response.status_code == 302
    (message,) = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply"))
    assert (message.channel, message.address) == ("sms", P2_PHONE) and reply in message.text
    g = grievance(session, world.p2_case)
    assert g.state == "in_review" and [e.type for e in g.events][-2:] == ["reply", "status_change"]
    viewed = session.scalars(select(AuditEntry).where(AuditEntry.action == "view_grievance")).all()
    assert viewed and viewed[0].subject_id == world.p2_case


def test_canned_reply_is_sent_in_the_cases_language(app, world, session):
    client = app.test_client()
    sign_in(client, "dara.district")
    post(client, f"/portal/cases/{world.p2_case}/reply", {"canned": "paid_next", "text": ""},
         page=f"/portal/cases/{world.p2_case}")
    (message,) = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply"))
    assert "ប័ណ្ណសមធម៌" in message.text


def test_escalate_resolve_reject_reopen(app, world, session):
    district = app.test_client()
    sign_in(district, "dara.district")
    response = post(district, f"/portal/cases/{world.p2_case}/escalate", {"reason": "payment office"},
                    page=f"/portal/cases/{world.p2_case}")
    assert response.headers["Location"] == f"/portal/cases/{world.p2_case}"  # still the district's
    g = grievance(session, world.p2_case)
    assert (g.level, g.state) == ("district", "escalated")
    response = post(district, f"/portal/cases/{world.p2_case}/escalate", {},
                    page=f"/portal/cases/{world.p2_case}")
    assert response.headers["Location"] == "/portal/"  # the province is above the district officer
    assert grievance(session, world.p2_case).level == "province"
    assert world.p2_case not in district.get("/portal/").get_data(as_text=True)

    supervisor = app.test_client()
    sign_in(supervisor, "province.sup")
    assert world.p2_case in supervisor.get("/portal/").get_data(as_text=True)
    outsider = app.test_client()
    sign_in(outsider, "other.sup")
    assert world.p2_case not in outsider.get("/portal/").get_data(as_text=True)

    page = f"/portal/cases/{world.p2_case}"
    post(supervisor, f"{page}/resolve", {"resolution_code": "", "text": "x"}, page=page)
    assert grievance(session, world.p2_case).state == "escalated"  # a resolution code is required
    post(supervisor, f"{page}/resolve", {"resolution_code": "paid", "text": "បានបើកប្រាក់ហើយ"}, page=page)
    g = grievance(session, world.p2_case)
    assert (g.state, g.resolution_code) == ("resolved", "paid")
    post(supervisor, f"{page}/reopen", {"reason": "citizen disagrees"}, page=page)
    assert grievance(session, world.p2_case).state == "reopened"
    post(supervisor, f"{page}/reject", {"reason": ""}, page=page)
    assert grievance(session, world.p2_case).state == "reopened"  # a reason is required
    post(supervisor, f"{page}/reject", {"reason": "duplicate"}, page=page)
    g = grievance(session, world.p2_case)
    assert (g.state, g.rejection_reason) == ("rejected", "duplicate")
    timeline = supervisor.get(page).get_data(as_text=True)
    for label in ("បានបញ្ជូនទៅថ្នាក់លើ", "បានដោះស្រាយ", "បានបើកឡើងវិញ", "duplicate"):
        assert label in timeline


def test_assign_only_to_colleagues(app, world, session):
    client = app.test_client()
    sign_in(client, "dara.district")
    page = f"/portal/cases/{world.p2_case}"
    post(client, f"{page}/assign", {"officer_id": str(world.officers["district"].id)}, page=page)
    assert grievance(session, world.p2_case).assigned_officer_id == world.officers["district"].id
    refused = post(client, f"{page}/assign", {"officer_id": str(world.officers["mop"].id)}, page=page)
    assert refused.status_code == 400


def test_anonymous_case_hides_the_address(app, world):
    client = app.test_client()
    sign_in(client, "dara.district")
    page = client.get(f"/portal/cases/{world.anonymous_case}").get_data(as_text=True)
    assert "+85512000666" not in page and "អនាមិក" in page
    assert "registry-link" not in page
    assert client.get(f"/portal/cases/{world.anonymous_case}/registry").status_code == 200


def test_registry_record_is_fetched_live_and_audited(app, world, session):
    client = app.test_client()
    sign_in(client, "dara.district")
    page = client.get(f"/portal/cases/{world.p2_case}/registry").get_data(as_text=True)
    assert "សុខ ដារ៉ា" in page and world.p2_spid in page
    (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "view_registry_person"))
    assert (entry.actor, entry.subject_id) == (f"officer:{world.officers['district'].id}", world.p2_case)
    mop = app.test_client()
    sign_in(mop, "mop.district")
    assert mop.get(f"/portal/cases/{world.p2_case}/registry").status_code == 404


def test_change_request_approval_updates_the_registry(app, world, session, registry):
    (p5,) = registry.find_people("UIN", P5_UIN)
    old = {"village_code": p5.address.village_code, "line": p5.address.line}
    new_line = "ភូមិថ្មី ផ្ទះលេខ ១២" if p5.address.line != "ភូមិថ្មី ផ្ទះលេខ ១២" else "ភូមិចាស់ ផ្ទះលេខ ៥"
    request = change_requests.create(session, change_type="address", household_id=p5.household_id,
                                     person_spid=p5.spid, old_value=old,
                                     new_value={**old, "line": new_line}, source="citizen",
                                     requested_by="citizen", now=app.config["CHUMNUOY_CLOCK"](),
                                     reply_channel="sms", reply_address="+85512000105",
                                     province_code=p5.address.province_code,
                                     commune_code=p5.address.commune_code)
    client = app.test_client()
    sign_in(client, "admin")
    listing = client.get("/portal/changes").get_data(as_text=True)
    assert f"/portal/changes/{request.id}" in listing
    page = client.get(f"/portal/changes/{request.id}").get_data(as_text=True)
    assert new_line in page and (p5.address.line or "") in page
    post(client, f"/portal/changes/{request.id}/approve", {}, page=f"/portal/changes/{request.id}")
    session.expire_all()
    assert change_requests.get(session, request.id).status == "approved"
    (fresh,) = registry.find_people("UIN", P5_UIN)
    assert fresh.address.line == new_line
    # an officer of another province does not see it
    other = app.test_client()
    sign_in(other, "other.sup" if p5.address.province_code != "12" else "province.sup")
    assert other.get(f"/portal/changes/{request.id}").status_code == 404


def test_change_request_rejection_needs_a_reason(app, world, session):
    request = change_requests.create(session, change_type="phone", person_spid=world.p2_spid,
                                     old_value=P2_PHONE, new_value="+85512000999", source="citizen",
                                     requested_by="citizen", now=app.config["CHUMNUOY_CLOCK"](),
                                     reply_channel="sms", reply_address=P2_PHONE,
                                     province_code=world.province)
    client = app.test_client()
    sign_in(client, "province.sup")
    page = f"/portal/changes/{request.id}"
    post(client, f"{page}/reject", {"reason": ""}, page=page)
    session.expire_all()
    assert change_requests.get(session, request.id).status == "pending"
    post(client, f"{page}/reject", {"reason": "ឯកសារមិនគ្រប់"}, page=page)
    session.expire_all()
    assert change_requests.get(session, request.id).status == "rejected"
    (message,) = session.scalars(select(OutboxMessage).where(OutboxMessage.address == P2_PHONE))
    assert "ឯកសារមិនគ្រប់" in message.text


def test_handoff_conversation_reply(app, world, session):
    conversation = conversations.open_handoff(session, channel="ussd", address=P2_PHONE, text="ជួយខ្ញុំផង",
                                              now=app.config["CHUMNUOY_CLOCK"](),
                                              province_code=world.province)
    elsewhere = conversations.open_handoff(session, channel="sms", address="+85512000444", text="hello",
                                           now=app.config["CHUMNUOY_CLOCK"](), province_code="99")
    client = app.test_client()
    sign_in(client, "province.sup")
    listing = client.get("/portal/conversations").get_data(as_text=True)
    assert f"/portal/conversations/{conversation.id}" in listing
    assert f"/portal/conversations/{elsewhere.id}" not in listing
    page = f"/portal/conversations/{conversation.id}"
    assert "ជួយខ្ញុំផង" in client.get(page).get_data(as_text=True)
    post(client, f"{page}/reply", {"text": "សូមរង់ចាំបន្តិច"}, page=page)
    (message,) = session.scalars(select(OutboxMessage).where(OutboxMessage.address == P2_PHONE))
    assert message.channel == "sms" and "សូមរង់ចាំបន្តិច" in message.text
    out = session.scalars(select(ConversationMessage).where(ConversationMessage.direction == "out")).one()
    assert out.outbox_message_id == message.id
    assert client.get(f"/portal/conversations/{elsewhere.id}").status_code == 404


def test_dashboard_csv_and_audit(app, world, session):
    client = app.test_client()
    sign_in(client, "national")
    page = client.get("/portal/dashboard").get_data(as_text=True)
    assert page.count("<svg") >= 5 and 'id="total">៣<' in page  # three NSAF cases
    assert "មិនទាន់ទទួលបានប្រាក់" in page
    export = client.get("/portal/export.csv")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "reference" and {r[0] for r in rows[1:]} == {
        world.p2_case, world.other_district_case, world.anonymous_case}
    assert "+85512000666" not in export.get_data(as_text=True)
    assert client.get("/portal/users").status_code == 403
    district = app.test_client()
    sign_in(district, "dara.district")
    assert district.get("/portal/audit").status_code == 403
    admin = app.test_client()
    sign_in(admin, "admin")
    audit_page = admin.get("/portal/audit?action=export_cases").get_data(as_text=True)
    assert "export_cases" in audit_page and "login" not in audit_page.split("<tbody>")[1]


def test_admin_creates_and_deactivates_users(app, world, session):
    admin = app.test_client()
    sign_in(admin, "admin")
    page = "/portal/users"
    bad = post(admin, page, {"login": "x", "name": "X", "password": "short", "role": "officer",
                             "agency": "NSAF", "area_code": world.district}, page=page)
    assert bad.status_code == 400
    post(admin, page, {"login": "new.officer", "name": "New", "password": "long-enough-pw",
                       "role": "officer", "agency": "NSAF", "area_code": world.district, "locale": "km"},
         page=page)
    newcomer = app.test_client()
    assert sign_in(newcomer, "new.officer", "long-enough-pw").status_code == 302
    assert world.p2_case in newcomer.get("/portal/").get_data(as_text=True)
    from portal.models.cases import Officer

    created = session.scalar(select(Officer).where(Officer.login == "new.officer"))
    post(admin, f"/portal/users/{created.id}/active", {"active": "0"}, page=page)
    assert newcomer.get("/portal/").status_code == 302  # signed out at once


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"tEXt", b"GPS\x0011.5,104.9")
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def test_evidence_photo_is_served_in_scope_and_audited(app, world, session):
    import pytest

    evidence = pytest.importorskip("bot.telegram.evidence")
    stored = evidence.store(session, _png(), app.config["CHUMNUOY_CLOCK"]())
    request = change_requests.create(
        session, change_type="phone", person_spid=world.p2_spid, old_value=P2_PHONE, new_value="+85512000998",
        source="citizen", requested_by="citizen", now=app.config["CHUMNUOY_CLOCK"](),
        province_code=world.province,
        evidence=(change_requests.EvidenceFile(stored.filename, stored.content_type, stored.size_bytes,
                                               stored.sha256, stored.storage_key, True),))
    client = app.test_client()
    sign_in(client, "province.sup")
    page = client.get(f"/portal/changes/{request.id}").get_data(as_text=True)
    url = f"/portal/changes/{request.id}/evidence/{request.evidence[0].id}"
    assert f'src="{url}"' in page
    photo = client.get(url)
    assert photo.status_code == 200 and photo.mimetype == "image/png"
    assert photo.data.startswith(b"\x89PNG") and b"GPS" not in photo.data  # stored with metadata removed
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "view_evidence")).one()
    outsider = app.test_client()
    sign_in(outsider, "other.sup")
    assert outsider.get(url).status_code == 404


def test_admin_adds_a_canned_reply_that_officers_can_send(app, world, session):
    admin = app.test_client()
    sign_in(admin, "admin")
    text = "សូមទូរស័ព្ទមកលេខ ១២៨០ ដើម្បីសួរព័ត៌មានបន្ថែម"
    assert post(admin, "/portal/canned", {"key": "hotline", "locale": "km", "text": text, "agency": "NSAF"},
                page="/portal/canned").status_code == 302
    assert post(admin, "/portal/canned", {"key": "hotline", "locale": "km", "text": "again"},
                page="/portal/canned").status_code == 400  # the key exists in Khmer
    district = app.test_client()
    sign_in(district, "dara.district")
    assert district.get("/portal/canned").status_code == 403
    page = f"/portal/cases/{world.p2_case}"
    from portal.models.cases import CannedReply

    row = session.scalars(select(CannedReply)).one()
    html = district.get(page).get_data(as_text=True)
    assert f'<option value="db:{row.id}">{text}</option>' in html
    post(district, f"{page}/reply", {"canned": f"db:{row.id}", "text": ""}, page=page)
    (message,) = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply"))
    assert text in message.text and message.address == P2_PHONE
    post(admin, f"/portal/canned/{row.id}/active", {"active": "0"}, page="/portal/canned")
    assert f'value="db:{row.id}"' not in district.get(page).get_data(as_text=True)
