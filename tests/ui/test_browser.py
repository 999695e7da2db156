"""The officer portal in headless Chromium (Debian's chromium + chromium-driver, driven by Selenium):
the district officer's queue, a Khmer reply that lands in the outbox for P2's channel, escalation,
the province supervisor resolving it, approving P5's address change in the registry, and a form
posted without its CSRF token being refused. Screenshots go to a temporary folder, and to
$CHUMNUOY_SCREENSHOTS (e.g. docs/screenshots) when that is set.

Without chromium the test is skipped, except under CHUMNUOY_REQUIRE_SERVICES=1 (`make test`, whose
setup stage scripts/test-stages/browser.sh installs it), where it fails."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from portal.models.cases import Grievance, OutboxMessage
from portal.services import change_requests, grievances
from portal.services.grievance_catalogue import Area
from portal.services.officer_queue import grievance_scope
from tests.ui.conftest import LODGED, P2_PHONE, P5_UIN, PASSWORD

pytestmark = pytest.mark.sqlite_only  # a real browser: once per `make test` (the logic runs on both backends)

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        message = f"{', '.join(missing)} missing (scripts/test-stages/browser.sh installs them)"
        if os.environ.get("CHUMNUOY_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        import selenium  # noqa: F401
    except ImportError:
        if os.environ.get("CHUMNUOY_REQUIRE_SERVICES"):
            pytest.fail("the selenium package is missing")
        pytest.skip("the selenium package is missing")


@pytest.fixture
def browser(tmp_path) -> Iterator[object]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=km",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def portal_url(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _more_cases(session, world) -> None:  # type: ignore[no-untyped-def]
    """Extra cases of the district (and one elsewhere) so the queue and dashboard have some variety."""
    area = Area.from_codes(district_code=world.district)
    specs = [("wrong_amount", "ussd", 40), ("unclaimed", "telegram", 25), ("non_payment", "ussd", 18),
             ("other", "sms", 8), ("misconduct", "telegram", 3), ("wrong_amount", "sms", 1)]
    for code, channel, days_ago in specs:
        grievances.lodge(session, category_code=code, channel=channel, now=LODGED - timedelta(days=days_ago),
                         address="+85512000777" if channel != "telegram" else "880001", area=area)
    done = grievances.lodge(session, category_code="non_payment", channel="ussd",
                            now=LODGED - timedelta(days=30), address="+85512000778", area=area)
    grievances.resolve(session, done, resolution_code="paid", text="paid", actor="officer:1",
                       now=LODGED - timedelta(days=20))


def _shot(driver, name: str, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    import base64

    width, height = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": min(height, 2400), "scale": 1}})
    path = tmp_path / name
    path.write_bytes(base64.b64decode(shot["data"]))
    target = os.environ.get("CHUMNUOY_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    return path


def _go(driver, element) -> None:  # type: ignore[no-untyped-def]
    """Click something that loads a new page and wait until the old page is gone."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def old_page_gone(_driver) -> bool:  # type: ignore[no-untyped-def]
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:  # chromedriver's wording while the page is being replaced
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    element.click()
    WebDriverWait(driver, 15).until(old_page_gone)


def _sign_in(driver, base: str, login: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/portal/")
    assert "/portal/login" in driver.current_url
    driver.find_element(By.ID, "login").send_keys(login)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    _go(driver, driver.find_element(By.ID, "sign-in"))
    assert driver.current_url.rstrip("/").endswith("/portal")


def _sign_out(driver) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    _go(driver, driver.find_element(By.XPATH, "//form[contains(@action, '/portal/logout')]//button"))


def _queue_references(driver) -> set[str]:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "tr.case-row")
    return {row.get_attribute("data-reference") for row in rows}


def test_officer_journey_in_chromium(app, world, session, registry, browser, portal_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver, base = browser, portal_url
    _more_cases(session, world)

    # 1. the NSAF district officer sees exactly the NSAF cases of the district (Khmer UI)
    _sign_in(driver, base, "dara.district")
    expected = {g.reference for g in session.scalars(select(Grievance).where(
        Grievance.district_code == world.district, Grievance.agency == "NSAF"))}
    assert _queue_references(driver) == expected
    assert world.other_agency_case not in expected and world.other_district_case not in expected
    assert "បណ្តឹង" in driver.page_source
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "km"
    breached = driver.find_elements(By.CSS_SELECTOR, ".sla.sla-breached")
    assert breached and all(b.text == "ហួសថ្ងៃកំណត់" for b in breached)  # colour AND words
    _shot(driver, "portal-queue.png", tmp_path)

    # 2. P2's non-payment complaint: reply in Khmer → outbox, on P2's channel (SMS)
    _go(driver, driver.find_element(By.LINK_TEXT, world.p2_case))
    assert P2_PHONE in driver.find_element(By.ID, "contact").text
    reply = "យើងកំពុងពិនិត្យការបើកប្រាក់ខែតុលារបស់លោក"
    driver.find_element(By.ID, "reply-text").send_keys(reply)
    _go(driver, driver.find_element(By.ID, "send-reply"))
    assert reply in driver.find_element(By.ID, "timeline").text
    session.expire_all()
    (queued,) = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply"))
    assert (queued.channel, queued.address, queued.status) == ("sms", P2_PHONE, "pending")
    assert reply in queued.text
    _shot(driver, "portal-case.png", tmp_path)

    # 3. escalate (commune → district)
    _go(driver, driver.find_element(By.ID, "escalate"))
    assert driver.find_element(By.ID, "level").text == "ស្រុក/ខណ្ឌ"
    _sign_out(driver)

    # 4. the province supervisor sees it, with its SLA state, and resolves it
    _sign_in(driver, base, "province.sup")
    row = driver.find_element(By.CSS_SELECTOR, f"tr.case-row[data-reference='{world.p2_case}']")
    badge = row.find_element(By.CSS_SELECTOR, ".sla")
    assert "sla-on_time" in badge.get_attribute("class") and badge.text == "ទាន់ពេល"
    _go(driver, row.find_element(By.LINK_TEXT, world.p2_case))
    Select(driver.find_element(By.ID, "resolution-code")).select_by_value("paid")
    driver.find_element(By.ID, "resolution-text").send_keys("បានបើកប្រាក់ខែតុលាហើយ")
    _go(driver, driver.find_element(By.ID, "resolve"))
    assert driver.find_element(By.ID, "state").text == "បានដោះស្រាយ"
    session.expire_all()
    case = grievances.get_by_reference(session, world.p2_case)
    assert case is not None and (case.state, case.resolution_code) == ("resolved", "paid")
    assert session.scalar(select(Grievance).where(Grievance.id == case.id,
                                                  grievance_scope(world.officers["supervisor"]))) is not None
    _go(driver, driver.find_element(By.LINK_TEXT, "ផ្ទាំងតួលេខ"))
    assert len(driver.find_elements(By.CSS_SELECTOR, "svg.chart")) >= 5
    _shot(driver, "portal-dashboard.png", tmp_path)
    _sign_out(driver)

    # 5. an administrator approves P5's address change; the registry record changes
    (p5,) = registry.find_people("UIN", P5_UIN)
    old = {"village_code": p5.address.village_code, "line": p5.address.line}
    new_line = "ភូមិថ្មី ផ្ទះលេខ ២៧" if p5.address.line != "ភូមិថ្មី ផ្ទះលេខ ២៧" else "ភូមិចាស់ ផ្ទះលេខ ៩"
    request = change_requests.create(session, change_type="address", person_spid=p5.spid,
                                     household_id=p5.household_id, old_value=old,
                                     new_value={**old, "line": new_line}, source="citizen",
                                     requested_by="citizen", now=LODGED, reply_channel="sms",
                                     reply_address="+85512000105", province_code=p5.address.province_code,
                                     commune_code=p5.address.commune_code)
    _sign_in(driver, base, "admin")
    driver.get(f"{base}/portal/changes")
    _go(driver, driver.find_element(By.CSS_SELECTOR, f"a[href='/portal/changes/{request.id}']"))
    assert new_line in driver.find_element(By.CSS_SELECTOR, "table.compare").text
    _go(driver, driver.find_element(By.ID, "approve"))
    assert driver.find_element(By.ID, "change-status").text in ("Approved", "បានអនុម័ត")
    (fresh,) = registry.find_people("UIN", P5_UIN)
    assert fresh.address.line == new_line

    # 6. a form posted without its CSRF token is refused (400), and nothing happens
    driver.get(f"{base}/portal/cases/{world.anonymous_case}")
    driver.execute_script(
        "document.querySelectorAll('#reply-form input[name=csrf_token]').forEach(e => e.remove());")
    driver.find_element(By.ID, "reply-text").send_keys("no token")
    _go(driver, driver.find_element(By.ID, "send-reply"))
    assert "The form has expired" in driver.page_source or "ទម្រង់នេះផុតសុពលភាព" in driver.page_source
    session.expire_all()
    anonymous = grievances.get_by_reference(session, world.anonymous_case)
    assert anonymous is not None and "reply" not in [e.type for e in anonymous.events]
