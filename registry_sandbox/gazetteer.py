"""The administrative-division gazetteer: 25 real provinces and, below them, either a generated set
clearly marked synthetic or the official NCDD/MoI coded list imported with `chumnuoy gazetteer import`.

Provinces (codes 01–25, Khmer and Latin names) come from reference programmes.md d.1; `location` is
the sandbox's region of each province (central_region, tonle_sap_region, coastal_region,
northeast_region), a sandbox choice used by the `location` query attribute. Synthetic units are
named "ស្រុកគំរូ ១ / Synthetic District 1" (in Phnom Penh "ខណ្ឌគំរូ / Synthetic Khan"), flagged
`synthetic=True` and versioned `SYNTHETIC_VERSION`. Codes follow the NCDD scheme (district 4 digits,
commune 6, village 8, each prefixed by its parent).

Importing replaces the gazetteer table only; households keep their codes until the next seeding,
which uses the imported villages (see seed.py).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, delete, insert, select

from chumnuoy.db import make_engine
from chumnuoy.digits import to_khmer_digits
from registry_sandbox.models import GazetteerUnit, create_schema

SYNTHETIC_VERSION = "synthetic-2026.1"
_DATA = Path(__file__).parent / "data"
_LEVELS = {2: "province", 4: "district", 6: "commune", 8: "village"}


@dataclass(frozen=True)
class Province:
    code: str
    name_km: str
    name_en: str
    location: str


def provinces() -> tuple[Province, ...]:
    with (_DATA / "provinces.csv").open(encoding="utf-8") as handle:
        return tuple(Province(**row) for row in csv.DictReader(handle))


def province_locations() -> dict[str, str]:
    return {province.code: province.location for province in provinces()}


def synthetic_units() -> list[dict]:
    """The generated gazetteer (fixed, independent of the seeding's random seed)."""
    rng = random.Random("chumnuoy-synthetic-gazetteer-1")
    units: list[dict] = []

    def add(code: str, level: str, parent: str | None, km: str, en: str, synthetic: bool) -> None:
        units.append({"code": code, "level": level, "parent_code": parent, "name_km": km,
                      "name_en": en, "synthetic": synthetic, "version": SYNTHETIC_VERSION})

    for province in provinces():
        add(province.code, "province", None, province.name_km, province.name_en, False)
        capital = province.code == "12"
        district_km, district_en = ("ខណ្ឌគំរូ", "Synthetic Khan") if capital else ("ស្រុកគំរូ", "Synthetic District")
        commune_km, commune_en = ("សង្កាត់គំរូ", "Synthetic Sangkat") if capital else ("ឃុំគំរូ", "Synthetic Commune")
        for d in range(1, rng.randint(4, 8) + 1):
            district = f"{province.code}{d:02d}"
            add(district, "district", province.code, f"{district_km} {to_khmer_digits(str(d))}",
                f"{district_en} {d}", True)
            for c in range(1, rng.randint(3, 6) + 1):
                commune = f"{district}{c:02d}"
                add(commune, "commune", district, f"{commune_km} {to_khmer_digits(str(c))}",
                    f"{commune_en} {c}", True)
                for v in range(1, rng.randint(3, 7) + 1):
                    add(f"{commune}{v:02d}", "village", commune, f"ភូមិគំរូ {to_khmer_digits(str(v))}",
                        f"Synthetic Village {v}", True)
    return units


def ensure_gazetteer(connection: Connection) -> None:
    """Load the synthetic gazetteer when the table holds no village yet."""
    has_village = connection.execute(
        select(GazetteerUnit.code).where(GazetteerUnit.level == "village").limit(1)
    ).first()
    if has_village is None:
        connection.execute(delete(GazetteerUnit))
        connection.execute(insert(GazetteerUnit), synthetic_units())


def load_units(connection: Connection) -> dict[str, dict]:
    """Every unit by code."""
    rows = connection.execute(select(GazetteerUnit.__table__)).mappings()
    return {row["code"]: dict(row) for row in rows}


def _read_csv(path: Path) -> list[tuple[str, str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"code", "name_km", "name_en"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path.name}: missing column(s) {', '.join(sorted(missing))}")
        return [(row["code"].strip(), row["name_km"].strip(), row["name_en"].strip()) for row in reader]


def _read_xlsx(path: Path) -> list[tuple[str, str, str]]:
    """The 2024 NCDD workbook (sheets cKhet, cSrok, cKhum, cPhum; a header row, then the first three
    columns code, Khmer name, Latin name)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    missing = [sheet for sheet in ("cKhet", "cSrok", "cKhum", "cPhum") if sheet not in book.sheetnames]
    if missing:
        raise ValueError(f"{path.name}: missing sheet(s) {', '.join(missing)}")
    rows: list[tuple[str, str, str]] = []
    for sheet in ("cKhet", "cSrok", "cKhum", "cPhum"):
        for values in book[sheet].iter_rows(min_row=2, values_only=True):
            if values and values[0] is not None:
                code = str(values[0]).strip()
                if code.isdigit() and len(code) in (1, 3, 5, 7):  # codes stored as numbers lose a 0
                    code = "0" + code
                rows.append((code, str(values[1] or "").strip(), str(values[2] or "").strip()))
    return rows


def import_file(database_url: str, path: str) -> str:
    """Replace the gazetteer with an official coded list (CSV `code,name_km,name_en`; level from the
    code length 2/4/6/8). Imported units are marked non-synthetic with version `ncdd-<file>-<date>`."""
    file = Path(path)
    rows = _read_xlsx(file) if file.suffix.lower() == ".xlsx" else _read_csv(file)
    version = f"ncdd-{file.stem}-{date.today().isoformat()}"[:60]
    units: dict[str, dict] = {}
    for code, name_km, name_en in rows:
        if not code.isdigit() or len(code) not in _LEVELS:
            raise ValueError(f"{file.name}: code {code!r} is not 2, 4, 6 or 8 digits")
        units[code] = {"code": code, "level": _LEVELS[len(code)],
                       "parent_code": code[:-2] if len(code) > 2 else None,
                       "name_km": name_km, "name_en": name_en, "synthetic": False, "version": version}
    for unit in units.values():
        if unit["parent_code"] and unit["parent_code"] not in units:
            raise ValueError(f"{file.name}: unit {unit['code']} has no parent {unit['parent_code']}")
    known = {province.code: province for province in provinces()}
    for code, province in known.items():  # keep the real provinces when the list has none
        units.setdefault(code, {"code": code, "level": "province", "parent_code": None,
                                "name_km": province.name_km, "name_en": province.name_en,
                                "synthetic": False, "version": version})
    engine = make_engine(database_url)
    try:
        create_schema(engine)
        with engine.begin() as connection:
            connection.execute(delete(GazetteerUnit))
            connection.execute(insert(GazetteerUnit), list(units.values()))
    finally:
        engine.dispose()
    counts = {level: sum(1 for u in units.values() if u["level"] == level) for level in _LEVELS.values()}
    return (f"gazetteer {version}: {counts['province']} provinces, {counts['district']} districts, "
            f"{counts['commune']} communes, {counts['village']} villages (synthetic units replaced; "
            f"re-seed the registry to place households in them)")
