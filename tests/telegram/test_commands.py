"""/start with deep-link payloads, /menu, /help, /language, free text through the NLU with a
clarifying question, old buttons."""

from __future__ import annotations

from datetime import UTC, datetime


def test_deep_link_with_a_complaint_reference_shows_its_status(harness) -> None:
    from portal.services import grievances

    with harness.sessions() as session:
        grievance = grievances.lodge(session, category_code=_category(), channel="telegram",
                                     now=datetime.now(UTC), description="Late payment", address="7101")
        reference = grievance.reference
    owner = harness.user(7101)
    owner.start_in_english()
    status = owner.send(f"/start c{reference}")
    assert reference in status


def test_deep_link_on_first_contact_waits_for_language_and_consent(harness) -> None:
    user = harness.user(7102)
    assert "Chumnuoy" in user.send("/start complaint")
    user.press("English")
    categories = user.press("I agree")
    assert "What is the problem?" in categories


def test_menu_help_and_language_commands(harness) -> None:
    user = harness.user(7103)
    user.start_in_english()
    user.press("More")
    assert "/menu" in user.send("/help")
    user.send("/menu")
    assert "My benefits and payments" in [b["text"] for b in user.buttons()]
    user.send("/language")
    assert [b["text"] for b in user.buttons()][:2] == ["ខ្មែរ", "English"]
    user.press("ខ្មែរ")
    assert "ដាក់បណ្តឹង" in [b["text"] for b in user.buttons()]


def test_free_text_goes_through_the_nlu(harness) -> None:
    user = harness.user(7104)
    user.start_in_english()
    assert "What is the problem?" in user.send("I want to complain")


def test_unsure_nlu_asks_a_clarifying_question(harness, monkeypatch) -> None:
    from bot.telegram import understanding

    ranking = [{"name": "view_entitlements", "confidence": 0.42},
               {"name": "grievance_status", "confidence": 0.38}]
    monkeypatch.setattr(understanding, "parse",
                        lambda text: {"intent": ranking[0], "intent_ranking": ranking})
    user = harness.user(7105)
    user.start_in_english()
    question = user.send("money problem maybe")
    assert "Did you mean" in question
    assert [b["text"] for b in user.buttons()][:3] == ["My benefits and payments", "Complaint status",
                                                       "None of these"]
    assert "complaint number" in user.press("Complaint status")


def test_an_old_button_is_recognised(harness) -> None:
    user = harness.user(7106)
    user.start_in_english()
    old = user.last_message()
    user.press("More")
    stale = next(b["callback_data"] for b in old.params["reply_markup"]["inline_keyboard"][0])
    answer = user.press_data(stale, old)
    assert "button is old" in answer


def _category() -> str:
    from portal.services.grievance_catalogue import CATEGORIES

    return next(iter(CATEGORIES))
