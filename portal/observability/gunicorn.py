"""gunicorn configuration of `chumnuoy web` (`--config python:portal.observability.gunicorn`).

- Logging: the app's loggers (root) and gunicorn's own (`gunicorn.error`, `gunicorn.access`) write
  through the masking filter in the format of CHUMNUOY_LOG_FORMAT (text or JSON lines).
- Access log: gunicorn's default line has the request line with its query string (the USSD and SMS
  gateway keys travel as `?key=`) and the referrer; ours has method, path without the query (masked
  like any message), status, bytes, duration and the request id, nothing else.
- `child_exit`: a gunicorn worker that ended has its live gauges dropped from the metrics directory.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os

from gunicorn import glogging

from chumnuoy.logs import MaskingFilter, configure_logging, make_formatter, mask
from chumnuoy.settings import get_settings


class Logger(glogging.Logger):
    def setup(self, cfg) -> None:  # type: ignore[no-untyped-def]
        super().setup(cfg)
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_format)  # the app's loggers, in every worker
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                # access lines are built below from masked parts only: no second pass of the regexes
                handler.filters[:] = [MaskingFilter()] if log is self.error_log else []
                handler.setFormatter(make_formatter(settings.log_format))

    def access(self, resp, req, environ, request_time) -> None:  # type: ignore[no-untyped-def]
        if not self.access_log.handlers:
            return
        request_id = next((value for name, value in resp.headers if name.lower() == "x-request-id"), None)
        duration_ms = round(request_time.total_seconds() * 1000, 1)
        path = mask(req.path or "")
        remote = environ.get("REMOTE_ADDR") or "-"
        try:
            self.access_log.info(
                '%s "%s %s" %s %s %sms', remote, req.method, path, resp.status_code, resp.sent or 0,
                duration_ms,
                extra={"request_id": request_id, "method": req.method, "path": path,
                       "status": resp.status_code, "duration_ms": duration_ms, "remote": remote},
            )
        except Exception:
            logging.getLogger("gunicorn.error").exception("access log failed")


logger_class = Logger


def child_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    """Like prometheus_client's mark_process_dead, without importing it into the master."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and os.path.isdir(directory):
        for file in glob.glob(os.path.join(directory, f"gauge_live*_{worker.pid}.db")):
            with contextlib.suppress(OSError):
                os.remove(file)
