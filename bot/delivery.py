"""Delivery status callbacks (Twilio): update the outbox row (E1) and record carrier opt-outs.

Twilio error 21610 means the recipient sent STOP to the carrier: the address is marked blocked for
every send until it texts START (E2's identity service), and the message is not retried.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.services import identity as identity_service

log = logging.getLogger("chumnuoy.bot")

CARRIER_OPT_OUT_CODES = frozenset({"21610"})


def record_status(session: Session, *, provider_id: str, status: str, error_code: str | None,
                  recipient: str | None) -> None:
    opted_out = error_code in CARRIER_OPT_OUT_CODES
    if opted_out and recipient:
        identity_service.mark_opted_out(session, "sms", recipient, "carrier")
    from portal.services import outbox

    update = getattr(outbox, "record_delivery_status", None)
    if update is not None:  # E1's own recorder, when it has one
        update(session, provider_id=provider_id, status=status, error_code=error_code, opted_out=opted_out)
        return
    from portal.models.cases import OutboxMessage

    message = session.scalar(select(OutboxMessage).where(OutboxMessage.provider_id == provider_id))
    if message is None:
        log.info("delivery status %s for an unknown message", status)
        return
    message.delivery_status = status[:32]
    if opted_out:
        message.status = "opted_out"
        message.last_error = f"carrier opt-out ({error_code})"
