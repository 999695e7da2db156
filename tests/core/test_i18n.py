from datetime import date

from chumnuoy.i18n import format_date, format_riel, translate


def test_riel_in_khmer_uses_khmer_digits_and_no_decimals():
    assert format_riel(80_000, "km") == "៨០,០០០ ៛"
    assert format_riel(400_000, "en") == "400,000 ៛"


def test_dates_in_khmer_use_khmer_month_names_and_digits():
    assert format_date(date(2026, 9, 15), "km") == "១៥ កញ្ញា ២០២៦"
    assert format_date(date(2026, 9, 15), "en") == "15 Sep 2026"


def test_unknown_msgid_falls_back_to_the_english_source_with_localised_numbers():
    assert translate("km", "{n} items", n=12) == "១២ items"
    assert translate("en", "{n} items", n=12) == "12 items"
