"""Normalisation (SPEC §9): the 14 real variant pairs of reference/nlu.md, clean text unchanged,
raw offsets kept, idempotence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlu.normalize import normalize, normalize_with_offsets

ZWSP, NBSP = "\u200b", "\u00a0"

# (case, form a citizen may type, the canonical form)
VARIANT_PAIRS = [
    ("zwsp as word separator", f"ជួយ{ZWSP}ខ្ញុំ{ZWSP}ផង", "ជួយខ្ញុំផង"),
    ("coeng DA vs coeng TA", "ប្ដូរ", "ប្តូរ"),
    ("coeng RO typed before coeng TA", "ស្រ្តី", "ស្ត្រី"),
    ("vowel typed before coeng", "ខែ្មរ", "ខ្មែរ"),
    ("nikahit typed before -u", "ខ្ញំុ", "ខ្ញុំ"),
    ("split vowel OE", "តេី", "តើ"),
    ("split vowel OO", "លេាក", "លោក"),
    ("shifter typed after -u", "បុ៉ន្មាន", "ប៉ុន្មាន"),
    ("Khmer digits", "០១២៣៤៥៦៧៨", "012345678"),
    ("deprecated independent vowel", "\u17a4", "អា"),
    ("doubled vowel sign (key bounce)", "ទៅៅ", "ទៅ"),
    ("NBSP, double space, trailing khan", f"សួស្តី{NBSP}{NBSP}បង។", "សួស្តី បង"),
    ("lexical variant អោយ", "អោយខ្ញុំ", "ឲ្យខ្ញុំ"),
    ("lexical variant ជំរាប", "ជំរាបសួរ", "ជម្រាបសួរ"),
]

# Clean, correctly typed Khmer: glossary terms of reference/programmes.md (f) and everyday sentences.
CLEAN = [
    "គាំពារសង្គម", "ប្រព័ន្ធគាំពារសង្គម", "ជំនួយសង្គម", "របបសន្តិសុខសង្គម", "អ្នកទទួលផល",
    "ការចុះឈ្មោះ", "ការផ្ទៀងផ្ទាត់", "ដាក់ពាក្យស្នើសុំ", "ព័ត៌មានផ្ទាល់ខ្លួន", "ផ្លាស់ប្តូរព័ត៌មានផ្ទាល់ខ្លួន",
    "គណនី", "លេខសម្គាល់គាំពារសង្គម", "គោលការណ៍តែម្តងគត់", "ឯកជនភាព", "បណ្តឹងតវ៉ា", "មតិត្រឡប់",
    "ការក្លែងបន្លំ", "ឧបត្ថម្ភសាច់ប្រាក់", "ប្រាក់ឧបត្ថម្ភ", "ប័ណ្ណសមធម៌", "បណ្ណសមធម៌",
    "កម្មវិធីអត្តសញ្ញាណកម្មគ្រួសារក្រីក្រ", "តាមការស្នើសុំ", "គ្រួសារក្រីក្រ និងងាយរងគ្រោះ",
    "ស្ត្រីមានផ្ទៃពោះ", "ជនមានពិការភាព", "បណ្ណសម្គាល់ជនមានពិការភាព", "ជនចាស់ជរា", "អ្នកផ្ទុកមេរោគអេដស៍",
    "អាហារូបករណ៍", "មូលនិធិសមធម៌", "មូលនិធិជាតិជំនួយសង្គម", "បេឡាជាតិរបបសន្តិសុខសង្គម",
    "អត្តសញ្ញាណបណ្ណសញ្ជាតិខ្មែរ", "ក្រុមប្រឹក្សាឃុំ សង្កាត់", "ក្រសួងផែនការ", "ក្រសួងសុខាភិបាល",
    "តើខ្ញុំមានសិទ្ធិទទួលបានជំនួយទេ", "ខ្ញុំមិនទាន់បានទទួលប្រាក់ឧបត្ថម្ភបីខែហើយ",
    "មន្ត្រីឃុំបានសុំលុយពីខ្ញុំ", "ស្ថានភាពបណ្តឹងរបស់អ្នក", "ប័ណ្ណសមធម៌ត្រូវបានចេញដោយក្រសួងផែនការ",
    "រាជរដ្ឋាភិបាលកម្ពុជាបានដាក់ចេញនូវគោលនយោបាយគាំពារសង្គម", "សួស្តីបង", "ជម្រាបសួរ", "អរគុណច្រើន",
    "ខ្ញុំចង់ប្តូរលេខទូរស័ព្ទ", "ខ្ញុំចង់និយាយជាមួយមន្ត្រី", "ប៉ុន្មាន", "ឲ្យខ្ញុំ", "ស្ត្រី", "ខ្មែរ", "លោក",
    "ប្រាក់ខែនេះចេញនៅពេលណា", "ថ្ងៃខែឆ្នាំកំណើត", "ព្រះសីហនុ", "ពោធិ៍សាត់", "ត្បូងឃ្មុំ", "ឧត្តរមានជ័យ",
    "រតនគិរី", "ក្រចេះ", "កំពង់ឆ្នាំង", "ឡើង", "ឿ", "ធម៌", "ទៅ", "ស៊ី", "អ៊ុំ",
]


@pytest.mark.parametrize(("case", "typed", "canonical"), VARIANT_PAIRS, ids=[c[0] for c in VARIANT_PAIRS])
def test_variant_pairs_become_equal(case: str, typed: str, canonical: str) -> None:
    assert typed != canonical
    assert normalize(typed) == normalize(canonical) == canonical


def test_fourteen_kinds_are_covered() -> None:
    assert len({case for case, _, _ in VARIANT_PAIRS}) == 14


@pytest.mark.parametrize("text", CLEAN)
def test_clean_text_is_unchanged(text: str) -> None:
    assert normalize(text) == text


def test_variant_in_a_sentence_keeps_the_rest() -> None:
    typed = f"ខ្ញំុ{ZWSP}ចង់{ZWSP}ប្ដូរ  លេខ ០១២ ៣៤៥ ៦៧៨។"
    assert normalize(typed) == "ខ្ញុំចង់ប្តូរ លេខ 012 345 678"


def test_latin_is_composed_and_spaces_collapse() -> None:
    assert normalize("  cafe\u0301\t\tok \n") == "café ok"


def test_offsets_point_into_the_raw_text() -> None:
    raw = f"លេខ{ZWSP} ០១២ ៣៤៥ ៦៧៨ ខ្ញំុ"
    norm = normalize_with_offsets(raw)
    start = norm.text.index("012")
    raw_start, raw_end = norm.raw_span(start, start + len("012 345 678"))
    assert raw[raw_start:raw_end] == "០១២ ៣៤៥ ៦៧៨"
    k = norm.text.index("ខ្ញុំ")
    assert raw[slice(*norm.raw_span(k, k + len("ខ្ញុំ")))] == "ខ្ញំុ"


_KHMERISH = st.sampled_from([chr(c) for c in range(0x1780, 0x17EA)] + [" ", ZWSP, NBSP, "a", "7", "។"])


@settings(max_examples=400, deadline=None)
@given(st.text(_KHMERISH, max_size=16))
def test_idempotent_and_offsets_valid(raw: str) -> None:
    norm = normalize_with_offsets(raw)
    assert normalize(norm.text) == norm.text
    assert len(norm.starts) == len(norm.ends) == len(norm.text)
    assert all(0 <= s < e <= len(raw) for s, e in zip(norm.starts, norm.ends, strict=True))
