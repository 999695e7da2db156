"""The abuse answers are in the catalogs: Khmer text for every msgid, short enough for their channel."""

from __future__ import annotations

from bot import abuse
from bot.budget import sms_segments, ussd_fits
from chumnuoy.i18n import translate
from portal import inputguard


def test_every_abuse_message_has_khmer_text_within_budget() -> None:
    for msgid in (*abuse.MSGIDS, *inputguard.MSGIDS):
        khmer = translate("km", msgid)
        assert khmer != msgid and any("\u1780" <= c <= "\u17ff" for c in khmer), msgid
        assert sms_segments(khmer) <= 1 and translate("en", msgid) == msgid
    assert ussd_fits(translate("km", abuse.MSG_FLOOD)) and ussd_fits(translate("en", abuse.MSG_FLOOD))
    assert ussd_fits(inputguard.bilingual(inputguard.MSG_TOO_LONG_USSD))
