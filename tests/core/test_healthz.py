from dataclasses import replace

from chumnuoy.settings import Settings
from portal import create_app


def test_healthz_reports_database_and_registry(database_url, live_registry):
    settings = replace(Settings(), database_url=database_url, registry_url=live_registry.url, secret_key="x")
    response = create_app(settings).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": True, "registry": True}}


def test_healthz_is_503_when_the_registry_is_unreachable(database_url):
    settings = replace(
        Settings(), database_url=database_url, registry_url="http://127.0.0.1:9", secret_key="x"
    )
    response = create_app(settings).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": True, "registry": False}
