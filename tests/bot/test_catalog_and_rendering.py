"""Translations of every bot message; rendering rules (budgets, numbering, paging) on their own."""

from __future__ import annotations

from bot.budget import gsm7_septets, is_gsm7, sms_segments, ussd_fits, utf16_units
from bot.catalog import borrowed_msgids, bot_msgids
from bot.prompt import Option, Prompt
from bot.render import render_sms, render_ussd, ussd_pages
from bot.runner import new_ussd_input
from chumnuoy.i18n import catalog


def test_every_bot_msgid_has_khmer_and_english() -> None:
    km, en = catalog("km"), catalog("en")
    missing = [m for m in bot_msgids() if not km.get(m, "").strip() or not en.get(m, "").strip()]
    assert not missing
    khmer = [km[m] for m in bot_msgids() if "{" not in km[m] and m not in ("Language",)]
    assert all(any("\u1780" <= ch <= "\u17ff" for ch in text) for text in khmer)


def test_messages_borrowed_from_the_portal_services_have_khmer() -> None:
    km = catalog("km")
    assert [m for m in borrowed_msgids() if not km.get(m, "").strip()] == []


def test_budget_arithmetic() -> None:
    assert is_gsm7("Hello 1 2") and not is_gsm7("ខ្មែរ") and not is_gsm7("80,000 ៛")
    assert gsm7_septets("a{b}") == 6  # extension characters count 2
    assert ussd_fits("x" * 182) and not ussd_fits("x" * 183)
    assert ussd_fits("{" * 91) and not ussd_fits("{" * 92)
    assert ussd_fits("ក" * 80) and not ussd_fits("ក" * 81)
    assert utf16_units("ក") == 1
    assert sms_segments("ក" * 70) == 1 and sms_segments("ក" * 71) == 2 and sms_segments("ក" * 201) == 3
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2


def long_menu() -> Prompt:
    return Prompt("សំណួរ?", tuple(Option(str(i), f"ជម្រើសវែងបន្តិច {i}") for i in range(1, 11)))


def test_ussd_pages_hold_at_most_four_options_and_number_across_pages() -> None:
    prompt = long_menu()
    pages = ussd_pages(prompt, "km")
    assert pages >= 3
    seen = []
    for page in range(pages):
        screen = render_ussd(prompt, "km", page)
        assert ussd_fits(screen[4:])
        lines = [line for line in screen[4:].split("\n") if "ជម្រើស" in line]
        assert 1 <= len(lines) <= 4
        seen += lines
        assert "៩៨ ទៀត" in screen
    assert seen[0].startswith("១ ") and seen[-1].startswith("១០ ")  # numbering continues across pages
    assert render_ussd(prompt, "km", pages) == render_ussd(prompt, "km", 0)  # 98 on the last page wraps


def test_english_menu_is_plain_gsm_and_ascii_language_choice() -> None:
    prompt = Prompt("Pick", (Option("a", "Alpha"), Option("b", "Beta")))
    assert render_ussd(prompt, "en", 0) == "CON Pick\n1 Alpha\n2 Beta\n0 Back 00 Menu"
    choice = Prompt("Chumnuoy", (Option("km", "ខ្មែរ"), Option("en", "English")), ascii_numbers=True,
                    root=True)
    assert render_ussd(choice, "km", 0) == "CON Chumnuoy\n1 ខ្មែរ\n2 English"


def test_sms_keeps_the_question_even_when_it_costs_segments() -> None:
    question = "សំណួរវែងណាស់ " * 5
    prompt = Prompt(question.strip(), (Option("y", "បាទ/ចាស"), Option("n", "ទេ")))
    text = render_sms(prompt, "km", 0)
    assert text.startswith(question.strip()) and 1 < sms_segments(text) <= 3


def test_new_ussd_input_comes_from_the_previous_text_not_from_splitting() -> None:
    assert new_ussd_input("1", "") == "1"
    assert new_ussd_input("1*4*12*34", "1*4") == "12*34"  # an input containing * stays whole
    assert new_ussd_input("9", "1*4") == "9"  # a gateway that restarted the text
