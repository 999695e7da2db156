"""Every reachable screen, in both languages, within its budget (SPEC §10, §13).

A crawler walks the menus through the real webhooks: each path is replayed from a fresh session,
every option of every screen is tried (and `98`), free-input screens get a date of birth / a
reference. USSD: each screen ≤ 182 GSM-7 septets or ≤ 80 UTF-16 units. SMS: Khmer replies one
segment at the median and never more than 3.
"""

from __future__ import annotations

import re
import statistics

import pytest

from bot.budget import is_gsm7, sms_segments, ussd_fits, utf16_units
from tests.bot.conftest import P1, SmsPhone, UssdPhone

OPTION = re.compile(r"^([0-9០-៩]+) ", re.MULTILINE)
NAV = {"0", "00", "98"}
FREE_INPUTS = ("12041996",)  # P1's date of birth (also a wrong reference number: both screens seen)
MAX_DEPTH = 7


def options_of(screen: str) -> list[str]:
    body = screen[4:] if screen.startswith(("CON ", "END ")) else screen
    keys = [m.group(1).translate(str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")) for m in OPTION.finditer(body)]
    return [k for k in keys if k not in NAV] + (["98"] if "98" in keys else [])


def crawl(replay, limit: int = 400) -> dict[str, tuple[str, ...]]:
    """screen text → the shortest input path that produced it."""
    seen: dict[str, tuple[str, ...]] = {}
    frontier: list[tuple[str, ...]] = [()]
    while frontier and len(seen) < limit:
        path = frontier.pop(0)
        screen, done = replay(path)
        if screen in seen:
            continue
        seen[screen] = path
        if done or len(path) >= MAX_DEPTH:
            continue
        keys = options_of(screen) or list(FREE_INPUTS)
        frontier += [(*path, key) for key in keys]
    return seen


def ussd_replay(client, locale_key: str):
    def replay(path: tuple[str, ...]) -> tuple[str, bool]:
        phone = UssdPhone(client, P1)
        screen = phone.dial()
        if "Chumnuoy" in screen:
            phone.press(locale_key)
            screen = phone.press("1")
        if "បន្ត" in screen or "Continue" in screen:
            screen = phone.press("2")
        for key in path:
            screen = phone.press(key)
            if screen.startswith("END "):
                break
        return screen, screen.startswith("END ")

    return replay


@pytest.mark.parametrize("locale_key", ["1", "2"], ids=["km", "en"])
def test_every_ussd_screen_fits(client, locale_key) -> None:
    screens = crawl(ussd_replay(client, locale_key))
    assert len(screens) > 40  # the crawl reached the journeys, not just the menu
    too_long = {s: p for s, p in screens.items() if not ussd_fits(s[4:])}
    assert not too_long, too_long
    if locale_key == "2":
        assert sum(is_gsm7(s[4:]) for s in screens) > len(screens) // 2  # English stays GSM-7 mostly


def test_sms_replies_one_segment_at_median_never_over_three(client) -> None:
    phone = SmsPhone(client, P1)
    phone.send("hello")
    phone.send("1")
    phone.send("1")

    def replay(path: tuple[str, ...]) -> tuple[str, bool]:
        reply = phone.send("ម៉ឺនុយ")
        for key in path:
            reply = phone.send(key)
        return reply or "", False

    screens = crawl(replay, limit=60)
    assert len(screens) > 30
    segments = [sms_segments(s) for s in phone.replies]
    assert max(segments) <= 3, [s for s in phone.replies if sms_segments(s) > 3]
    assert statistics.median(segments) == 1
    khmer = [s for s in phone.replies if not is_gsm7(s)]
    assert khmer and statistics.median(utf16_units(s) for s in khmer) <= 70


# ---------------------------------------------------------------- address picker and how to apply (H2)

ADDRESS_SMS_PATHS = {
    "1": ("ខេត្តកណ្ដាល", "98", "ឡុងដុង", "ស្រុក ៣", "ឃុំគំរូ", "98", "២", "៩៨", "ភូមិគំរូ៣"),
    "2": ("Kompong", "98", "Kompong Chnang", "Paris", "District 1", "Commune", "1", "98", "Village 2"),
}
APPLY_SMS_PATHS = {"1": ("១", "តាកែវ", "98", "1", "ឃុំគំរូ ២"), "2": ("1", "Pnom Penh", "Khan 1", "Sangkat 2")}


@pytest.mark.parametrize("language", ["1", "2"], ids=["km", "en"])
def test_address_and_how_to_apply_sms_replies(client, language) -> None:
    from tests.bot.test_address import sms_to_address

    phone = SmsPhone(client, P1)
    sms_to_address(phone, language=language)
    first = len(phone.replies) - 1
    for text in ADDRESS_SMS_PATHS[language]:
        phone.send(text)
    phone.send("00")
    phone.send("4")
    phone.send("3")  # how to apply: P1 is verified, so her own commune
    unknown = SmsPhone(client, "+85512000556")
    for text in ("hi", language, "1", "4", "3", *APPLY_SMS_PATHS[language]):
        unknown.send(text)
    replies = phone.replies[first:] + unknown.replies[3:]
    segments = [sms_segments(r) for r in replies]
    assert max(segments) <= 3, [r for r in replies if sms_segments(r) > 3]
    assert statistics.median(segments) == 1, replies
    if language == "1":
        assert statistics.median(utf16_units(r) for r in replies) <= 70


@pytest.mark.parametrize("language", ["1", "2"], ids=["km", "en"])
def test_address_and_how_to_apply_ussd_screens(client, language) -> None:
    phone = UssdPhone(client, P1)  # UssdPhone checks every screen against the budget
    phone.dial()
    for key in (language, "1", "4", "2", "12041996"):
        phone.press(key)
    screens = [phone.press("2")]
    for _ in range(8):  # every page of the 25 provinces, and around again
        screens.append(phone.press("98"))
    assert len(set(screens)) == 7  # 25 provinces, at most 4 per screen
    assert all(1 <= len([k for k in options_of(s) if k != "98"]) <= 4 for s in screens)
    assert phone.press("21").startswith("END ")
    level0 = UssdPhone(client, "+85512000557")
    level0.dial()
    for key in (language, "1", "4"):
        level0.press(key)
    assert level0.press("3").startswith("END ")
    again = phone.new_session()
    again.dial()  # the address session ended: straight to the menu
    again.press("4")
    assert again.press("3").startswith("END ")  # level 1: P1's commune by name
