from chumnuoy.envfile import DEFAULTS, ensure_env_file, read_env
from chumnuoy.settings import Settings

SECRETS = ["SECRET_KEY", "REGISTRY_CLIENT_SECRET", "REGISTRY_SIGNING_KEY", "USSD_GATEWAY_KEY",
           "TWILIO_AUTH_TOKEN", "SMS_GATEWAY_KEY", "TELEGRAM_WEBHOOK_SECRET", "RASA_TOKEN"]


def test_first_run_writes_every_spec_variable_with_fresh_secrets(tmp_path):
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    ensure_env_file(first)
    ensure_env_file(second)
    a, b = read_env(first), read_env(second)
    for name in SECRETS:
        assert len(a[name]) >= 32, name
        assert a[name] != b[name], f"{name} must be random per installation"
    assert a["REGISTRY_SIGNATURES"] == "dev"
    assert a["NLU_BACKEND"] == "embedded"
    assert a["SIMULATOR_ENABLED"] == "1"
    text = first.read_text()
    for name in ["REDIS_URL", "XROAD_CLIENT", "TELEGRAM_BOT_TOKEN"]:
        assert f"#{name}=" in text and name not in a  # written, but left unset
    assert oct(first.stat().st_mode & 0o777) == "0o600"


def test_second_run_keeps_values_and_adds_only_missing(tmp_path):
    path = tmp_path / ".env"
    path.write_text("SECRET_KEY=mine\n")
    added = ensure_env_file(path)
    assert "SECRET_KEY" not in added
    assert read_env(path)["SECRET_KEY"] == "mine"
    before = path.read_text()
    assert ensure_env_file(path) == []
    assert path.read_text() == before
    assert {name for name, _, _ in DEFAULTS} == set(added) | {"SECRET_KEY"}


def test_settings_read_the_fixed_names(monkeypatch):
    monkeypatch.setenv("REGISTRY_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("SIMULATOR_ENABLED", "1")
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = Settings()
    assert settings.registry_url == "http://127.0.0.1:9999"
    assert settings.simulator_enabled is True
    assert settings.redis_url == ""
