"""Render a prompt for a channel: USSD screens and SMS texts, paged to fit their budgets.

Options are numbered 1..n across pages (the number a citizen types never depends on the page);
`98` shows the next page, `0` goes back and `00` to the main menu. A page holds at most 4 options
and is cut smaller when the text would overflow the budget. Hints for navigation are shown when
they fit.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.budget import SMS_MAX_SEGMENTS, sms_segments, ussd_fits
from bot.prompt import Prompt
from chumnuoy.digits import to_khmer_digits
from chumnuoy.i18n import translate

MAX_OPTIONS_PER_PAGE = 4
NEXT, BACK, MENU = "98", "0", "00"

Fits = Callable[[str], bool]


def _number(value: int | str, locale: str, ascii_numbers: bool) -> str:
    text = str(value)
    return text if ascii_numbers or locale != "km" else to_khmer_digits(text)


def _option_lines(prompt: Prompt, locale: str, start: int, stop: int) -> list[str]:
    return [
        f"{_number(index + 1, locale, prompt.ascii_numbers)} {prompt.options[index].label}"
        for index in range(start, stop)
    ]


def paginate(prompt: Prompt, locale: str, fits: Fits) -> list[tuple[int, int]]:
    """Option ranges [start, stop) per page, each as large as fits (≤ 4)."""
    pages: list[tuple[int, int]] = []
    start, total = 0, len(prompt.options)
    while start < total:
        stop = min(start + MAX_OPTIONS_PER_PAGE, total)
        while stop > start + 1 and not fits(_page_text(prompt, locale, start, stop, stop < total, False)):
            stop -= 1
        pages.append((start, stop))
        start = stop
    return pages or [(0, 0)]


def _page_text(prompt: Prompt, locale: str, start: int, stop: int, more: bool, hints: bool,
               header: bool = True, notice: bool = True) -> str:
    lines: list[str] = []
    if notice and prompt.notice:
        lines.append(prompt.notice)
    if header and prompt.text:
        lines.append(prompt.text)
    lines += _option_lines(prompt, locale, start, stop)
    if more:
        lines.append(translate(locale, "{n} More", n=_number(NEXT, locale, prompt.ascii_numbers)))
    if hints and not prompt.end:
        if prompt.root:
            pass
        elif prompt.free_input:
            lines.append(translate(locale, "{n} Back", n=_number(BACK, locale, False)))
        else:
            lines.append(translate(locale, "{back} Back {menu} Menu", back=_number(BACK, locale, False),
                                   menu=_number(MENU, locale, False)))
    return "\n".join(lines)


def render(prompt: Prompt, locale: str, page: int, fits: Fits, *, complete: bool = False) -> str | None:
    """The text of `page` (wrapping around): the fullest variant that fits. With `complete`, only a
    variant keeping the question and the notice will do (None when none fits)."""
    pages = paginate(prompt, locale, fits)
    start, stop = pages[page % len(pages)]
    more = len(pages) > 1
    later = bool(page % len(pages))  # later pages: the question was seen already
    variants: list[dict[str, bool]] = [dict(hints=True, header=not later),
                                       dict(hints=False, header=not later)]
    if not complete:
        if prompt.notice:  # an error line matters more than repeating the question
            variants += [dict(hints=True, header=False), dict(hints=False, header=False)]
        variants.append(dict(hints=False, notice=False))
        if prompt.options:
            variants.append(dict(hints=False, header=False, notice=False))
    for variant in variants:
        text = _page_text(prompt, locale, start, stop, more, **variant)
        if fits(text):
            return text
    if complete:
        return None
    return _page_text(prompt, locale, start, stop, more, hints=False)  # too long: the test suite says so


def ussd_fit(text: str) -> bool:
    return ussd_fits(text)


def sms_one_segment(text: str) -> bool:
    return sms_segments(text) == 1


def sms_fit(text: str) -> bool:
    return sms_segments(text) <= SMS_MAX_SEGMENTS


def render_ussd(prompt: Prompt, locale: str, page: int) -> str:
    """The full USSD reply body, `CON …` or `END …`."""
    return ("END " if prompt.end else "CON ") + (render(prompt, locale, page, ussd_fit) or "")


def render_sms(prompt: Prompt, locale: str, page: int) -> str:
    """One SMS: one segment when possible (menus are paged to fit), never more than three."""
    one = render(prompt, locale, page, sms_one_segment, complete=True)
    if one is not None:
        return one
    return render(prompt, locale, page, sms_fit) or ""


def sms_pages(prompt: Prompt, locale: str) -> int:
    return len(paginate(prompt, locale, sms_one_segment))


def ussd_pages(prompt: Prompt, locale: str) -> int:
    return len(paginate(prompt, locale, ussd_fit))
