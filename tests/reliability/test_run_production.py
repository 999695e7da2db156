"""`chumnuoy run --production` (`make run-prod`): a private PostgreSQL + Redis from scripts/services.sh,
gunicorn with several workers and several worker processes; state in PostgreSQL and Redis; Ctrl-C
stops every process and the two servers (their data is kept)."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text

from chumnuoy import ROOT
from chumnuoy.envfile import read_env
from chumnuoy.localservices import LocalServices
from chumnuoy.stack import free_port
from tests.core.test_make_run import _alive, _descendants, _stop

pytestmark = pytest.mark.sqlite_only  # it brings its own PostgreSQL: once per `make test` is enough


def test_run_production_uses_postgres_and_redis_and_ctrl_c_stops_all(tmp_path) -> None:
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL binaries missing: scripts/services.sh install")
    web_port, registry_port, pg_port, redis_port = free_port(), free_port(), free_port(), free_port()
    services_dir = Path(tempfile.mkdtemp(prefix="chumnuoy-run-prod-")) / "services"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REGISTRY_DATABASE_URL", "REDIS_URL", "CHUMNUOY_WEB_WORKERS")}
    env.update({
        "CHUMNUOY_ENV_FILE": str(tmp_path / ".env"),
        "CHUMNUOY_WEB_BIND": f"127.0.0.1:{web_port}", "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
        "CHUMNUOY_REGISTRY_BIND": f"127.0.0.1:{registry_port}", "REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
        "CHUMNUOY_PRODUCTION_PG_PORT": str(pg_port), "CHUMNUOY_PRODUCTION_REDIS_PORT": str(redis_port),
        "CHUMNUOY_PRODUCTION_DIR": str(services_dir), "CHUMNUOY_METRICS_DIR": str(tmp_path / "metrics"),
    })
    process = subprocess.Popen(
        [sys.executable, "-m", "chumnuoy", "run", "--production", "--persons", "100", "--web-workers", "2",
         "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    output: list[str] = []
    services = LocalServices(pg_port, redis_port, services_dir)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            try:
                output.append(lines.get(timeout=1.0))
            except queue.Empty:
                continue
            if "Chumnuoy is running" in output[-1]:
                break
        time.sleep(1.5)
        while not lines.empty():
            output.append(lines.get())
        banner = "".join(output)
        assert "Chumnuoy is running" in banner, banner
        assert f"PostgreSQL 127.0.0.1:{pg_port}" in banner and "(2 processes)" in banner
        assert "2 web workers" in banner
        assert httpx.get(f"http://127.0.0.1:{web_port}/healthz").status_code == 200
        # gunicorn master + 2 workers, registry master + workers, 2 workers (each may re-exec itself)
        started = _descendants(process.pid)
        assert len(started) >= 7, started

        # the portal and the sandbox live in PostgreSQL ...
        engine = create_engine(services.database("chumnuoy"))
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM alembic_version")) == 1
        engine.dispose()
        engine = create_engine(services.database("chumnuoy_registry"))
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")) > 3
        engine.dispose()
        # ... and a USSD conversation's state in Redis
        key = read_env(tmp_path / ".env")["USSD_GATEWAY_KEY"]
        client = redis.Redis.from_url(services.redis_url())
        before = client.dbsize()
        screen = httpx.post(f"http://127.0.0.1:{web_port}/channels/ussd?key={key}", data={
            "sessionId": "prod-1", "serviceCode": "*1234#", "phoneNumber": "+85512000101",
            "networkCode": "45606", "text": ""}).text
        assert screen.startswith("CON ")
        assert client.dbsize() > before
        client.close()

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        time.sleep(0.5)
        assert [pid for pid in started if _alive(pid)] == []
        assert (services_dir / "pg" / "PG_VERSION").exists()  # data kept for the next run
        assert not (services_dir / "pg" / "postmaster.pid").exists()  # PostgreSQL stopped
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(services.redis_url()).ping()
    finally:
        _stop(process)
        services.stop()
        shutil.rmtree(services_dir.parent, ignore_errors=True)
