"""Portal UI fixtures: a private seeded registry (approving a change must not disturb the shared
`live_registry`), the portal app wired to it, officers of each role, and cases lodged through the
services with their areas taken from the registry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal import create_app
from portal.models.cases import Grievance, Officer
from portal.services import grievances, officers
from portal.services.grievance_catalogue import Area
from registry_client.client import RegistryClient
from tests.fixtures.registry import private_live_registry

PASSWORD = "correct-horse-42"
P2_UIN, P2_PHONE = "100000102", "+85512000102"
P5_UIN, P5_PHONE = "100000105", "+85512000105"
LODGED = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 09:00 in Phnom Penh


@pytest.fixture(scope="session")
def ui_registry(new_session_database) -> Iterator[object]:
    with private_live_registry(new_session_database("uiregistry"), random_seed=11) as live:
        yield live


@pytest.fixture
def registry(ui_registry) -> Iterator[RegistryClient]:
    client = RegistryClient(ui_registry.settings)  # type: ignore[attr-defined]
    yield client
    client.close()


@pytest.fixture
def app(portal_database_url, ui_registry) -> Iterator[Flask]:
    settings = replace(ui_registry.settings, database_url=portal_database_url,  # type: ignore[attr-defined]
                       secret_key="ui-test-secret", public_base_url="http://127.0.0.1:8000")
    application = create_app(settings)
    application.config["CHUMNUOY_CLOCK"] = lambda: datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    yield application
    client = application.extensions.get("registry")
    if client is not None:
        client.close()


@pytest.fixture
def session(app) -> Iterator[Session]:
    with app.extensions["db_sessionmaker"]() as s:
        yield s


@dataclass
class World:
    p2_spid: str
    p2_case: str
    other_district_case: str
    other_agency_case: str
    anonymous_case: str
    district: str
    province: str
    officers: dict[str, Officer]


@pytest.fixture
def world(session, registry) -> World:
    """P2's non-payment complaint (by SMS, routed by P2's registry address), an NSAF case in another
    district of the same province, a MoP case in P2's district, an anonymous fraud report in P2's
    district, and one account per role."""
    (p2,) = registry.find_people("UIN", P2_UIN)
    address = p2.address
    district, province = address.district_code or "", address.province_code or ""
    assert len(district) == 4 and len(province) == 2
    p2_case = grievances.lodge(session, category_code="non_payment", channel="sms", now=LODGED,
                               address=P2_PHONE, person_spid=p2.spid, programme="elderly",
                               description="ខ្ញុំមិនទាន់ទទួលបានប្រាក់ខែតុលា", registry=registry)
    other_district = f"{province}{'99' if district[2:] != '99' else '98'}"
    elsewhere = grievances.lodge(session, category_code="wrong_amount", channel="ussd", now=LODGED,
                                 address="+85512000555", area=Area.from_codes(district_code=other_district))
    mop = grievances.lodge(session, category_code="exclusion", channel="telegram", now=LODGED,
                           address="777001", area=Area.from_codes(district_code=district))
    anonymous = grievances.lodge(session, category_code="fraud", channel="sms", now=LODGED,
                                 address="+85512000666", anonymous=True,
                                 area=Area.from_codes(district_code=district), description="សុំលុយ")
    accounts = {
        "district": officers.create_officer(session, login="dara.district", name="សុខ វិចិត្រ",
                                            password=PASSWORD, role="officer", area_code=district,
                                            agency="NSAF"),
        "supervisor": officers.create_officer(session, login="province.sup", name="ចាន់ ធីតា",
                                              password=PASSWORD, role="supervisor", area_code=province,
                                              agency="NSAF"),
        "other_supervisor": officers.create_officer(session, login="other.sup", name="Other Province",
                                                    password=PASSWORD, role="supervisor",
                                                    area_code="12" if province != "12" else "13",
                                                    agency="NSAF"),
        "mop": officers.create_officer(session, login="mop.district", name="MoP District", password=PASSWORD,
                                       role="officer", area_code=district, agency="MoP"),
        "national": officers.create_officer(session, login="national", name="National NSAF",
                                            password=PASSWORD, role="national_officer", agency="NSAF"),
        "admin": officers.create_officer(session, login="admin", name="Admin", password=PASSWORD,
                                         role="admin", locale="en"),
    }
    assert p2_case.district_code == district and p2_case.agency == "NSAF"
    return World(p2.spid, p2_case.reference, elsewhere.reference, mop.reference, anonymous.reference,
                 district, province, accounts)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: FlaskClient, path: str = "/portal/login") -> str:
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, login: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    token = csrf_of(client)
    return client.post("/portal/login", data={"login": login, "password": password, "csrf_token": token})


def post(client: FlaskClient, path: str, data: dict[str, str], page: str = "/portal/"):  # type: ignore[no-untyped-def]
    """A form post with the session's CSRF token (read from `page`)."""
    return client.post(path, data={**data, "csrf_token": csrf_of(client, page)})


def grievance(session: Session, reference: str) -> Grievance:
    session.expire_all()
    found = grievances.get_by_reference(session, reference)
    assert found is not None
    return found
