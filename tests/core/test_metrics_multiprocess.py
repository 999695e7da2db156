"""`chumnuoy web` (gunicorn, 2 worker processes) and `chumnuoy worker` as they run in production:
counters add up across processes on `/metrics`, the worker's deliveries and heartbeat reach the web
process, logs are JSON lines, and the access log holds no gateway key and no phone number."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from chumnuoy import ROOT
from chumnuoy.db import make_engine
from chumnuoy.metrics_dirs import deployment_dir
from portal.services import outbox

SMS_KEY = "mp-sms-key-7"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def _wait(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("timed out")


def _gateway() -> tuple[str, list[dict], object]:
    """The outbound SMS provider: a JSON endpoint that accepts everything and remembers it."""
    received: list[dict] = []

    @Request.application
    def app(request: Request) -> Response:
        received.append(json.loads(request.get_data()))
        return Response(json.dumps({"id": f"gw-{len(received)}"}), content_type="application/json")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/send", received, server


def _per_process(web_dir: Path, name: str, **labels: str) -> list[float]:
    values = []
    for file in sorted(web_dir.glob("counter_*.db")):
        for metric in MultiProcessCollector.merge([str(file)], accumulate=True):
            for sample in metric.samples:
                if sample.name == name and sample.labels == labels:
                    values.append(sample.value)
    return values


def test_web_and_worker_processes_add_up(portal_database_url, live_registry, tmp_path):
    port = _free_port()
    gateway_url, delivered, gateway = _gateway()
    registry = live_registry.settings
    env = {key: value for key, value in os.environ.items() if not key.startswith(("REDIS", "PROMETHEUS"))}
    env.update({
        "DATABASE_URL": portal_database_url, "REGISTRY_URL": registry.registry_url,
        "REGISTRY_CLIENT_ID": registry.registry_client_id,
        "REGISTRY_CLIENT_SECRET": registry.registry_client_secret,
        "REGISTRY_SIGNING_KEY": registry.registry_signing_key, "REGISTRY_SIGNATURES": "dev",
        "SMS_GATEWAY_KEY": SMS_KEY, "SECRET_KEY": "mp-secret", "CHUMNUOY_ENV_FILE": "/nonexistent",
        "CHUMNUOY_WEB_BIND": f"127.0.0.1:{port}", "CHUMNUOY_WEB_WORKERS": "2",
        "CHUMNUOY_METRICS_DIR": str(tmp_path / "metrics"), "CHUMNUOY_LOG_FORMAT": "json",
        "CHUMNUOY_OUTBOX_HTTP_URL": gateway_url, "NLU_BACKEND": "embedded",
    })
    logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("web", "worker")}
    processes = {name: subprocess.Popen([sys.executable, "-m", "chumnuoy", name], cwd=ROOT, env=env,
                                         stdout=logs[name], stderr=subprocess.STDOUT, start_new_session=True)
                 for name in ("web", "worker")}
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{base}/healthz", timeout=5).json()["checks"]["worker"], timeout=60)

        # Citizens text the aggregator webhook concurrently, until both gunicorn workers took some.
        web_dir = deployment_dir(str(tmp_path / "metrics"), portal_database_url) / f"web-127.0.0.1_{port}"
        sent = 0
        with httpx.Client(base_url=base, timeout=30) as client, ThreadPoolExecutor(8) as pool:
            def text(i: int) -> int:
                return client.post(f"/channels/sms/gateway?key={SMS_KEY}",
                                   json={"from": f"+855129{i:06d}", "to": "1234", "text": "HELP"}).status_code

            for _ in range(10):
                assert list(pool.map(text, range(sent, sent + 8))) == [200] * 8
                sent += 8
                time.sleep(1.2)  # each process writes its hops within a second
                if sum(1 for v in _per_process(web_dir, "chumnuoy_messages_total", channel="sms",
                                               direction="in") if v > 0) >= 2:
                    break
            traced = client.post(f"/channels/sms/gateway?key={SMS_KEY}",
                                 headers={"X-Request-Id": "trace-mp-1"},
                                 json={"from": "+85512000101", "to": "1234", "text": "HELP"})
            assert traced.headers["X-Request-Id"] == "trace-mp-1"
            sent += 1
        contributions = _per_process(web_dir, "chumnuoy_messages_total", channel="sms", direction="in")
        assert sum(1 for v in contributions if v > 0) >= 2, contributions

        # The worker delivers an outbox message; its count shows on web's /metrics.
        engine = make_engine(portal_database_url)
        with Session(engine) as session:
            outbox.enqueue(session, channel="sms", address="+85512000101", text="Your complaint moved",
                           kind="status")
            session.commit()
        engine.dispose()
        _wait(lambda: delivered, timeout=20)
        metrics = _wait(lambda: (lambda t: t if _sample(
            t, "chumnuoy_outbox_deliveries_total", channel="sms", outcome="sent") == 1
            and _sample(t, "chumnuoy_messages_total", channel="sms", direction="in") == sent else None)(
            httpx.get(f"{base}/metrics", timeout=5).text), timeout=10)
        assert sum(contributions) <= sent
        assert _sample(metrics, "chumnuoy_messages_total", channel="sms", direction="out") == sent + 1
        assert _sample(metrics, "chumnuoy_hop_seconds_count", channel="sms") == sent
        assert _sample(metrics, "chumnuoy_outbox_messages", channel="sms", status="pending") == 0
        assert _sample(metrics, "chumnuoy_worker_heartbeat_age_seconds") < 30
        assert httpx.get(f"{base}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
        assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
    finally:
        for process in processes.values():
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            process.wait(timeout=30)
        gateway.shutdown()  # type: ignore[attr-defined]
        for file in logs.values():
            file.close()

    web_log = (tmp_path / "web.log").read_text()
    entries = [json.loads(line) for line in web_log.splitlines() if line.strip()]
    access = [e for e in entries if e["logger"] == "gunicorn.access"]
    assert len(access) >= sent
    assert all(e["path"] and "?" not in e["path"] for e in access)
    assert any(e["request_id"] == "trace-mp-1" and e["path"] == "/channels/sms/gateway" and e["status"] == 200
               for e in access)
    for secret in (SMS_KEY, "85512000101", "12000101"):
        assert secret not in web_log
    worker_entries = [json.loads(line) for line in (tmp_path / "worker.log").read_text().splitlines()
                      if line.strip()]
    assert any(e["msg"].startswith("worker started") for e in worker_entries)
    assert not list(web_dir.glob("gauge_live*"))  # the stopped gunicorn workers' live gauges are gone
