"""Entities with the canonical values of SPEC §9 and offsets into the raw text."""

from __future__ import annotations

import pytest

from nlu.entities import extract_entities


def _values(text: str, entity: str) -> list[str]:
    return [e["value"] for e in extract_entities(text) if e["entity"] == entity]


@pytest.mark.parametrize(("text", "value"), [
    ("ខ្ញុំមាន​ប័ណ្ណសមធម៌", "idpoor"),
    ("ខ្ញុំមានបណ្ណសមធម៌", "idpoor"),
    ("ban kro knhom bat", "idpoor"),
    ("I have an Equity Card", "idpoor"),
    ("តើអាចបានកញ្ចប់គ្រួសារទេ", "family_package"),
    ("kanhchop kruosar", "family_package"),
    ("ខ្ញុំមានផ្ទៃពោះ", "pregnant_child_cash"),
    ("mean phtey pous", "pregnant_child_cash"),
    ("ប័ណ្ណពិការ", "disability"),
    ("ជនចាស់ជរា", "elderly"),
    ("ahaurobkar kon knhom", "scholarship"),
    ("មូលនិធិសមធម៌", "health_equity_fund"),
    ("ខ្ញុំជាសមាជិក ប.ស.ស.", "nssf"),
    ("bo so so", "nssf"),
    ("អ្នកផ្ទុកមេរោគអេដស៍", "hiv"),
])
def test_programme_synonyms(text: str, value: str) -> None:
    assert _values(text, "programme") == [value]


@pytest.mark.parametrize(("text", "value"), [
    ("លេខថ្មី ០១២ ៣៤៥ ៦៧៨", "012345678"),
    ("+855 12 345 678", "012345678"),
    ("855-97-000-0103", "0970000103"),
    ("call 088 234 5678", "0882345678"),
    ("០៩៧០០០០១០៣", "0970000103"),
])
def test_phones_become_national_digits(text: str, value: str) -> None:
    assert _values(text, "phone") == [value]


def test_id_number_in_khmer_digits() -> None:
    assert _values("អត្តសញ្ញាណប័ណ្ណលេខ ១០០០០០១០១", "id_number") == ["100000101"]
    assert _values("my ID is 100000102", "id_number") == ["100000102"]


@pytest.mark.parametrize(("text", "value"), [
    ("បណ្តឹងលេខ ១២៣៤ ៥៦៧៤", "12345674"),
    ("ref 8765-4325", "87654325"),
    ("status #44556677", "44556677"),
])
def test_ticket_ids_are_digits_without_spaces(text: str, value: str) -> None:
    assert _values(text, "ticket_id") == [value]


@pytest.mark.parametrize(("text", "value"), [
    ("ថ្ងៃកំណើត ១២ មេសា ១៩៩៦", "1996-04-12"),
    ("ថ្ងៃទី៣ ខែកញ្ញា ឆ្នាំ១៩៥៨", "1958-09-03"),
    ("born 03/09/1958", "1958-09-03"),
    ("date of birth 12041996", "1996-04-12"),
    ("2026-11-25", "2026-11-25"),
    ("12 April 1996", "1996-04-12"),
    ("April 12, 1996", "1996-04-12"),
    ("២០ វិច្ឆិកា ២០២៦", "2026-11-20"),
])
def test_dates_become_iso(text: str, value: str) -> None:
    assert _values(text, "date") == [value]


def test_impossible_date_is_not_a_date() -> None:
    assert _values("31/02/2020", "date") == []


@pytest.mark.parametrize(("text", "code"), [
    ("ខ្ញុំរស់នៅខេត្តសៀមរាប", "17"), ("siem reap", "17"), ("Siemreap", "17"), ("ភ្នំពេញ", "12"),
    ("phnom penh", "12"), ("កណ្ដាល", "08"), ("កណ្តាល", "08"), ("ខេត្តកែប", "23"), ("Battambang", "02"),
    ("batdambang", "02"), ("ពោធិ៍សាត់", "15"), ("tbong khmum", "25"), ("takeo", "21"),
])
def test_provinces_become_two_digit_codes(text: str, code: str) -> None:
    assert _values(text, "province") == [code]


def test_no_province_inside_another_word() -> None:
    assert _values("ខ្ញុំចង់កែប្រែព័ត៌មាន", "province") == []  # កែប inside កែប្រែ is not Kep


def test_offsets_index_the_raw_text() -> None:
    raw = "ខ្ញុំ\u200bចង់\u200bប្ដូរលេខ ០៩៧ ០០០ ០១០៣ នៅ​ខេត្ត​កណ្ដាល"
    found = {e["entity"]: e for e in extract_entities(raw)}
    phone, province = found["phone"], found["province"]
    assert raw[phone["start"]:phone["end"]] == "០៩៧ ០០០ ០១០៣"
    assert raw[province["start"]:province["end"]] == "កណ្ដាល"
    assert province["value"] == "08"


def test_nothing_in_plain_chat() -> None:
    assert extract_entities("សួស្តីបង អរគុណច្រើន") == []
