"""Personal data never reaches a log (SPEC §14): the real processes (sandbox registry, gunicorn web,
worker) log at DEBUG to files while every persona (SPEC §8, P1–P8) uses USSD, SMS and the API —
verifying with the date of birth, viewing payments, lodging complaints with their phone number, ID
number and birth date typed in the text, asking for the status — then every log file is searched for
every persona's phone number, national ID and date of birth in every usual spelling."""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest

from chumnuoy.digits import to_khmer_digits
from chumnuoy.stack import Stack, StackSpec

pytestmark = pytest.mark.sqlite_only  # one run of real processes is enough; the masking is the same


@dataclass(frozen=True)
class Persona:
    name: str
    phone: str
    uin: str | None
    born: date | None


PERSONAS = [
    Persona("P1", "+85512000101", "100000101", date(1996, 4, 12)),
    Persona("P2", "+85512000102", "100000102", date(1958, 9, 3)),
    Persona("P3", "+85597000103", "100000103", date(1990, 1, 20)),
    Persona("P4", "+85510000104", "100000104", date(1985, 6, 30)),
    Persona("P5", "+85512000105", "100000105", date(1979, 11, 5)),
    Persona("P6", "+85512000199", None, None),
    Persona("P7", "+85512000107", "100000107", date(1970, 2, 14)),
    Persona("P8", "+85512000108", "100000109", date(1986, 3, 15)),
    Persona("P8 (wife)", "+85512000108", "100000108", date(1988, 7, 7)),
]


def spellings(persona: Persona) -> set[str]:
    """Every way the persona's data could be written in a log line."""
    national = persona.phone.removeprefix("+855")
    found = {persona.phone, persona.phone[1:], "0" + national, to_khmer_digits("0" + national),
             f"0{national[:2]} {national[2:5]} {national[5:]}"}
    if persona.uin:
        found |= {persona.uin, to_khmer_digits(persona.uin)}
    if persona.born:
        d = persona.born
        found |= {d.strftime("%d%m%Y"), d.isoformat(), d.strftime("%d/%m/%Y"), d.strftime("%d-%m-%Y"),
                  d.strftime("%d.%m.%Y"), to_khmer_digits(d.strftime("%d%m%Y")), d.strftime("%Y%m%d")}
    return found


_ids = itertools.count(1)


def ussd(client: httpx.Client, stack: Stack, phone: str, session: str, text: str) -> str:
    response = client.post(f"/channels/ussd?key={stack.ussd_key}", data={
        "sessionId": session, "serviceCode": "*1234#", "phoneNumber": phone, "networkCode": "45606",
        "text": text})
    assert response.status_code == 200, response.text
    return response.text


def sms(client: httpx.Client, stack: Stack, phone: str, text: str) -> str:
    response = client.post(f"/channels/sms/gateway?key={stack.sms_key}",
                           json={"from": phone, "to": "1234", "text": text, "id": f"pii-{next(_ids)}"})
    assert response.status_code in (200, 204), response.text
    return response.json()["text"] if response.status_code == 200 else ""


def exercise(client: httpx.Client, stack: Stack, persona: Persona, index: int) -> None:
    """One persona through USSD, SMS and the API, personal data typed wherever a citizen might."""
    dob = persona.born.strftime("%d%m%Y") if persona.born else "01011990"
    who = "2" if persona.name == "P8 (wife)" else "1"
    # USSD: Khmer, consent, benefits (shared phone: which person), date of birth, payments
    steps = ["1", "1", "2"] + ([who] if persona.phone.endswith("108") else []) + [dob, "1", "1"]
    session, text = f"pii-{index}", ""
    ussd(client, stack, persona.phone, session, "")
    for step in steps:
        text = f"{text}*{step}" if text else step
        if ussd(client, stack, persona.phone, session, text).startswith("END"):
            break
    # USSD complaint (anonymous misconduct for some), then its status by reference
    session, text = f"pii-c-{index}", ""
    ussd(client, stack, persona.phone, session, "")
    ussd(client, stack, persona.phone, session, "3")
    ack = ussd(client, stack, persona.phone, session, "3*1")
    reference = "".join(re.findall(r"\d{8}", ack)[:1])
    # SMS: first contact, benefits with a date of birth with separators, complaint with PII in the text
    sms(client, stack, persona.phone, "1")
    sms(client, stack, persona.phone, "1")
    sms(client, stack, persona.phone, "2")
    if persona.phone.endswith("108"):
        sms(client, stack, persona.phone, who)
    sms(client, stack, persona.phone, persona.born.strftime("%d/%m/%Y") if persona.born else "01/01/1990")
    sms(client, stack, persona.phone, "MENU")
    sms(client, stack, persona.phone, "3")
    sms(client, stack, persona.phone, "1")
    national = persona.phone.removeprefix("+855")
    sms(client, stack, persona.phone, f"ខ្ញុំ​មិន​ទាន់​ទទួល​ប្រាក់។ លេខ 0{national} អត្តសញ្ញាណ {persona.uin or '-'} "
                                      f"កើត {persona.born.isoformat() if persona.born else '-'} {dob}")
    if reference:
        sms(client, stack, persona.phone, f"{reference} my phone is {persona.phone}, ID {persona.uin}")
    sms(client, stack, persona.phone, "hello my number is " + persona.phone[1:])
    # API: eligibility and entitlements by national ID (body only), a complaint with the phone
    bearer = {"Authorization": f"Bearer {stack.api_token}"}
    if persona.uin:
        for path in ("/api/v1/eligibility", "/api/v1/entitlements"):
            answer = client.post(path, json={"person": {"uin": persona.uin}}, headers=bearer)
            assert answer.status_code in (200, 404)
    created = client.post("/api/v1/grievances", headers=bearer, json={
        "category": "non_payment", "description": f"phone {persona.phone} id {persona.uin} born {dob}",
        "reply": {"channel": "sms", "address": persona.phone}, "channel": "api"})
    assert created.status_code == 201, created.text
    lookup = client.post("/api/v1/grievances/lookup", headers=bearer, json={
        "reference": created.json()["reference"], "channel": "sms", "address": persona.phone})
    assert lookup.status_code == 200


def test_no_persona_data_in_any_log_of_a_full_run(tmp_path: Path) -> None:
    spec = StackSpec(database_url=f"sqlite:///{tmp_path / 'portal.db'}",
                     registry_database_url=f"sqlite:///{tmp_path / 'registry.db'}", web_workers=1,
                     persons=50, extra_env={"CHUMNUOY_LOG_LEVEL": "DEBUG"})
    with Stack(spec, tmp_path / "stack") as stack:
        stack.prepare()
        stack.start_all()
        with httpx.Client(base_url=stack.web_url, timeout=30) as client:
            for index, persona in enumerate(PERSONAS):
                exercise(client, stack, persona, index)
        time.sleep(3)  # the worker picks up the outbox (acknowledgements, officer alerts) and logs it
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql

    engine = create_engine(spec.database_url)
    with engine.connect() as connection:  # the personas really went through: complaints from every one
        lodged = connection.execute(sql("SELECT count(*) FROM grievances")).scalar_one()
        verified = connection.execute(
            sql("SELECT count(*) FROM channel_identities WHERE level = 2")).scalar_one()
    engine.dispose()
    assert lodged >= 2 * len(PERSONAS) and verified >= 6, (lodged, verified)
    logs = sorted((tmp_path / "stack").glob("*.log"))
    assert {p.stem for p in logs} >= {"registry", "web", "worker-1"}
    text = {p.name: p.read_text(errors="replace") for p in logs}
    assert sum(len(t.splitlines()) for t in text.values()) > 50, "the processes logged almost nothing"
    assert "POST /channels/ussd" in text["web.log"], "the web access log is missing"
    leaks = [(name, persona.name, needle, line.strip()[:200])
             for persona in PERSONAS for needle in spellings(persona)
             for name, content in text.items() for line in content.splitlines() if needle in line]
    assert leaks == [], f"{len(leaks)} log lines hold personal data, e.g. {leaks[:5]}"
