"""The personas P1–P8 and the compliance fixtures (SPEC §8), always seeded, with fixed identifiers.

Their situation is the one of SPEC §8 on 2026-11-25. Sandbox choices (documented here):
- Personas are the household head (SELF), except P8's wife (SPS); relatives have UINs 1000001[1-9]x,
  SPID bodies 110+ (personas use body = last three UIN digits, e.g. P1 `KH000000101` + check).
- Every member of a household with a valid Equity Card is enrolled in `health_equity_fund` (Active);
  P7's expired card leaves his household's HEF enrolments Suspended since 2025-06-30.
- P1's third antenatal payment is pending, due 2026-11-20. P2 has exactly the two payments of the
  table. P3's six post-natal/vaccination payments are postnatal_1–3 and vaccination_1–3; her son
  (grade 4) has six paid monthly scholarship payments (30 May–30 Oct 2026). P5 has six paid monthly
  disability payments (June–November 2026, on the 10th).
- Fixtures: household HH-12-00000901 (Phnom Penh, central_region, poverty 3.5, 3 members, UIN
  TEST-001 is its head) and HH-08-00000902 (Kandal, central_region, poverty 2.0, 2 members aged 22
  and 19). Both match `poverty_score < 5`, `location = central_region` and `group_size < 5`; the
  second's members match `age < 25` and `poverty_score < 2.5`.
"""

from __future__ import annotations

from datetime import date, datetime

from registry_sandbox.programmes import (
    ANTENATAL_RIEL,
    DELIVERY_RIEL,
    POSTNATAL_RIEL,
    SCHOLARSHIP_LOWER_RIEL,
    fp_disability_riel,
    fp_elderly_riel,
)
from registry_sandbox.rows import RowBuilder
from registry_sandbox.spid import household_id, idpoor_number, spid_from_body

PERSONA_PHONES = {
    "P1": "+85512000101", "P2": "+85512000102", "P3": "+85597000103", "P4": "+85510000104",
    "P5": "+85512000105", "P6": "+85512000199", "P7": "+85512000107", "P8": "+85512000108",
}


def _first_village(builder: RowBuilder, province_code: str) -> str | None:
    villages = sorted(code for code, unit in builder.units.items()
                      if unit["level"] == "village" and code.startswith(province_code))
    return villages[0] if villages else None


def _household(builder: RowBuilder, number: int, province: str, level: int | None,
               valid_until: date | None, score: float, size: int, registered: date) -> int:
    return builder.household(
        household_id=household_id(province, number), province_code=province,
        village_code=_first_village(builder, province),
        idpoor_number=idpoor_number(number) if level or valid_until else None,
        idpoor_level=level, valid_until=valid_until, poverty_score=score, group_size=size,
        registered=datetime.combine(registered, datetime.min.time().replace(hour=9)),
        house_number=number,
    )


def _person(builder: RowBuilder, household_pk: int, body: int, uin: str | None, relationship: str,
            km: tuple[str, str], latin: tuple[str, str], sex: str, born: date, registered: date,
            phone: str | None = None, marital: str = "M", **extra: object) -> int:
    return builder.person(
        household_pk=household_pk, spid=spid_from_body(body), uin=uin, relationship=relationship,
        surname_km=km[0], given_km=km[1], surname_latin=latin[0], given_latin=latin[1], sex=sex,
        birth_date=born, phone=phone, marital_status=marital,
        registered=datetime.combine(registered, datetime.min.time().replace(hour=9)), **extra,  # type: ignore[arg-type]
    )


def _hef(builder: RowBuilder, persons: list[int], since: date, status: str = "Active",
         changed: date | None = None) -> None:
    for pk in persons:
        builder.enrolment(person_pk=pk, programme="health_equity_fund", enrolment_date=since,
                          status=status, status_change_date=changed, benefit_type="health_care")


def _payments(builder: RowBuilder, enrolment: int, person: int, programme: str, point: str | None,
              items: list[tuple[str, int, str, date, date | None]]) -> None:
    for component, amount, status, due, paid in items:
        builder.payment(enrolment_pk=enrolment, person_pk=person, programme=programme, amount=amount,
                        status=status, due_date=due, paid_date=paid, component=component,
                        collection_point=point)


def seed_personas(builder: RowBuilder) -> None:
    d = date
    # P1 CHAN Sokha: IDPoor 1, pregnant, antenatal payments.
    hh = _household(builder, 101, "05", 1, d(2028, 6, 30), 18.5, 3, d(2021, 3, 2))
    point = builder.collection_point(builder.households[-1]["village_code"])
    p1 = _person(builder, hh, 101, "100000101", "SELF", ("ចាន់", "សុខា"), ("CHAN", "Sokha"), "female",
                 d(1996, 4, 12), d(2021, 3, 2), PERSONA_PHONES["P1"], is_pregnant=True)
    husband = _person(builder, hh, 110, "100000110", "SPS", ("សៅ", "វិបុល"), ("SAO", "Vibol"), "male",
                      d(1993, 2, 18), d(2021, 3, 2), "+85512000111")
    daughter = _person(builder, hh, 111, None, "CHILD", ("សៅ", "ស្រីពៅ"), ("SAO", "Sreypov"), "female",
                       d(2022, 5, 3), d(2022, 6, 1), marital="S")
    enrolment = builder.enrolment(person_pk=p1, programme="pregnant_child_cash",
                                  enrolment_date=d(2026, 8, 20),
                                  benefit_type="cash", amount=ANTENATAL_RIEL, frequency="per_visit",
                                  collection_point=point)
    _payments(builder, enrolment, p1, "pregnant_child_cash", point, [
        ("antenatal_1", ANTENATAL_RIEL, "paid", d(2026, 9, 15), d(2026, 9, 15)),
        ("antenatal_2", ANTENATAL_RIEL, "paid", d(2026, 10, 20), d(2026, 10, 20)),
        ("antenatal_3", ANTENATAL_RIEL, "pending", d(2026, 11, 20), None),
    ])
    _hef(builder, [p1, husband, daughter], d(2021, 3, 2))

    # P2 SOK Dara: IDPoor 2, 68, Family Package elderly; paid 2026-09-10, failed 2026-10-10.
    hh = _household(builder, 102, "02", 2, d(2027, 12, 31), 38.0, 2, d(2019, 11, 12))
    point = builder.collection_point(builder.households[-1]["village_code"])
    p2 = _person(builder, hh, 102, "100000102", "SELF", ("សុខ", "ដារ៉ា"), ("SOK", "Dara"), "male",
                 d(1958, 9, 3), d(2019, 11, 12), PERSONA_PHONES["P2"])
    wife = _person(builder, hh, 120, "100000120", "SPS", ("ស៊ុន", "ម៉ាលី"), ("SUN", "Maly"), "female",
                   d(1966, 3, 8), d(2019, 11, 12))
    elderly = fp_elderly_riel()
    enrolment = builder.enrolment(person_pk=p2, programme="elderly", enrolment_date=d(2024, 4, 20),
                                  benefit_type="cash", amount=elderly, frequency="monthly",
                                  collection_point=point)
    _payments(builder, enrolment, p2, "elderly", point, [
        ("monthly", elderly, "paid", d(2026, 9, 10), d(2026, 9, 10)),
        ("monthly", elderly, "failed", d(2026, 10, 10), None),
    ])
    _hef(builder, [p2, wife], d(2019, 11, 12))

    # P3 KEO Sreyneang: IDPoor 1; baby born 2025-08-10; son in grade 4 with a scholarship.
    hh = _household(builder, 103, "17", 1, d(2028, 3, 31), 12.0, 4, d(2020, 7, 6))
    point = builder.collection_point(builder.households[-1]["village_code"])
    p3 = _person(builder, hh, 103, "100000103", "SELF", ("កែវ", "ស្រីនាង"), ("KEO", "Sreyneang"), "female",
                 d(1990, 1, 20), d(2020, 7, 6), PERSONA_PHONES["P3"])
    husband = _person(builder, hh, 130, "100000130", "SPS", ("ពៅ", "សុផល"), ("POV", "Sophal"), "male",
                      d(1987, 11, 2), d(2020, 7, 6))
    son = _person(builder, hh, 131, None, "CHILD", ("ពៅ", "ពិសិដ្ឋ"), ("POV", "Piseth"), "male",
                  d(2016, 9, 14), d(2020, 7, 6), marital="S", school_grade=4)
    baby = _person(builder, hh, 132, None, "CHILD", ("ពៅ", "ស្រីល័ក្ខ"), ("POV", "Sreyleak"), "female",
                   d(2025, 8, 10), d(2025, 8, 25), marital="S")
    enrolment = builder.enrolment(person_pk=p3, programme="pregnant_child_cash", enrolment_date=d(2025, 3, 5),
                                  benefit_type="cash", amount=POSTNATAL_RIEL, frequency="per_visit",
                                  collection_point=point)
    _payments(builder, enrolment, p3, "pregnant_child_cash", point, [
        ("delivery", DELIVERY_RIEL, "paid", d(2025, 8, 20), d(2025, 8, 22)),
        ("postnatal_1", POSTNATAL_RIEL, "paid", d(2025, 8, 25), d(2025, 8, 25)),
        ("postnatal_2", POSTNATAL_RIEL, "paid", d(2025, 9, 25), d(2025, 9, 26)),
        ("postnatal_3", POSTNATAL_RIEL, "paid", d(2025, 10, 10), d(2025, 10, 10)),
        ("vaccination_1", POSTNATAL_RIEL, "paid", d(2025, 10, 20), d(2025, 10, 21)),
        ("vaccination_2", POSTNATAL_RIEL, "paid", d(2025, 11, 20), d(2025, 11, 20)),
        ("vaccination_3", POSTNATAL_RIEL, "paid", d(2025, 12, 20), d(2025, 12, 22)),
    ])
    enrolment = builder.enrolment(person_pk=son, programme="scholarship", enrolment_date=d(2024, 12, 5),
                                  benefit_type="cash", amount=SCHOLARSHIP_LOWER_RIEL, frequency="monthly",
                                  collection_point=point)
    _payments(builder, enrolment, son, "scholarship", point, [
        ("monthly", SCHOLARSHIP_LOWER_RIEL, "paid", d(2026, month, 30), d(2026, month, 30))
        for month in range(5, 11)
    ])
    _hef(builder, [p3, husband, son, baby], d(2020, 7, 6))

    # P4 LIM Vannak: no Equity Card, NSSF member (factory worker).
    hh = _household(builder, 104, "03", None, None, 61.0, 3, d(2022, 2, 14))
    p4 = _person(builder, hh, 104, "100000104", "SELF", ("លឹម", "វណ្ណៈ"), ("LIM", "Vannak"), "male",
                 d(1985, 6, 30), d(2022, 2, 14), PERSONA_PHONES["P4"], nssf_number="0000000104")
    _person(builder, hh, 140, "100000140", "SPS", ("យឹម", "ចាន់ធី"), ("YIM", "Chanthy"), "female",
            d(1988, 12, 1), d(2022, 2, 14))
    _person(builder, hh, 141, None, "CHILD", ("លឹម", "ធីតា"), ("LIM", "Thida"), "female",
            d(2014, 4, 22), d(2022, 2, 14), marital="S", school_grade=6)
    builder.enrolment(person_pk=p4, programme="nssf", enrolment_date=d(2019, 3, 1),
                      benefit_type="health_care")

    # P5 MAO Chenda: IDPoor 2, disability card (medium), FP disability monthly.
    hh = _household(builder, 105, "14", 2, d(2027, 9, 30), 40.5, 2, d(2020, 1, 9))
    point = builder.collection_point(builder.households[-1]["village_code"])
    p5 = _person(builder, hh, 105, "100000105", "SELF", ("ម៉ៅ", "ចិន្តា"), ("MAO", "Chenda"), "female",
                 d(1979, 11, 5), d(2020, 1, 9), PERSONA_PHONES["P5"], marital="W",
                 disability="medium", disability_card="DC-00000105")
    son = _person(builder, hh, 150, "100000150", "CHILD", ("មាស", "វុទ្ធី"), ("MEAS", "Vuthy"), "male",
                  d(2001, 6, 10), d(2020, 1, 9), marital="S")
    amount = fp_disability_riel()
    enrolment = builder.enrolment(person_pk=p5, programme="disability", enrolment_date=d(2024, 4, 18),
                                  benefit_type="cash", amount=amount, frequency="monthly",
                                  collection_point=point)
    _payments(builder, enrolment, p5, "disability", point, [
        ("monthly", amount, "paid", d(2026, month, 10), d(2026, month, 10)) for month in range(6, 12)
    ])
    _hef(builder, [p5, son], d(2020, 1, 9))

    # P7 HENG Rathana: Equity Card expired 2025-06-30.
    hh = _household(builder, 107, "08", 2, d(2025, 6, 30), 44.0, 2, d(2019, 5, 20))
    p7 = _person(builder, hh, 107, "100000107", "SELF", ("ហេង", "រតនា"), ("HENG", "Rathana"), "male",
                 d(1970, 2, 14), d(2019, 5, 20), PERSONA_PHONES["P7"])
    wife = _person(builder, hh, 170, "100000170", "SPS", ("ទេព", "សុភី"), ("TEP", "Sophy"), "female",
                   d(1973, 8, 19), d(2019, 5, 20))
    _hef(builder, [p7, wife], d(2019, 5, 20), status="Suspended", changed=d(2025, 6, 30))

    # P8 LONG Vichet and CHHIM Sopheap: one household, one shared phone, IDPoor 1.
    hh = _household(builder, 108, "12", 1, d(2028, 12, 31), 20.0, 3, d(2021, 9, 1))
    vichet = _person(builder, hh, 109, "100000109", "SELF", ("ឡុង", "វិចិត្រ"), ("LONG", "Vichet"), "male",
                     d(1986, 3, 15), d(2021, 9, 1), PERSONA_PHONES["P8"])
    sopheap = _person(builder, hh, 108, "100000108", "SPS", ("ឈឹម", "សុភាព"), ("CHHIM", "Sopheap"), "female",
                      d(1988, 7, 7), d(2021, 9, 1), PERSONA_PHONES["P8"])
    child = _person(builder, hh, 180, None, "CHILD", ("ឡុង", "រិទ្ធី"), ("LONG", "Rithy"), "male",
                    d(2019, 1, 25), d(2021, 9, 1), marital="S", school_grade=1)
    _hef(builder, [vichet, sopheap, child], d(2021, 9, 1))


def seed_compliance_fixtures(builder: RowBuilder) -> None:
    d = date
    hh = _household(builder, 901, "12", 1, d(2028, 12, 31), 3.5, 3, d(2024, 1, 15))
    _person(builder, hh, 901, "TEST-001", "SELF", ("តេស្ត", "មួយ"), ("TEST", "One"), "male",
            d(1995, 5, 5), d(2024, 1, 15))
    _person(builder, hh, 902, "TEST-002", "SPS", ("សាកល្បង", "ពីរ"), ("SAKLBANG", "Pir"), "female",
            d(1997, 2, 2), d(2024, 1, 15))
    _person(builder, hh, 903, None, "CHILD", ("តេស្ត", "បី"), ("TEST", "Bei"), "female",
            d(2020, 10, 10), d(2024, 1, 15), marital="S", school_grade=None)
    hh = _household(builder, 902, "08", 1, d(2028, 12, 31), 2.0, 2, d(2024, 1, 15))
    _person(builder, hh, 904, "TEST-003", "SELF", ("តេស្ត", "បួន"), ("TEST", "Buon"), "female",
            d(2004, 3, 3), d(2024, 1, 15), marital="S")
    _person(builder, hh, 905, "TEST-004", "OTHER", ("តេស្ត", "ប្រាំ"), ("TEST", "Pram"), "male",
            d(2007, 1, 1), d(2024, 1, 15), marital="S")
