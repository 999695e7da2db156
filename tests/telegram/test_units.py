"""Evidence cleaning (EXIF stripped without Pillow), callback ids, the NLU decision, translations."""

from __future__ import annotations

import pytest

from bot.prompt import Option, Prompt
from bot.telegram import evidence
from bot.telegram.render import callback_data, contact_request, inline, parse_callback
from bot.telegram.understanding import decide
from tests.telegram.images import GPS_SECRET, jpeg_with_exif, png_with_text


def test_jpeg_app1_segments_are_removed_and_the_image_kept() -> None:
    original = jpeg_with_exif()
    cleaned, content_type = evidence.clean(original)
    assert content_type == "image/jpeg"
    assert GPS_SECRET not in cleaned and b"Exif" not in cleaned and b"xmpmeta" not in cleaned
    assert b"JFIF" in cleaned  # APP0 kept
    assert cleaned.startswith(b"\xff\xd8") and cleaned.endswith(b"\xff\xd9")
    scan_start = original.index(b"\xff\xda")
    assert cleaned.endswith(original[scan_start:])  # the scan (image data) is byte-identical
    assert evidence.clean(cleaned)[0] == cleaned  # idempotent


def test_png_text_and_exif_chunks_are_removed() -> None:
    cleaned, content_type = evidence.clean(png_with_text())
    assert content_type == "image/png"
    assert GPS_SECRET not in cleaned and b"IHDR" in cleaned and b"IDAT" in cleaned and b"IEND" in cleaned


def test_refused_files() -> None:
    with pytest.raises(evidence.EvidenceRejected) as too_big:
        evidence.clean(jpeg_with_exif(), max_bytes=50)
    assert too_big.value.reason == "too_big"
    for data in (b"GIF89a....", b"%PDF-1.4", b"", jpeg_with_exif()[:30]):
        with pytest.raises(evidence.EvidenceRejected) as refused:
            evidence.clean(data)
        assert refused.value.reason == "type"


def test_callback_data_are_short_ids_even_for_khmer_labels() -> None:
    labels = ["ពិនិត្យសិទ្ធិទទួលបានជំនួយសង្គមរបស់ខ្ញុំ និងគ្រួសារ" * 2, "English"]
    prompt = Prompt("សំណួរ", tuple(Option(f"v{i}", label) for i, label in enumerate(labels)))
    rendered = inline(prompt, "km", "zz9")
    rows = rendered.markup.inline_keyboard
    data = [button.callback_data for row in rows for button in row]
    assert data == ["zz9:1", "zz9:2", "zz9:b", "zz9:m"]
    assert all(len(d.encode()) <= 64 for d in data)
    assert parse_callback("zz9:2") == ("zz9", "2") and parse_callback("junk") is None
    with pytest.raises(ValueError):
        callback_data("x" * 70, "1")
    root = inline(Prompt("", (Option("km", "ខ្មែរ"), Option("en", "English")), root=True), "km", "1")
    assert [[b.text for b in row] for row in root.markup.inline_keyboard] == [["ខ្មែរ", "English"]]
    end = inline(Prompt("Done", end=True), "en", "2")
    assert [[b.callback_data for b in row] for row in end.markup.inline_keyboard] == [["2:m"]]
    contact = contact_request(Prompt("Share", free_input=True), "en").markup
    assert contact.keyboard[0][0].request_contact and contact.one_time_keyboard


def _ranking(*pairs: tuple[str, float]) -> dict:
    ranking = [{"name": name, "confidence": confidence} for name, confidence in pairs]
    return {"intent": ranking[0], "intent_ranking": ranking}


def test_nlu_decision_takes_clear_intents_and_asks_when_unsure() -> None:
    assert decide(_ranking(("lodge_grievance", 0.95), ("greet", 0.01))).journey == "complaint"
    assert decide(_ranking(("view_entitlements", 0.57), ("grievance_status", 0.25))).journey == "benefits"
    unsure = decide(_ranking(("view_entitlements", 0.45), ("grievance_status", 0.35), ("affirm", 0.1),
                             ("lodge_grievance", 0.12)))
    assert unsure.journey is None
    assert unsure.choices == [("benefits", "My benefits and payments"), ("status", "Complaint status"),
                              ("complaint", "Make a complaint")]
    nothing = decide(_ranking(("affirm", 0.4), ("out_of_scope", 0.3)))
    assert nothing.journey is None and nothing.choices == []


def test_every_telegram_text_has_a_khmer_translation() -> None:
    from bot.telegram.messages import TELEGRAM_MSGIDS
    from bot.telegram.understanding import JOURNEY_LABELS
    from chumnuoy.i18n import catalog
    from portal.services.identity import IDENTITY_MSGIDS

    khmer = catalog("km")
    for msgid in (*TELEGRAM_MSGIDS, *JOURNEY_LABELS.values(), *IDENTITY_MSGIDS):
        assert khmer.get(msgid, "").strip(), msgid
        assert any("\u1780" <= ch <= "\u17ff" for ch in khmer[msgid]), msgid


def test_every_simulator_telegram_text_has_both_translations() -> None:
    import re

    from bot.simulator import TELEGRAM_SIM_MSGIDS
    from chumnuoy.i18n import catalog

    khmer, english = catalog("km"), catalog("en")
    for msgid in TELEGRAM_SIM_MSGIDS:
        assert any("\u1780" <= ch <= "\u17ff" for ch in khmer.get(msgid, "")), msgid
        assert english.get(msgid) == msgid
        assert set(re.findall(r"{(\w+)}", khmer[msgid])) == set(re.findall(r"{(\w+)}", msgid)), msgid
