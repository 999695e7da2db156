"""Legacy Limon-font input is recognised (so the dialogue can ask to switch keyboard)."""

from __future__ import annotations

import pytest

from nlu.limon import is_limon

# "éf¶ExqñaMkMeNIt" is ថ្ងៃខែឆ្នាំកំណើត typed with a Limon font (the kfc converter's own example);
# the others follow the same keyboard layout (e.g. x = ខ, J = ្ញ, M = ុំ; s = ស, Y = ួ, þ = ្ត, I = ី).
LIMON = ["éf¶ExqñaMkMeNIt", "sYsþI", "xJMcg;)anluy", "GrKuNNas; xJMmin)anluy"]
NOT_LIMON = [
    "ot ban luy te", "kh'nhom chong dak peak bandoeng", "lui ot mean", "Hello, I need help",
    "iPhone broken", "ខ្ញុំមិនទាន់បានលុយ", "ខ្ញុំ want to complain", "12345678", "", "OK", "CHAN Sokha",
    "café au lait", "GR-1234 5678",
]


@pytest.mark.parametrize("text", LIMON)
def test_limon_is_detected(text: str) -> None:
    assert is_limon(text)


@pytest.mark.parametrize("text", NOT_LIMON)
def test_other_text_is_not_limon(text: str) -> None:
    assert not is_limon(text)
