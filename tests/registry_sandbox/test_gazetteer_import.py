"""The gazetteer: real provinces, a clearly synthetic generated set, and the NCDD CSV import."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chumnuoy.db import make_engine
from registry_sandbox import query
from registry_sandbox.gazetteer import SYNTHETIC_VERSION, import_file, provinces, synthetic_units
from registry_sandbox.models import GazetteerUnit
from registry_sandbox.seed import seed_database
from registry_sandbox.store import Store


def test_provinces_are_the_25_real_ones() -> None:
    table = {p.code: (p.name_km, p.name_en) for p in provinces()}
    assert sorted(table) == [f"{n:02d}" for n in range(1, 26)]
    assert table["12"] == ("ភ្នំពេញ", "Phnom Penh")
    assert table["01"] == ("បន្ទាយមានជ័យ", "Banteay Meanchey")
    assert table["25"] == ("ត្បូងឃ្មុំ", "Tboung Khmum")


def test_synthetic_units_are_marked_and_nested() -> None:
    units = synthetic_units()
    by_code = {u["code"]: u for u in units}
    assert len(by_code) == len(units)
    for unit in units:
        assert unit["version"] == SYNTHETIC_VERSION
        if unit["level"] == "province":
            assert not unit["synthetic"]
            continue
        assert unit["synthetic"] and "Synthetic" in unit["name_en"] and "គំរូ" in unit["name_km"]
        assert len(unit["code"]) == {"district": 4, "commune": 6, "village": 8}[unit["level"]]
        assert unit["parent_code"] == unit["code"][:-2] and unit["parent_code"] in by_code
    assert {u["code"][:2] for u in units if u["level"] == "village"} == {p.code for p in provinces()}


CSV = """code,name_km,name_en
12,ភ្នំពេញ,Phnom Penh
1201,ដូនពេញ,Doun Penh
120101,ស្រះចក,Srah Chak
12010101,ភូមិ ១,Phum 1
12010102,ភូមិ ២,Phum 2
05,កំពង់ស្ពឺ,Kampong Speu
0501,បរសេដ្ឋ,Basedth
050101,បរសេដ្ឋ,Basedth
05010101,ត្រពាំង,Trapeang
"""


def test_import_replaces_the_synthetic_units_and_seeding_uses_them(new_database, tmp_path) -> None:
    url = new_database("gazetteer")
    seed_database(url, persons=20, random_seed=1, if_needed=False)
    path = tmp_path / "ncdd-2024.csv"
    path.write_text(CSV, encoding="utf-8")
    report = import_file(url, str(path))
    assert "1 villages" not in report and "3 villages" in report
    engine = make_engine(url)
    with engine.connect() as connection:
        units = {row.code: row for row in connection.execute(select(GazetteerUnit))}
    assert not any(u.synthetic for u in units.values())
    assert units["1201"].name_en == "Doun Penh" and units["1201"].level == "district"
    assert units["12010102"].parent_code == "120101" and units["12010102"].level == "village"
    assert units["17"].level == "province"  # provinces absent from the file are kept
    version = units["1201"].version
    assert version.startswith("ncdd-ncdd-2024")
    seed_database(url, persons=40, random_seed=1, if_needed=False)
    store = Store(engine)
    groups, _ = store.search_identifier("UIN", "100000109", "Group", 1, 10, [])
    address = groups[0]["place"]["address"]
    assert address["locality"] == "12010101" and "ដូនពេញ" in address["address_line1"]
    attributes = {a["name"]: a["value"] for a in groups[0]["additional_attributes"]}
    assert attributes["gazetteer_version"] == version
    imported = query.Compare("village_code", "in", ["12010101", "12010102", "05010101"])
    villages, total = store.search_condition(imported, "Group", 1, 1000, [])
    assert total == len(villages) >= 40 // 8
    engine.dispose()


def test_import_reads_the_ncdd_workbook(new_database, tmp_path) -> None:
    """The official list comes as an .xlsx with one sheet per level; numeric cells lose leading zeros."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    sheets = {
        "cKhet": [(5, "កំពង់ស្ពឺ", "Kampong Speu")],
        "cSrok": [(501, "បរសេដ្ឋ", "Basedth")],
        "cKhum": [(50101, "បរសេដ្ឋ", "Basedth")],
        "cPhum": [(5010101, "ត្រពាំង", "Trapeang"), ("05010102", "ព្រៃ", "Prey")],
    }
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(["Code", "Name (Khmer)", "Name (Latin)"])
        for row in rows:
            sheet.append(row)
    path = tmp_path / "Gazetteer_KH_2024.xlsx"
    book.save(path)
    url = new_database("gazetteer_xlsx")
    seed_database(url, persons=10, random_seed=1, if_needed=False)
    assert "2 villages" in import_file(url, str(path))
    engine = make_engine(url)
    with engine.connect() as connection:
        units = {row.code: row for row in connection.execute(select(GazetteerUnit))}
    engine.dispose()
    assert units["0501"].name_en == "Basedth" and units["0501"].parent_code == "05"
    assert units["05010101"].name_km == "ត្រពាំង" and units["05010101"].level == "village"
    assert not units["05010102"].synthetic
    broken = tmp_path / "broken.xlsx"
    book.remove(book["cPhum"])
    book.save(broken)
    with pytest.raises(ValueError, match="missing sheet"):
        import_file(url, str(broken))


def test_bad_files_are_refused(new_database, tmp_path) -> None:
    url = new_database("gazetteer_bad")
    orphan = tmp_path / "orphan.csv"
    orphan.write_text("code,name_km,name_en\n120101,ស្រះចក,Srah Chak\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no parent"):
        import_file(url, str(orphan))
    columns = tmp_path / "columns.csv"
    columns.write_text("id,name\n12,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column"):
        import_file(url, str(columns))
    odd = tmp_path / "odd.csv"
    odd.write_text("code,name_km,name_en\n123,x,y\n", encoding="utf-8")
    with pytest.raises(ValueError, match="2, 4, 6 or 8"):
        import_file(url, str(odd))
