"""Rebuild the Chinese tables shipped in ``layers/data/china/`` from their sources.

Reads the full tables (``../shared/data/china/`` next to the project by default, or the
folder given as the first argument) and writes only the columns :mod:`layers.china.data`
uses. The sources, commits and licences are in ``layers/data/china/SOURCES.md``.

Run: ``python scripts/data/build_china_tables.py [SOURCE_FOLDER]``
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "layers" / "data" / "china"

#: The seven universities added in the second round of the Double First-Class list (Ministry
#: of Education, February 2022); the 2017 flags of the source table do not carry them.
DFC_2022_ADDITIONS: tuple[str, ...] = (
    "山西大学",
    "湘潭大学",
    "南京医科大学",
    "南方科技大学",
    "上海科技大学",
    "华南农业大学",
    "广州医科大学",
)

LEVELS = {"省级": "province", "地级": "prefecture", "县级": "county"}


def build(src: Path) -> None:
    """Write the reduced tables from the full ones in ``src``."""
    OUT.mkdir(parents=True, exist_ok=True)
    uni = pd.read_csv(src / "universities.csv", dtype=str, keep_default_na=False)
    missing = sorted(set(DFC_2022_ADDITIONS) - set(uni["name"]))
    if missing:
        raise SystemExit(f"2022 Double First-Class additions not in the table: {missing}")
    uni["dfc"] = (uni["dfc_2017"] == "1") | uni["name"].isin(DFC_2022_ADDITIONS)
    uni["dfc"] = uni["dfc"].astype(int)
    uni = uni.rename(columns={"lon_wgs84": "lon", "lat_wgs84": "lat"})
    cols = ["name", "campus", "province", "city", "school_type", "is985", "is211", "dfc"]
    uni[[*cols, "lon", "lat"]].to_csv(OUT / "universities.csv", index=False)

    pref = pd.read_csv(src / "prefecture_census_2020.csv", dtype=str, keep_default_na=False)
    pref = pref.rename(
        columns={
            "city": "name",
            "popu_2020": "population",
            "popu_urban_2020": "urban_population",
            "centroid_lon_wgs84": "lon",
            "centroid_lat_wgs84": "lat",
        }
    )
    cols = ["city_code", "name", "province", "province_code", "population", "urban_population"]
    pref[[*cols, "lon", "lat"]].to_csv(OUT / "prefecture_census_2020.csv", index=False)

    county = pd.read_csv(src / "county_census_2020.csv", dtype=str, keep_default_na=False)
    county = county.rename(
        columns={"CODE": "code", "NAME": "name", "POPU": "population", "POPU_URB": "urban_share"}
    )
    county[["code", "name", "population", "urban_share"]].to_csv(
        OUT / "county_census_2020.csv", index=False
    )

    codes = pd.read_csv(src / "areacodes.csv", dtype=str, keep_default_na=False)
    codes = codes[codes["状态"] == "在用"]
    codes = pd.DataFrame(
        {
            "code": codes["代码"],
            "province": codes["一级行政区"],
            "prefecture": codes["二级行政区"],
            "name": codes["名称"],
            "level": codes["级别"].map(LEVELS),
        }
    )
    codes.to_csv(OUT / "areacodes.csv", index=False)

    metro = pd.read_csv(src / "metro_stations.csv", dtype=str, keep_default_na=False)
    metro = metro.rename(columns={"lon_wgs84": "lon", "lat_wgs84": "lat"})
    metro[["city", "city_en", "name", "lines", "lon", "lat"]].to_csv(
        OUT / "metro_stations.csv", index=False
    )
    shutil.copyfile(
        src / "universities.LICENSE-MPL-2.0.txt", OUT / "universities.LICENSE-MPL-2.0.txt"
    )


if __name__ == "__main__":
    default = ROOT.parent / "shared" / "data" / "china"
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
