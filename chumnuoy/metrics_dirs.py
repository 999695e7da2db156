"""Where the processes of one deployment keep their prometheus_client multiprocess files.

    $CHUMNUOY_METRICS_DIR/<deployment>/web-<bind>/      the gunicorn workers of one `chumnuoy web`
    $CHUMNUOY_METRICS_DIR/<deployment>/worker-<pid>/    one `chumnuoy worker` process

`<deployment>` is a hash of DATABASE_URL, so the web and worker of one installation meet and a test
or benchmark with its own database never touches their files. `chumnuoy web` empties its directory
and drops those of workers that are no longer running when it starts (a restart of web is a
deployment); `chumnuoy worker` empties its own. The command sets PROMETHEUS_MULTIPROC_DIR before
prometheus_client is imported (gunicorn and the worker are exec'd afresh), which is what selects the
multiprocess mode. No prometheus_client import here: the gunicorn master and the command line use it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def deployment_dir(base: str, database_url: str) -> Path:
    return Path(base) / hashlib.sha256(database_url.encode()).hexdigest()[:12]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _empty(directory: Path) -> Path:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def prepare_web_dir(base: str, database_url: str, bind: str) -> Path:
    """An empty directory for this web's processes; the files of dead workers are dropped."""
    deployment = deployment_dir(base, database_url)
    for worker_dir in deployment.glob("worker-*"):
        pid = worker_dir.name.removeprefix("worker-")
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(worker_dir, ignore_errors=True)
    return _empty(deployment / ("web-" + re.sub(r"[^A-Za-z0-9.-]+", "_", bind)))


def prepare_worker_dir(base: str, database_url: str, pid: int | None = None, *, create: bool = True) -> Path:
    """This worker's directory, emptied (`create=False`: only its path)."""
    directory = deployment_dir(base, database_url) / f"worker-{pid or os.getpid()}"
    return _empty(directory) if create else directory
