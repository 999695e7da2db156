"""The questionnaire (anyone, level 0) and the rule interpreter."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.services.eligibility import (
    Questionnaire,
    default_catalogue,
    evaluate_condition,
    evaluate_questionnaire,
    load_catalogue,
)


def by_code(answers: Questionnaire) -> dict[str, object]:
    return {o.programme: o for o in evaluate_questionnaire(answers)}


def test_pregnant_with_equity_card_is_indicative_yes_with_where_to_apply() -> None:
    result = by_code(
        Questionnaire(equity_card="valid", idpoor_level=1, pregnant_or_child_under_2=True, sex="female")
    )
    mch = result["pregnant_child_cash"]
    assert mch.outcome == "maybe" and mch.indicative
    assert mch.reason_text("en") == "Pregnant or child under 2: you can get cash at each health visit."
    assert mch.how_to_apply.startswith("Have your visit recorded at the health centre")
    assert [b.amount_riel for b in mch.benefits] == [80_000, 400_000, 80_000]
    assert result["health_equity_fund"].outcome == "maybe"


def test_nssf_member_without_card_still_gets_maternal_cash() -> None:
    result = by_code(
        Questionnaire(equity_card="none", pregnant_or_child_under_2=True, nssf_member=True, sex="female")
    )
    assert result["pregnant_child_cash"].outcome == "maybe"
    assert result["nssf"].outcome == "enrolled"
    assert result["elderly"].outcome == "maybe"  # age not answered
    assert result["elderly"].reason_text("en") == "We need more answers to say."


def test_no_card_older_person_not_eligible_and_guided_to_on_demand_idpoor() -> None:
    result = by_code(
        Questionnaire(
            equity_card="none",
            age_60_plus=True,
            pregnant_or_child_under_2=False,
            disability_card=False,
            children_in_school=False,
            hiv_support=False,
            nssf_member=False,
        )
    )
    elderly = result["elderly"]
    assert elderly.outcome == "not_eligible"
    assert elderly.reason_text("en") == "This needs a valid Equity Card."
    assert elderly.guidance_text("km") and "តាមការស្នើសុំ" in elderly.guidance_text("km")
    assert result["idpoor"].outcome == "maybe"
    assert {o.outcome for o in result.values() if o.family_package} == {"not_eligible"}


def test_expired_card_in_questionnaire() -> None:
    result = by_code(Questionnaire(equity_card="expired", disability_card=True))
    assert result["disability"].outcome == "not_eligible"
    assert result["idpoor"].outcome == "not_eligible"


def test_empty_questionnaire_is_all_unknown() -> None:
    result = evaluate_questionnaire(Questionnaire(civil_servant=None))
    assert {o.outcome for o in result} == {"maybe"}


def test_kleene_logic() -> None:
    facts = {"a": True, "b": None}
    assert evaluate_condition({"any": [{"fact": "a", "is": True}, {"fact": "b", "is": True}]}, facts) is True
    assert evaluate_condition({"all": [{"fact": "a", "is": True}, {"fact": "b", "is": True}]}, facts) is None
    assert (
        evaluate_condition({"all": [{"fact": "a", "is": False}, {"fact": "b", "is": True}]}, facts) is False
    )
    assert evaluate_condition({"not": {"fact": "b", "eq": 1}}, facts) is None
    assert evaluate_condition({"fact": "n", "gte": 60}, {"n": 61}) is True


def test_catalogue_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = Path(default_catalogue.__wrapped__.__globals__["CATALOGUE"]).read_text(encoding="utf-8")
    bad.write_text(text.replace("outcome: eligible", "outcome: great", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="bad rule"):
        load_catalogue(bad)


def test_unsourced_amounts_are_configurable(monkeypatch) -> None:
    monkeypatch.setenv("CHUMNUOY_FP_ELDERLY_RIEL", "55000")
    catalogue = load_catalogue()
    (benefit,) = catalogue.programme("elderly").benefits
    assert (benefit.amount_riel, benefit.sourced, benefit.configured_by) == (
        55_000,
        False,
        "CHUMNUOY_FP_ELDERLY_RIEL",
    )
    assert catalogue.programme("hiv").benefits[0].sourced


def test_reasons_without_a_known_level_or_date_use_the_plain_wording() -> None:
    card = by_code(Questionnaire(equity_card="valid"))["idpoor"]
    assert card.reason_text("en") == "You have a valid Equity Card."
    assert by_code(Questionnaire(equity_card="valid", idpoor_level=2))["idpoor"].reason_text("km") == (
        "អ្នកមានប័ណ្ណសមធម៌ ក្រ-២ នៅមានសុពលភាព។"
    )
    expired = by_code(Questionnaire(equity_card="expired", age_60_plus=True))
    assert expired["elderly"].reason_text("en") == "Your Equity Card has expired."
    assert "{" not in expired["elderly"].reason_text("km")
