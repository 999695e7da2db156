"""P3 on Telegram: shares her own contact, verifies her date of birth, sees her benefits."""

from __future__ import annotations

from sqlalchemy import select

from portal.models.citizen import ChannelIdentity

P3_PHONE = "85597000103"


def test_p3_own_contact_then_dob_shows_postnatal_and_scholarship(harness) -> None:
    p3 = harness.user(7003, "Sreyneang")
    first = p3.send("/start")
    assert "Chumnuoy" in first and [b["text"] for b in p3.buttons()] == ["ខ្មែរ", "English"]
    p3.press("English")
    menu = p3.press("I agree")
    assert [b["text"] for b in p3.buttons()][:4] == ["Check eligibility", "My benefits and payments",
                                                      "Make a complaint", "More"]
    assert menu
    assert harness.registry.calls == []  # language, consent and menu never reach the registry
    ask = p3.press("My benefits and payments")
    assert "share your phone number" in ask
    keyboard = p3.last_message().params["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_contact"] is True
    dob_question = p3.share_contact(P3_PHONE)
    assert "DDMMYYYY" in dob_question
    assert p3.last_message().params["reply_markup"] == {"remove_keyboard": True}
    benefits = p3.send("20011990")
    assert benefits.startswith("Your benefits")
    assert len(benefits) <= 4096
    # every programme at once, with all its recent payments (not cut to SMS length)
    assert "Cash for pregnant women and children under 2" in benefits
    assert "Scholarship for students: enrolled 20,000" in benefits
    maternal = benefits.split("Cash for pregnant women and children under 2")[1].split("\n\n")[0]
    assert maternal.count("80,000 ៛ paid") == 6  # the six post-natal / vaccination payments
    assert "400,000 ៛ paid" in maternal  # and the one at delivery
    scholarship = benefits.split("Scholarship for students")[1].split("\n\n")[0]
    assert scholarship.count("20,000 ៛ paid") == 6 and "Next: 30 Nov 2026" in scholarship
    assert [b["text"] for b in p3.buttons()] == ["Main menu"]
    with harness.sessions() as session:
        identity = session.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == "telegram",
                                                                ChannelIdentity.address == "7003"))
        assert identity.phone == "+85597000103" and identity.level == 2 and identity.person_spid


def test_contact_of_another_user_is_refused(harness) -> None:
    mallory = harness.user(7666, "Mallory")
    mallory.start_in_english()
    mallory.press("My benefits and payments")
    refused = mallory.share_contact(P3_PHONE, contact_user_id=7003)
    assert "your own phone number" in refused
    assert mallory.last_message().params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert "DDMMYYYY" not in refused
    after = mallory.send("20011990")  # P3's date of birth typed at the contact step: not an ID, not a check
    assert "Your benefits" not in after
    with harness.sessions() as session:
        identity = session.scalar(select(ChannelIdentity).where(ChannelIdentity.address == "7666"))
        assert identity.phone is None and identity.person_spid is None and identity.level == 0


def test_id_card_number_gets_a_code_by_sms_to_the_registry_phone(harness) -> None:
    import re

    from portal.models.cases import OutboxMessage

    user = harness.user(7004, "Sreyneang")
    user.start_in_english()
    user.press("My benefits and payments")
    asked = user.send("100000103")
    assert "code was sent" in asked and "6-digit code" in asked
    with harness.sessions() as session:
        sms = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "otp")).all()
    assert len(sms) == 1 and sms[0].channel == "sms" and sms[0].address == "+85597000103"
    assert sms[0].text not in asked
    code = re.search(r"\d{6}", sms[0].text.translate(str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789"))).group(0)
    assert "wrong or expired" in user.send("000000" if code != "000000" else "111111")
    linked = user.send(code)
    assert "linked" in linked and "DDMMYYYY" in linked
    assert "Your benefits" in user.send("20/01/1990")


def test_change_request_photo_is_stored_as_evidence(harness) -> None:
    from portal.models.cases import ChangeEvidence, ChangeRequest
    from portal.models.telegram import EvidenceBlob
    from tests.telegram.images import GPS_SECRET, jpeg_with_exif

    p3 = harness.user(7005, "Sreyneang")
    p3.start_in_english()
    p3.press("More")
    p3.press("Update my details")
    p3.share_contact(P3_PHONE)
    changed = p3.send("20011990")
    assert "What changed?" in changed
    p3.press("Household members")
    asked = p3.press("A baby was born")
    assert "baby's name" in asked
    done = p3.send_photo("birth-certificate", jpeg_with_exif(), caption="Sok Dara, born 01/10/2026")
    assert done
    with harness.sessions() as session:
        request = session.scalars(select(ChangeRequest)).one()
        assert request.change_type == "member_birth" and request.reply_channel == "telegram"
        assert request.new_value == {"description": "Sok Dara, born 01/10/2026"}
        item = session.scalars(select(ChangeEvidence)).one()
        assert item.change_request_id == request.id and item.exif_stripped and item.source == "telegram"
        blob = session.get(EvidenceBlob, int(item.storage_key.rsplit("/", 1)[1]))
        assert GPS_SECRET not in blob.data and item.sha256 == blob.sha256
