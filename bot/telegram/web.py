"""`POST /channels/telegram`: check X-Telegram-Bot-Api-Secret-Token (403 otherwise, and always while
TELEGRAM_WEBHOOK_SECRET is empty), store the update once per `update_id`, answer 200 at once. The
worker processes it (bot/telegram/jobs.py)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, request

bp = Blueprint("telegram_channel", __name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def secret_ok(expected: str, given: str | None) -> bool:
    return bool(expected) and given is not None and hmac.compare_digest(expected.encode(), given.encode())


@bp.post("/channels/telegram")
def telegram_webhook() -> Response:
    from bot.telegram.updates import NotAnUpdate, store_update

    settings = current_app.config["CHUMNUOY_SETTINGS"]
    if not secret_ok(settings.telegram_webhook_secret, request.headers.get(SECRET_HEADER)):
        abort(403)
    payload = request.get_json(silent=True)
    with current_app.extensions["db_sessionmaker"]() as session:
        try:
            store_update(session, payload)
        except NotAnUpdate:
            abort(400)
    return Response("", status=200)
