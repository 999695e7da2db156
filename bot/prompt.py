"""What a journey step asks: the channel-neutral prompt the renderers turn into screens or SMS."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    """Already translated."""


@dataclass(frozen=True)
class Prompt:
    text: str
    """Already translated; may be empty for a bare menu."""
    options: tuple[Option, ...] = ()
    free_input: bool = False
    end: bool = False
    """The conversation is over after this (USSD `END `)."""
    ascii_numbers: bool = False
    """Number the options with ASCII digits even in Khmer (the bilingual language choice)."""
    notice: str = ""
    """A line shown above the text (e.g. "wrong choice"), already translated."""
    root: bool = False
    """The main menu / first contact: no `0 back` hint."""
