"""When the registry cannot answer, personal features say "try later" politely; the menu still works."""

from __future__ import annotations

from registry_client.types import RegistryUnavailable
from tests.bot.conftest import P1, UssdPhone


class DownRegistry:
    """A registry port whose every call fails as an unreachable registry does."""

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        def fail(*_args, **_kwargs):  # type: ignore[no-untyped-def]
            raise RegistryUnavailable("connection refused")

        return fail


def test_personal_feature_with_registry_down(app, client) -> None:
    app.config["REGISTRY_FACTORY"] = DownRegistry
    app.extensions.pop("registry", None)
    phone = UssdPhone(client, P1)
    phone.dial()
    phone.press("1")
    menu = phone.press("1")
    assert "ពិនិត្យសិទ្ធិ" in menu
    assert phone.press("2") == "END សូមអភ័យទោស សេវាកំពុងរវល់។ សូមព្យាយាមពេលក្រោយ។"
    assert phone.new_session().dial() == "CON " + menu[4:]
