"""The portal's gazetteer copy (`places`): loaded by the migration, looked up by code and parent,
matched by typed names (Khmer, Latin, romanisations, typos, level words, digits), and replaced together
with the sandbox's by `chumnuoy gazetteer import FILE`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from chumnuoy.db import make_engine
from portal.models.places import Place
from portal.services import places


def test_migration_loads_real_provinces_and_marked_synthetic_units(db_session) -> None:
    provinces = places.children(db_session, None)
    assert [p.code for p in provinces] == [f"{n:02d}" for n in range(1, 26)]
    assert not any(p.synthetic for p in provinces)
    assert (provinces[11].name_km, provinces[11].name_en) == ("ភ្នំពេញ", "Phnom Penh")
    districts = places.children(db_session, "12")
    assert districts
    assert all(d.synthetic and d.level == "district" and d.code.startswith("12") for d in districts)
    assert districts[0].name_km == "ខណ្ឌគំរូ ១" and districts[0].name_en == "Synthetic Khan 1"
    village = places.get(db_session, "12010101")
    assert village is not None and village.level == "village" and village.parent_code == "120101"
    assert places.get(db_session, "99") is None and places.get(db_session, None) is None


@pytest.mark.parametrize(("typed", "expected"), [
    ("ភ្នំពេញ", "12"), ("ខេត្តកណ្តាល", "08"), ("ខេត្ត កណ្ដាល", "08"), ("បាតដំបង", "02"),  # typo
    ("Kampong Cham", "03"), ("kompong chnang", "04"), ("Pnom Penh", "12"), ("siemreap", "17"),
    ("Batambang", "02"), ("Tbong Khmum", "25"), ("Mondulkiri", "11"), ("Otdar Meanchey", "22"),
    ("TAKEO", "21"), ("Kep", "23"),
])
def test_one_clear_province(db_session, typed, expected) -> None:
    one, short = places.resolve(places.search(db_session, None, typed))
    assert one is not None and one.code == expected and short == []


def test_several_matches_give_a_short_list_and_nonsense_nothing(db_session) -> None:
    one, short = places.resolve(places.search(db_session, None, "Kampong"))
    assert one is None and [p.code for p in short] == ["03", "04", "05", "06"]
    assert places.resolve(places.search(db_session, None, "Londres")) == (None, [])
    assert places.resolve(places.search(db_session, None, "ខេត្ត")) == (None, [])  # only a level word


def test_numbers_and_level_words_within_a_parent(db_session) -> None:
    for typed in ("ខណ្ឌ ៣", "ខណ្ឌគំរូ៣", "khan 3", "Synthetic Khan 3", "៣"):
        one, _ = places.resolve(places.search(db_session, "12", typed))
        assert one is not None and one.code == "1203", typed
    one, short = places.resolve(places.search(db_session, "1203", "ឃុំគំរូ"))  # commune word for a sangkat
    assert one is None and len(short) >= 3 and all(p.parent_code == "1203" for p in short)
    within = places.search(db_session, "0101", "Synthetic Commune")
    assert within and {m.place.parent_code for m in within} == {"0101"}  # never outside the parent


def test_labels_add_the_level_word_only_when_missing(db_session) -> None:
    synthetic = places.get(db_session, "120101")
    assert places.label(synthetic, "km") == "សង្កាត់គំរូ ១"
    assert places.label(synthetic, "en") == "Synthetic Sangkat 1"
    bare = Place(code="080101", level="commune", parent_code="0801", name_km="ព្រែកតាកូវ",
                 name_en="Preaek Ta Kov", synthetic=False, version="t")
    assert places.label(bare, "km") == "ឃុំព្រែកតាកូវ" and places.label(bare, "en") == "Preaek Ta Kov commune"
    khan = Place(code="1201", level="district", parent_code="12", name_km="ដូនពេញ", name_en="Doun Penh",
                 synthetic=False, version="t")
    assert places.label(khan, "km") == "ខណ្ឌដូនពេញ" and places.label(khan, "en") == "Doun Penh khan"


def test_address_view_has_codes_names_and_the_synthetic_mark(db_session) -> None:
    view = places.address_view(db_session, {"province_code": "12", "district_code": "1201",
                                            "commune_code": "120101", "village_code": "12010101"})
    assert view["province"] == "ភ្នំពេញ (Phnom Penh)" and view["village_code"] == "12010101"
    assert view["village"] == "ភូមិគំរូ ១ (Synthetic Village 1)" and view["gazetteer"].endswith("(synthetic)")
    assert "gazetteer" not in places.address_view(db_session, {})


def test_ensure_loaded_refills_an_empty_table(db_session) -> None:
    assert places.ensure_loaded(db_session) is False
    total = db_session.scalar(select(func.count()).select_from(Place))
    db_session.execute(delete(Place))
    db_session.commit()
    assert places.is_empty(db_session)
    assert places.ensure_loaded(db_session) is True
    assert db_session.scalar(select(func.count()).select_from(Place)) == total


def test_gazetteer_import_updates_the_sandbox_and_the_portal(tmp_path, new_database) -> None:
    from chumnuoy.cli import main
    from registry_sandbox.gazetteer import load_units

    registry_url, portal_url = new_database("gaz_registry"), new_database("gaz_portal")
    csv = tmp_path / "gazetteer.csv"
    csv.write_text("code,name_km,name_en\n12,ភ្នំពេញ,Phnom Penh\n1201,ដូនពេញ,Doun Penh\n"
                   "120101,ទន្លេបាសាក់,Tonle Basak\n12010101,ភូមិ ១,Phum 1\n12010102,ភូមិ ២,Phum 2\n",
                   encoding="utf-8")
    result = CliRunner().invoke(main, ["gazetteer", "import", str(csv), "--database-url", registry_url,
                                       "--portal-database-url", portal_url])
    assert result.exit_code == 0, result.output
    assert "1 districts, 1 communes, 2 villages" in result.output
    assert "portal places: 29 units" in result.output
    engine = make_engine(portal_url)
    try:
        with Session(engine) as session:
            assert [p.code for p in places.children(session, "12")] == ["1201"]
            doun_penh = places.get(session, "1201")
            assert doun_penh.name_en == "Doun Penh" and not doun_penh.synthetic
            assert doun_penh.version.startswith("ncdd-gazetteer-")
            assert places.children(session, "08") == []  # the synthetic units are gone
            one, _ = places.resolve(places.search(session, "12", "Don Penh"))
            assert one is not None and one.code == "1201"
            portal_rows = {p.code: (p.name_km, p.name_en, p.version) for p in session.scalars(select(Place))}
    finally:
        engine.dispose()
    source = make_engine(registry_url)
    try:
        with source.connect() as connection:
            sandbox_rows = {code: (u["name_km"], u["name_en"], u["version"])
                            for code, u in load_units(connection).items()}
    finally:
        source.dispose()
    assert portal_rows == sandbox_rows  # one import, two identical copies
