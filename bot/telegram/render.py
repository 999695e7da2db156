"""Prompts as Telegram messages: options become inline buttons whose callback data are short ids
(`<step>:<n>`, `<step>:b` back, `<step>:m` menu — never labels: Khmer takes 3 bytes a character and
callback data may hold 64 bytes). `step` changes with every keyboard shown, so a button pressed on an
old message is recognised as old. The share-contact step uses a reply keyboard instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.prompt import Prompt
from bot.telegram.messages import MSG_BACK, MSG_MENU, MSG_SHARE_BUTTON
from chumnuoy.i18n import translate

MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
SHORT_LABEL = 14
"""Labels up to this many characters go two to a row."""

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


@dataclass(frozen=True)
class Rendered:
    text: str
    markup: Markup


def callback_data(step: str, key: str) -> str:
    data = f"{step}:{key}"
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError("callback data over 64 bytes")
    return data


def parse_callback(data: str) -> tuple[str, str] | None:
    step, sep, key = (data or "").partition(":")
    if not sep or not step or not key:
        return None
    return step, key


def message_text(prompt: Prompt) -> str:
    text = "\n".join(part for part in (prompt.notice, prompt.text) if part) or "…"
    return text[:MAX_TEXT]


def inline(prompt: Prompt, locale: str, step: str) -> Rendered:
    buttons = [InlineKeyboardButton(option.label[:120] or "…", callback_data=callback_data(step, str(number)))
               for number, option in enumerate(prompt.options, start=1)]
    width = 2 if buttons and all(len(option.label) <= SHORT_LABEL for option in prompt.options) else 1
    rows = [buttons[i:i + width] for i in range(0, len(buttons), width)]
    back = InlineKeyboardButton(translate(locale, MSG_BACK), callback_data=callback_data(step, "b"))
    menu = InlineKeyboardButton(translate(locale, MSG_MENU), callback_data=callback_data(step, "m"))
    if prompt.end:
        rows.append([menu])
    elif not prompt.root:
        rows.append([back, menu])
    return Rendered(message_text(prompt), InlineKeyboardMarkup(rows) if rows else None)


def contact_request(prompt: Prompt, locale: str) -> Rendered:
    """The share-contact reply keyboard (private chats only); typing stays possible."""
    button = KeyboardButton(translate(locale, MSG_SHARE_BUTTON), request_contact=True)
    return Rendered(message_text(prompt), ReplyKeyboardMarkup([[button]], resize_keyboard=True,
                                                              one_time_keyboard=True))


def without_keyboard(prompt: Prompt) -> Rendered:
    """After the contact keyboard: remove it (a message carries one keyboard; typed 0/00 still work)."""
    return Rendered(message_text(prompt), ReplyKeyboardRemove())
