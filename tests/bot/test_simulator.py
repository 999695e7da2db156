"""The /simulator page drives the real webhooks (only when enabled, with the sandbox, from loopback)."""

from __future__ import annotations

from dataclasses import replace

from tests.bot.conftest import P6


def test_simulator_is_off_unless_enabled(client) -> None:
    assert client.get("/simulator").status_code == 404


def test_simulator_ussd_and_sms(app, client) -> None:
    settings = app.config["CHUMNUOY_SETTINGS"]
    app.config["CHUMNUOY_SETTINGS"] = replace(settings, simulator_enabled=True)
    assert client.get("/simulator", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 404
    page = client.post("/simulator", data={"action": "dial", "phone": P6}).get_data(as_text=True)
    assert "CON Chumnuoy\n1 ខ្មែរ\n2 English" in page
    session = page.split('name="session" value="')[1].split('"')[0]
    form = {"action": "ussd", "phone": P6, "session": session, "text": "", "input": "1"}
    page = client.post("/simulator", data=form).get_data(as_text=True)
    assert "យល់ព្រម" in page
    sms = client.post("/simulator", data={"action": "sms", "phone": "+85512000188", "input": "hi"})
    body = sms.get_data(as_text=True)
    assert "Chumnuoy\n1 ខ្មែរ\n2 English" in body and "SMS ១ ផ្នែក" in body
    xroad = replace(settings, simulator_enabled=True, xroad_client="CAMBODIA/GOV/X/Y")
    app.config["CHUMNUOY_SETTINGS"] = xroad
    assert client.get("/simulator").status_code == 404  # never against a real registry
