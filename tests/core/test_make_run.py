"""`make run` (= `chumnuoy run`): sets up, serves healthy registry and web, stops everything on Ctrl-C."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from chumnuoy import ROOT

pytestmark = pytest.mark.sqlite_only


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _stop(process: subprocess.Popen) -> None:
    """Never leave servers behind, even when the test failed half-way."""
    started = _descendants(process.pid)
    if process.poll() is None:
        process.terminate()  # the supervisor stops its children on SIGTERM too
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    for pid in started:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_run_starts_registry_web_worker_and_ctrl_c_stops_them_all(tmp_path):
    web_port, registry_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "CHUMNUOY_ENV_FILE": str(tmp_path / ".env"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}",
        "REGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "CHUMNUOY_WEB_BIND": f"127.0.0.1:{web_port}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
        "CHUMNUOY_REGISTRY_BIND": f"127.0.0.1:{registry_port}",
        "REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
        "CHUMNUOY_WEB_WORKERS": "1",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "chumnuoy", "run", "--persons", "200"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            try:
                output.append(lines.get(timeout=1.0))
            except queue.Empty:
                continue
            if "Chumnuoy is running" in output[-1]:
                break
        text = "".join(output)
        assert "Chumnuoy is running" in text, text
        time.sleep(1.5)  # the URL lines follow the banner
        assert httpx.get(f"http://127.0.0.1:{web_port}/healthz").json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{registry_port}/healthz").status_code == 200
        started = _descendants(process.pid)
        assert len(started) >= 3  # registry, web (gunicorn master + worker), worker

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        time.sleep(0.5)
        assert [pid for pid in started if _alive(pid)] == []
        for port in (web_port, registry_port):
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    finally:
        _stop(process)
        env_text = (tmp_path / ".env").read_text()
    assert "SECRET_KEY=" in env_text and "REGISTRY_SIGNING_KEY=" in env_text
