"""Segmentation: khmercut words with offsets; normalising coeng DA first keeps words apart."""

from __future__ import annotations

from nlu.normalize import normalize
from nlu.segment import tokenize, tokens_with_offsets


def test_khmer_sentence_is_split_into_words() -> None:
    assert tokenize("មន្ត្រីឃុំបានសុំលុយពីខ្ញុំចំនួន20000រៀល") == [
        "មន្ត្រី", "ឃុំ", "បាន", "សុំ", "លុយ", "ពី", "ខ្ញុំ", "ចំនួន", "20000", "រៀល"]


def test_coeng_da_spelling_segments_after_normalisation() -> None:
    typed = "ស្ថានភាពបណ្ដឹងរបស់អ្នក"  # coeng DA: the CRF would glue the first words together
    assert tokenize(normalize(typed)) == tokenize("ស្ថានភាពបណ្តឹងរបស់អ្នក")
    assert "បណ្តឹង" in tokenize(normalize(typed))


def test_mixed_text_offsets() -> None:
    text = "ខ្ញុំចង់ complain ពីលុយ"
    for token, start, end in tokens_with_offsets(text):
        assert text[start:end] == token
    assert "complain" in tokenize(text)
