"""Output languages: one table of every user-facing output text in English and Chinese.

Reports, run summaries, map titles, legends, layer names, popups, chart labels, QGIS
layer names and field aliases all take their words from :data:`TEXTS` through
:func:`text`. The Chinese terms of the factors and tiers are those of Zhang (2022)
(国际科技创新中心, 高校集中区, 中心城区边缘 …); where the paper is silent, the usual
terms of Chinese planning practice.

The language of a run is ``"en"`` or ``"zh"`` (:data:`LANGS`); by default it follows
the locale (:func:`default_lang`). The command line's own help stays English.

Charts and HTML pages need a font with Chinese glyphs: :func:`cjk_font_path` is a
subset of Noto Sans CJK SC (SIL Open Font License 1.1) shipped with the package,
:func:`chart_font_families` the matplotlib font list that uses it after any CJK
font the system has, and :func:`font_face_css` an ``@font-face`` rule embedding just
the characters a page uses.

Examples
--------
>>> text("report.weights", "zh")
'权重'
>>> text("report.cell_size_value", "en", size=25)
'25 m'
>>> localise("University districts", "zh")
'高校集中区'
>>> localise("My own factor", "zh")
'My own factor'
"""

from __future__ import annotations

import base64
import functools
import os
import string
from collections.abc import Mapping
from pathlib import Path

from gis.errors import InputError

__all__ = [
    "CJK_FONT_FAMILY",
    "CSS_FONT_LIST",
    "LANGS",
    "TEXTS",
    "chart_font_families",
    "check_lang",
    "cjk_characters",
    "cjk_font_path",
    "default_lang",
    "font_face_css",
    "localise",
    "page_font_css",
    "placeholders",
    "text",
    "tier_label",
]

#: The languages of the outputs.
LANGS: tuple[str, ...] = ("en", "zh")

#: Family name of the bundled CJK font (in charts and in the ``@font-face`` of pages).
CJK_FONT_FAMILY = "innosite CJK Sans"

_FONT_FILE = Path(__file__).parent / "data" / "innosite-cjk-sans.otf"

# key: (English, Chinese). Placeholders ({name}) are the same in both languages.
_PAIRS: dict[str, tuple[str, str]] = {
    # ---- run titles and scales
    "title.micro": ("Innovation-district suitability", "创新街区选址适宜性"),
    "title.meso": ("Innovation-centre suitability (meso)", "科技创新中心选址适宜性（中观）"),
    "title.national": (
        "Innovation-centre suitability (national)",
        "科技创新中心选址适宜性（全国）",
    ),
    "title.scale": ("Innovation-centre suitability ({scale})", "科技创新中心选址适宜性（{scale}）"),
    "scale.micro": ("micro", "微观"),
    "scale.meso": ("meso", "中观"),
    "scale.national": ("national", "全国"),
    "scale.macro": ("macro", "宏观"),
    "sites.micro": ("districts", "街区"),
    "sites.other": ("zones", "区域"),
    # ---- report.html
    "report.page_title": ("{title} — report", "{title}——报告"),
    "report.subtitle": (
        "innosite {version} {scale} run, {stamp}",
        "innosite {version} {scale}尺度运行，{stamp}",
    ),
    "report.data": ("data", "数据"),
    "report.region": ("region", "区域"),
    "report.city_centre": ("city centre", "城市中心"),
    "report.grid": ("grid", "网格"),
    "report.command": ("command", "命令"),
    "report.osm_date": ("OSM data date {date}", "OSM 数据日期 {date}"),
    "report.unknown": ("unknown", "未知"),
    "report.grid_text": (
        "{height} × {width} cells of {cell} m in {crs}; {inside} cells in the area, "
        "{valid} scored ({excluded} excluded by constraints)",
        "{height} × {width} 个 {cell} 米网格（{crs}）；研究区内 {inside} 个，已评分 {valid} 个"
        "（约束排除 {excluded} 个）",
    ),
    "report.what_to_open": ("What to open", "成果文件"),
    "report.open_map": ("interactive map (browser)", "交互式地图（浏览器打开）"),
    "report.open_suitability": (
        "composite suitability GeoTIFF (QGIS, ArcGIS)",
        "综合适宜性 GeoTIFF（QGIS、ArcGIS）",
    ),
    "report.open_candidates": (
        "candidate {sites} GeoPackage (QGIS, ArcGIS)",
        "候选{sites} GeoPackage（QGIS、ArcGIS）",
    ),
    "report.open_project": (
        "QGIS project: every output as a styled layer",
        "QGIS 工程：全部成果图层，已配样式",
    ),
    "report.open_manifest": (
        "manifest: inputs, parameters, versions, checksums",
        "运行清单：输入、参数、版本、校验和",
    ),
    "report.composite_heading": (
        "Composite suitability and candidate {sites}",
        "综合适宜性与候选{sites}",
    ),
    "report.composite_label": (
        "composite suitability with candidate {sites}",
        "综合适宜性与候选{sites}",
    ),
    "report.composite_caption": (
        "Weighted overlay of the factor scores; nodata (grey) outside the area and on "
        "constraints; candidate {sites} outlined in red with their rank.",
        "各因子得分的加权叠加；研究区外与约束范围为无数据（灰色）；候选{sites}以红线勾绘并标注排名。",
    ),
    "report.legend_low": ("0 least suitable", "0 最不适宜"),
    "report.legend_high": ("1 most", "1 最适宜"),
    "report.candidates_heading": ("Candidate {sites}", "候选{sites}"),
    "report.weights": ("Weights", "权重"),
    "report.weights_intro": (
        "Factor weights as given and as used: normalised to sum 1 over the factors that "
        "could be scored.",
        "设定的因子权重与实际使用的权重：在可评分的因子间归一化，总和为 1。",
    ),
    "report.coverage": ("Factor coverage", "因子数据覆盖"),
    "report.coverage_intro": (
        "Features each criterion found in the area (OpenStreetMap, the run's packaged "
        "sources or your own). An empty criterion is a finding, not an error: it is "
        "handled by the rule shown.",
        "各评价准则在研究区内找到的要素（OpenStreetMap、随包数据或用户数据）。"
        "没有要素的准则是一项发现而非错误，按所示规则处理。",
    ),
    "report.factor_scores": ("Factor scores", "因子得分"),
    "report.parameters": ("Parameters", "参数"),
    "report.footer": (
        "Map data © OpenStreetMap contributors (ODbL 1.0). Factors after Zhang W Z (2022), "
        "Bulletin of Chinese Academy of Sciences 37(12): 1745–1756.",
        "地图数据 © OpenStreetMap 贡献者（ODbL 1.0）。因子依据张文忠（2022）"
        "《中国不同层级科技创新中心的布局与政策建议》，中国科学院院刊 37(12): 1745–1756。",
    ),
    "report.col_factor": ("factor", "因子"),
    "report.col_title": ("title", "名称"),
    "report.col_weight_given": ("weight given", "设定权重"),
    "report.col_weight_used": ("weight used", "实际权重"),
    "report.col_status": ("status", "状态"),
    "report.col_features": ("features", "要素数"),
    "report.col_criterion": ("criterion", "评价准则"),
    "report.col_measure": ("measure", "度量"),
    "report.col_units": ("units", "单位"),
    "report.col_note": ("note", "说明"),
    "report.empty_rule": ("empty → {rule}", "无要素 → {rule}"),
    "report.too_few": ("too few → left out", "要素过少 → 不参与"),
    "report.checks_heading": ("Data coverage and conditions", "数据覆盖与约束条件"),
    "report.checks_intro": (
        "Cells with nothing mapped nearby are no data, not good: they are nodata in the "
        "suitability, never candidates, and hatched grey in map.html (coverage.tif: 1 data, "
        "0 none). A condition is a factor that must reach its minimum whatever the weighted sum.",
        "附近没有任何已测绘要素的栅格视为无数据，而非适宜：它们在适宜性图中为空值，不会成为候选地，"
        "并在 map.html 中以灰色斜线显示（coverage.tif：1 有数据，0 无数据）。约束条件是无论加权和"
        "多高都必须达到最低分的因子。",
    ),
    "report.profile": ("strongest: {strong}; weakest: {weak}", "最强：{strong}；最弱：{weak}"),
    "report.no_candidates": (
        "No candidate {site} met the rules (top percent or threshold, minimum area).",
        "没有满足规则（最高百分比或阈值、最小面积）的候选{site}。",
    ),
    "report.candidates_intro": (
        "{n} candidate {sites}; the best {shown} with the mean score of every factor over "
        "the {site} (its factor profile).",
        "共 {n} 个候选{sites}；列出最好的 {shown} 个及其范围内各因子的平均得分（因子画像）。",
    ),
    "report.candidate_note": (
        "{Site} {rank} ({area} ha): {profile}",
        "{Site} {rank}（{area} 公顷）：{profile}",
    ),
    "report.site_micro": ("district", "街区"),
    "report.site_other": ("zone", "区域"),
    "report.col_rank": ("rank", "排名"),
    "report.col_area": ("area (ha)", "面积（公顷）"),
    "report.col_mean": ("mean score", "平均得分"),
    "report.col_max": ("max score", "最高得分"),
    "report.weight_caption": ("weight {weight}", "权重 {weight}"),
    "param.cell_size": ("cell size", "网格大小"),
    "report.cell_size_value": ("{size} m", "{size} 米"),
    "param.candidate_cells": ("candidate cells", "候选网格"),
    "param.threshold_value": ("score ≥ {threshold}", "得分 ≥ {threshold}"),
    "param.top_percent_value": ("best {percent} % of cells", "得分最高的 {percent}% 网格"),
    "param.smallest": ("smallest {site}", "最小{site}"),
    "param.smallest_value": (
        "{area} ha ({connectivity}-connected)",
        "{area} 公顷（{connectivity} 邻接）",
    ),
    "param.empty_rule": ("factors without features", "无要素因子的处理"),
    "param.aggregation": ("aggregation", "叠加方法"),
    "param.constraints": ("water and railway constraints", "水体与铁路约束"),
    "param.exclude_file": ("exclusion file", "排除范围文件"),
    "word.on": ("on", "开"),
    "word.off": ("off", "关"),
    "word.none": ("none", "无"),
    "word.yes": ("yes", "是"),
    "word.no": ("no", "否"),
    # ---- run summary (terminal)
    "summary.data": (
        "Data: {kind} {where} (OSM data date {date})",
        "数据：{kind} {where}（OSM 数据日期 {date}）",
    ),
    "summary.grid": (
        "Grid: {height} x {width} cells of {cell} m in {crs}; {inside} cells in the area",
        "网格：{height} x {width} 个 {cell} 米网格（{crs}）；研究区内 {inside} 个",
    ),
    "summary.network": (
        "Walking network: {nodes} nodes, {edges} edges",
        "步行网络：{nodes} 个节点，{edges} 条边",
    ),
    "summary.centre": (
        "City centre: {lon}, {lat} ({method})",
        "城市中心：{lon}, {lat}（{method}）",
    ),
    "summary.coverage": (
        "Factor coverage (features found in the area):",
        "因子数据覆盖（研究区内找到的要素）：",
    ),
    "summary.candidates": ("Candidate districts: {n}", "候选街区：{n}"),
    "summary.col_ha": ("ha", "公顷"),
    "summary.col_score": ("score", "得分"),
    "summary.col_weight": ("weight", "权重"),
    "summary.outputs": ("Outputs:", "成果："),
    "summary.counts": (
        "{n_score} {noun} score GeoTIFFs and {n_raw} raw measures in {folder}",
        "{folder} 中有 {n_score} 个{noun}得分 GeoTIFF 和 {n_raw} 个原始度量",
    ),
    "summary.noun_factor": ("factor", "因子"),
    "summary.noun_layer": ("layer", "图层"),
    "summary.open": (
        "Open {map} in a browser; open project.qgz (or the .tif/.gpkg files) in QGIS.",
        "在浏览器中打开 {map}；在 QGIS 中打开 project.qgz 或 .tif/.gpkg 文件。",
    ),
    # ---- meso and national run summaries (terminal)
    "summary.region": ("Region: {name} - {source}", "区域：{name} - {source}"),
    "summary.area": ("Area: {name} - {source}", "范围：{name} - {source}"),
    "summary.grid_region": (
        "Grid: {height} x {width} cells of {cell} m in {crs}; {inside} cells in the region",
        "网格：{height} x {width} 个 {cell} 米网格（{crs}）；区域内 {inside} 个",
    ),
    "summary.grid_national": (
        "Grid: {height} x {width} cells of {cell} m in {crs} ({millions} M cells, {inside} in "
        "the area)",
        "网格：{height} x {width} 个 {cell} 米网格（{crs}；共 {millions} 百万个，"
        "范围内 {inside} 个）",
    ),
    "summary.engine": (
        "Engine: {engine}; windows: {measures} (measures), {scores} (scores); seconds: {seconds}",
        "计算引擎：{engine}；分块数：{measures}（度量），{scores}（得分）；耗时（秒）：{seconds}",
    ),
    "summary.layers_used": (
        "Layers (which were available and what they used):",
        "图层（是否可用及所用数据）：",
    ),
    "summary.layers": ("Layers:", "图层："),
    "summary.col_layer": ("layer", "图层"),
    "summary.col_status": ("status", "状态"),
    "summary.col_note": ("source / note", "数据来源 / 说明"),
    "summary.col_km2": ("km2", "平方公里"),
    "summary.col_nearest_city": ("nearest city", "最近城市"),
    "summary.col_km": ("km", "公里"),
    "summary.col_macro_centre": ("macro centre", "所属科技创新中心"),
    "summary.candidate_zones": ("Candidate zones: {n}", "候选区域：{n}"),
    "summary.note_line": ("note: {note}", "说明：{note}"),
    "summary.warning_line": ("warning: {message}", "警告：{message}"),
    "status.ok": ("used", "已使用"),
    "status.unavailable": ("not available", "不可用"),
    "status.drop": ("empty -> dropped", "无要素 -> 不参与"),
    "status.zero": ("empty -> 0", "无要素 -> 记为 0"),
    # ---- meso and national map notes
    "note.region": ("Region: {name} ({source})", "区域：{name}（{source}）"),
    "note.area": ("Area: {name} ({source})", "范围：{name}（{source}）"),
    "note.grid": (
        "Grid: {width} x {height} cells of {cell} m",
        "网格：{width} x {height} 个 {cell} 米网格",
    ),
    "note.layer_used": ("{title}: used (weight {weight})", "{title}：已使用（权重 {weight}）"),
    "note.layer_other": ("{title}: {status} - {note}", "{title}：{status}；说明：{note}"),
    "note.osm_source": (", OpenStreetMap (ODbL)", "、OpenStreetMap 贡献者（ODbL）"),
    "note.water_source": (", Natural Earth (public domain)", "、Natural Earth（公有领域）"),
    "note.water": (
        "Water: {share} of the region lies on Natural Earth lakes and rivers and is left out",
        "水域：研究区的 {share} 位于 Natural Earth 湖泊与河流上，已排除",
    ),
    "note.data_meso": (
        "Data: GeoNames (CC BY 4.0), airportsdata (MIT){osm}; centres after Zhang (2022)",
        "数据：GeoNames（CC BY 4.0）、airportsdata（MIT）{osm}；科技创新中心依据张文忠（2022）",
    ),
    "note.data_national": (
        "Data: GeoNames (CC BY 4.0), airportsdata (MIT); centres after Zhang (2022)",
        "数据：GeoNames（CC BY 4.0）、airportsdata（MIT）；科技创新中心依据张文忠（2022）",
    ),
    # ---- maps and QGIS layers
    "map.composite": ("Composite suitability", "综合适宜性"),
    "map.legend": ("Suitability (0 = least, 1 = most)", "适宜性（0 = 最低，1 = 最高）"),
    "map.candidates": ("Candidate sites", "候选地块"),
    "map.rank": ("Rank", "排名"),
    "layer.suitability": ("Suitability", "适宜性"),
    "group.factor": ("Factor scores", "因子得分"),
    "group.raw": ("Raw measures", "原始度量"),
    "group.decision": ("Decision outputs", "决策分析"),
    "decision.mean": ("Mean score over weight draws", "权重抽样平均得分"),
    "decision.std": ("Score spread (std)", "得分离散度（标准差）"),
    "decision.probability": ("Probability of selection", "入选概率"),
    "decision.probability_draws": (
        "Probability of selection ({draws} weight draws)",
        "入选概率（{draws} 次权重抽样）",
    ),
    "decision.spread_stretched": (
        "Score spread (std, 0–{top} stretched)",
        "得分离散度（标准差，按 0–{top} 拉伸显示）",
    ),
    "field.rank": ("Rank", "排名"),
    "field.area_ha": ("Area (ha)", "面积（公顷）"),
    "field.n_cells": ("Cells", "网格数"),
    "field.mean_score": ("Mean suitability", "平均适宜性"),
    "field.max_score": ("Max suitability", "最高适宜性"),
    "field.factor_mean": ("{title} (mean score)", "{title}（平均得分）"),
    "map.overview_note": (
        "Map shown at {km} km cells (overviews)",
        "地图以 {km} 公里网格显示（概览）",
    ),
    "note.osm": (
        "Map data © OpenStreetMap contributors (ODbL)",
        "地图数据 © OpenStreetMap 贡献者（ODbL）",
    ),
    # ---- factors (micro: paper sec. 2.3; meso and national: sec. 2.2)
    "factor.university": ("University districts", "高校集中区"),
    "factor.amenity": ("Face-to-face exchange", "便于面对面交流的区域"),
    "factor.transit": ("Transit access", "交通便利"),
    "factor.green_quiet": ("Green and quiet", "环境舒适宜人、安静"),
    "factor.edge": ("Edge of the central city", "中心城区边缘"),
    "factor.low_density": ("Low building density", "低密度建筑"),
    "factor.culture": ("Culture and heritage", "文化和艺术集聚区、传统建筑区域"),
    "factor.ecosystem": ("Innovation ecosystem", "高技术企业与风险投资、法律和咨询公司集聚"),
    "factor.hubs": ("Transport hubs", "交通枢纽"),
    "factor.market": ("Market potential", "市场潜力"),
    "factor.city_size": ("City size", "城市规模"),
    "factor.diversity": ("Industrial diversity", "多元化的产业体系"),
    "factor.liveability": ("Liveability", "宜居的人居环境"),
    "factor.universities": ("Universities", "高校"),
    "factor.metro": ("Metro access", "地铁可达性"),
    "factor.macro": ("Macro hierarchy", "科技创新中心层级"),
    # ---- criteria (what each measures)
    "criterion.university_walk": (
        "walking distance to the nearest university, college or institute",
        "到最近高校、学院或研究机构的步行距离",
    ),
    "criterion.amenity_density": (
        "kernel density of cafés, restaurants, bars, libraries, coworking",
        "咖啡馆、餐馆、酒吧、图书馆、联合办公空间的核密度",
    ),
    "criterion.transit_walk": (
        "walking time to the nearest rail, metro or tram station or stop",
        "到最近铁路、地铁或有轨电车站点的步行时间",
    ),
    "criterion.green_walk": ("distance to parks, woods and water", "到公园、林地和水体的距离"),
    "criterion.major_road_distance": (
        "distance from motorways, trunk and primary roads",
        "与高速公路、快速路和主干路的距离",
    ),
    "criterion.center_distance": (
        "distance from the city centre (given, or the peak of POI density)",
        "与城市中心的距离（给定中心或 POI 密度峰值）",
    ),
    "criterion.building_coverage": (
        "share of ground covered by buildings within 200 m",
        "200 米范围内的建筑覆盖率",
    ),
    "criterion.culture_distance": (
        "distance to museums, theatres, arts centres and historic sites",
        "到博物馆、剧院、艺术中心和历史遗迹的距离",
    ),
    "criterion.office_density": (
        "kernel density of IT, research, finance, venture-capital, law and consulting "
        "offices and coworking",
        "信息技术、研发、金融、风险投资、法律和咨询机构及联合办公空间的核密度",
    ),
    "criterion.business_land_distance": (
        "distance to commercial, office and high-tech land use",
        "到商业、办公和高新技术用地的距离",
    ),
    "criterion.hub_access": (
        "access to airports, high-speed-rail and railway stations, ports, motorway junctions "
        "and metro stations, decaying with distance at a rate set by the hub class",
        "到机场、高铁站和火车站、港口、高速公路出入口和地铁站的可达性，随距离按枢纽等级衰减",
    ),
    "criterion.market_potential": (
        "population within reach: sum of P_j exp(-d_j / 25 km)",
        "可达人口（市场潜力）：Σ P_j exp(-d_j / 25 km)",
    ),
    "criterion.nearest_city": (
        "distance to the city that serves the cell best: the nearest city, a bigger one "
        "counting as nearer",
        "到服务该网格的最佳城市的距离：最近的城市，规模越大视为越近",
    ),
    "criterion.poi_diversity": (
        "Shannon entropy of kinds of firms and services within 2 km",
        "2 公里范围内企业和服务类型的香农熵",
    ),
    "criterion.landuse_diversity": (
        "Shannon entropy of land-use classes (by area) within 2 km",
        "2 公里范围内用地类型（按面积）的香农熵",
    ),
    "criterion.green_share": (
        "share of green and water within 1 km",
        "1 公里范围内绿地和水域的比例",
    ),
    "criterion.everyday_services": (
        "kernel density (1 km) of everyday services",
        "日常生活服务设施的核密度（1 公里）",
    ),
    "criterion.campus_density": (
        "quartic kernel density (5 km) of university campuses weighted by tier (985 8, 211 4, "
        "Double First-Class 3, other 1, vocational 0.25)",
        "按层级加权的高校校区四次核密度（5 公里；985 为 8，211 为 4，“双一流”为 3，其他为 1，"
        "高职为 0.25）",
    ),
    "criterion.metro_density": (
        "quartic kernel density (3 km) of metro stations",
        "地铁站的四次核密度（3 公里）",
    ),
    "criterion.centre_distance": (
        "distance to the nearest centre of the chosen tier or above",
        "到所选层级及以上最近科技创新中心的距离",
    ),
    # ---- macro: tiers (paper sec. 1 and Table 2), indicators (Table 1)
    "tier.international": ("international", "国际科技创新中心"),
    "tier.national": ("national", "国家科技创新中心"),
    "tier.regional": ("regional", "区域科技创新中心"),
    "tier.local": ("local", "地方科技创新中心"),
    "indicator.universities_double_first_class": (
        "Double First-Class universities",
        "“双一流”建设高校",
    ),
    "indicator.national_labs": ("National laboratories", "国家实验室"),
    "indicator.state_key_labs": ("State key laboratories", "全国重点实验室"),
    "indicator.research_institutions_share_pct": ("Research institutions", "研究机构"),
    "indicator.rd_intensity_pct": ("R&D intensity", "R&D 经费投入强度"),
    "indicator.pct_applications_share_pct": ("PCT patent applications", "PCT 专利申请量"),
    "indicator.patent_grants_share_pct": ("Patent grants", "专利授权量"),
    "indicator.maker_spaces_share_pct": ("Maker spaces", "众创空间"),
    "indicator.firms_with_rd_share_pct": ("Firms with R&D institutions", "有研发机构的企业"),
    "indicator.incubated_firms_share_pct": ("Incubated firms", "在孵高新技术企业"),
    "unit.count": ("count", "个"),
    "unit.% of China": ("% of China", "占全国 %"),
    "unit.% of GDP": ("% of GDP", "占 GDP %"),
    "macro.page_title": (
        "innosite macro: innovation centre tiers",
        "innosite 宏观：科技创新中心层级",
    ),
    "macro.project_title": ("Innovation centre tiers", "科技创新中心层级"),
    "macro.units_layer": ("Units by tier", "各层级单元"),
    "macro.index_layer": ("Index (circle size)", "综合指数（圆的大小）"),
    "macro.links_layer": ("Spillover links", "溢出联系"),
    "macro.links_some": (
        "Spillover links (strongest {shown} of {total})",
        "溢出联系（最强的 {shown} 条，共 {total} 条）",
    ),
    "macro.link_tooltip": (
        "{source} - {target}: {strength_class} {kind} link, strength {strength}",
        "{source} - {target}：{strength_class}{kind}联系，强度 {strength}",
    ),
    "macro.strong": ("strong", "强"),
    "link.field.source": ("From", "起点"),
    "link.field.target": ("To", "终点"),
    "link.field.strength": ("Strength", "联系强度"),
    "link.field.class": ("Strong or weak", "强弱"),
    "link.field.type": ("Kind of link", "联系类型"),
    "link.neighbourhood": ("neighbourhood", "邻近"),
    "link.peer": ("peer", "同级"),
    "link.hierarchical": ("hierarchical", "层级间"),
    "macro.weak": ("weak", "弱"),
    "macro.tier": ("Tier", "层级"),
    "macro.rank": ("Rank", "排名"),
    "macro.index": ("Index", "综合指数"),
    "macro.agreement": ("Method agreement", "方法一致性"),
    "macro.probability": ("P({tier})", "P（{tier}）"),
    "macro.paper_tier": ("Zhang (2022) tier", "张文忠（2022）层级"),
    "macro.indicator": ("Indicator", "指标"),
    "macro.value": ("value", "数值"),
    "macro.score": ("score", "得分"),
    "macro.note_paper": ("Data: Zhang (2022) Table 1. ", "数据：张文忠（2022）表 1。"),
    "macro.note_geometry": ("Geometry: {geometry}.", "几何：{geometry}。"),
    # ---- macro run summary (terminal)
    "mreport.head": (
        "Tiers of {n} units by {method} (GVF {gvf}); index breaks {breaks}",
        "{n} 个单元按 {method} 分级（GVF {gvf}）；指数分界 {breaks}",
    ),
    "mreport.rank": ("rank", "排名"),
    "mreport.unit": ("unit", "单元"),
    "mreport.index": ("index", "指数"),
    "mreport.tier": ("tier", "层级"),
    "mreport.paper": ("paper", "论文层级"),
    "mreport.agree": ("agree", "一致"),
    "mreport.more": ("… {n} more units in tiers.csv", "……另有 {n} 个单元见 tiers.csv"),
    "mreport.no": ("NO", "否"),
    "checks.coverage": (
        "Data coverage: {share} of the area has {rule}; {cells} cells ({none}) are no data "
        "and hold no candidate",
        "数据覆盖：{share} 的范围内有{rule}；{cells} 个栅格（{none}）无数据，不含候选地",
    ),
    "checks.applied": ("applied", "已应用"),
    "checks.not_applied": ("not applied (the factor has no score)", "未应用（该因子无得分）"),
    "checks.failing": (", {n} cells fail it", "，{n} 个栅格不满足"),
    "checks.condition": (
        "Condition: {factor} >= {min} (non-compensatory), {state}{more}",
        "约束条件：{factor} ≥ {min}（不可补偿），{state}{more}",
    ),
    "checks.warning": ("Warning: {message}", "警告：{message}"),
    "layer.coverage": ("Data coverage", "数据覆盖"),
    "map.no_data": ("No data (nothing mapped nearby)", "无数据（附近没有已测绘要素）"),
    "mreport.drivers": (
        "What drives the index (largest contributions, share of each unit's index):",
        "指数的主要构成（贡献最大的指标及其占该单元指数的比例）：",
    ),
    "mreport.reproduced": (
        "Table 2 of Zhang (2022) reproduced by the chosen method: {answer}",
        "所选方法是否复现张文忠（2022）表 2：{answer}",
    ),
    "mreport.reproducing": (
        "Method combinations reproducing Table 2: {n} of {total}",
        "复现表 2 的方法组合：{n} / {total}",
    ),
    "mreport.not_reproducing": (
        "Not reproducing: {n} (by breaks: {by_breaks}); every combination and its differing "
        "units are in methods.csv",
        "未复现：{n}（按分级方法：{by_breaks}）；每种组合及其不同的单元见 methods.csv",
    ),
    "mreport.same_tiers": (
        "Method combinations giving the same tiers: {n} of {total}",
        "得到相同分级的方法组合：{n} / {total}",
    ),
    "mreport.failed": (
        "Combinations that could not run: {n} (see methods.csv)",
        "无法运行的组合：{n}（见 methods.csv）",
    ),
    "mreport.perturbation": (
        "Weight perturbation (Dirichlet, {draws} draws, concentration {concentration}, seed "
        "{seed}): {share}% of draws give exactly these tiers",
        "权重扰动（Dirichlet 分布，{draws} 次抽样，集中度 {concentration}，随机种子 {seed}）："
        "{share}% 的抽样得到完全相同的分级",
    ),
    "mreport.least_stable": ("Least stable: ", "最不稳定："),
    "mreport.all_stable": (
        "Every unit keeps its tier in at least 95% of draws.",
        "每个单元在至少 95% 的抽样中保持其层级。",
    ),
    "mreport.pca": (
        "(the first principal component does not use the weights, so perturbing them cannot "
        "change the tiers)",
        "（第一主成分不使用权重，扰动权重不会改变分级）",
    ),
    "mreport.links": (
        "Spillover links: {n} ({strong} strong)",
        "溢出联系：{n} 条（强联系 {strong} 条）",
    ),
    "mreport.outputs": ("Outputs in {folder}: {files}", "成果位于 {folder}：{files}"),
    "chart.title": ("Innovation centre tiers (GVF {gvf})", "科技创新中心层级（GVF {gvf}）"),
    "chart.ranked": ("units, ranked by index", "单元（按综合指数排序）"),
    "chart.legend": ("tier", "层级"),
    "chart.xlabel": (
        "composite index (dashed lines: tier breaks, drawn midway between tiers)",
        "综合指数（虚线：层级分界，画在相邻层级之间）",
    ),
}

#: Every output text: key -> language -> text (:data:`LANGS` all present).
TEXTS: dict[str, dict[str, str]] = {
    key: dict(zip(LANGS, pair, strict=True)) for key, pair in _PAIRS.items()
}

#: English text -> key, for texts given in English by callers (factor titles, notes); an
#: English text with two translations ("national": a scale, a tier) is not looked up.
_BY_ENGLISH: dict[str, str] = {
    en: key
    for key, (en, zh) in _PAIRS.items()
    if all(z == zh for e, z in _PAIRS.values() if e == en)
}


def check_lang(lang: object) -> str:
    """``lang`` if it is one of :data:`LANGS`, else an :class:`~gis.errors.InputError`.

    Examples
    --------
    >>> check_lang("zh")
    'zh'
    """
    if lang not in LANGS:
        raise InputError(f"lang must be one of {', '.join(LANGS)}; got {lang!r}")
    return str(lang)


def default_lang(environ: Mapping[str, str] | None = None) -> str:
    """The language of the locale: ``"zh"`` when it is Chinese, else ``"en"``.

    The locale is the first set of ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` (as the
    C library reads them); ``zh_CN.UTF-8``, ``zh_TW`` or ``zh`` give Chinese.

    Examples
    --------
    >>> default_lang({"LANG": "zh_CN.UTF-8"}), default_lang({"LANG": "de_DE.UTF-8"})
    ('zh', 'en')
    >>> default_lang({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"})
    'en'
    """
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def text(key: str, lang: str, /, **values: object) -> str:
    """The text ``key`` in ``lang``, with ``values`` filled into its placeholders.

    Raises
    ------
    KeyError
        For a key that is not in :data:`TEXTS` (a programming error).
    """
    template = TEXTS[key][check_lang(lang)]
    return template.format(**values) if values else template


def localise(english: str, lang: str) -> str:
    """The ``lang`` text of an English output text, or the text unchanged if unknown.

    Names a user chose (a factor title of a scenario, a custom map title) have no
    entry and stay as they are.
    """
    key = _BY_ENGLISH.get(english)
    return english if key is None or "{" in english else text(key, lang)


def tier_label(tier: str, lang: str) -> str:
    """The name of a tier in ``lang`` (the paper's term for the four named tiers).

    Examples
    --------
    >>> tier_label("regional", "zh"), tier_label("tier 5", "zh")
    ('区域科技创新中心', 'tier 5')
    """
    key = f"tier.{tier}"
    return text(key, lang) if key in TEXTS else tier


def placeholders(template: str) -> set[str]:
    """The placeholder names of a template (``{name}``)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# ---------------------------------------------------------------------------- fonts
def cjk_characters(value: str) -> str:
    """The distinct CJK characters (U+2E80 and above) of ``value``, sorted.

    Characters written as JavaScript or JSON escapes (``\\u4eac``, as folium writes
    layer names and popups) count too.

    Examples
    --------
    >>> cjk_characters("北京 Beijing（京）")
    '京北（）'
    >>> cjk_characters(r'{"name": "\\u4eac"}')
    '京'
    """
    import re

    escaped = {chr(int(h, 16)) for h in re.findall(r"\\u([0-9a-fA-F]{4})", value)}
    return "".join(sorted(c for c in {*value, *escaped} if ord(c) >= 0x2E80))


def cjk_font_path() -> Path:
    """The bundled CJK font: a subset of Noto Sans CJK SC (OFL 1.1).

    It covers every character of GB 2312 (the 6,763 common Chinese characters and
    the symbols and full-width forms), ASCII and the characters of this package's
    texts and tables; ``layers/data/innosite-cjk-sans.txt`` names its origin and licence.
    """
    return _FONT_FILE


@functools.cache
def _register_font() -> str:
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(_FONT_FILE))
    return font_manager.FontProperties(fname=str(_FONT_FILE)).get_name()


#: CJK fonts a system may have, preferred to the bundled subset (they cover every character).
_SYSTEM_CJK = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Microsoft YaHei",
    "PingFang SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei",
)  # fmt: skip


def chart_font_families(*, system: bool = True) -> list[str]:
    """Font families for matplotlib text that may hold Chinese: Latin first, then CJK.

    matplotlib (3.6 and later) takes each glyph from the first family of the list that
    has it: DejaVu Sans for Latin text, a CJK font of the system if there is one
    (``system``), then the bundled subset (:func:`cjk_font_path`).
    """
    from matplotlib import font_manager

    bundled = _register_font()
    names = {f.name for f in font_manager.fontManager.ttflist}
    found = [name for name in _SYSTEM_CJK if system and name in names]
    return ["DejaVu Sans", *found, bundled]


@functools.cache
def _font_bytes() -> bytes:
    return _FONT_FILE.read_bytes()


def font_face_css(page: str, *, family: str = CJK_FONT_FAMILY) -> str:
    """An ``@font-face`` rule embedding the bundled font's glyphs of ``page``'s CJK text.

    The font is subset (fontTools) to the characters of ``page`` at or above U+2E80
    and embedded as a ``data:`` URL, so a page shows its Chinese text on any machine
    without internet; its ``unicode-range`` names exactly those characters, so every
    other one is drawn by the next family of the font list. Empty when the page has no
    such character.
    """
    chars = cjk_characters(page)
    if not chars:
        return ""
    import io

    from fontTools import subset  # type: ignore[import-untyped]
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    font = TTFont(io.BytesIO(_font_bytes()))
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    options.notdef_outline = True
    sub = subset.Subsetter(options)
    sub.populate(text=chars)
    sub.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    url = "data:font/otf;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    # the face claims just its characters: any other falls through to the next family
    codes = ",".join(f"U+{ord(c):X}" for c in sorted(set(chars)))
    return (
        f'@font-face{{font-family:"{family}";src:url({url}) format("opentype");'
        f"unicode-range:{codes};}}"
    )


#: A CSS font list for pages: the embedded CJK face (:func:`font_face_css`), which holds
#: only the page's CJK characters, then the system's sans-serif faces for everything
#: else. The embedded face comes first: Chromium draws a character ``system-ui`` lacks
#: with that face's missing-glyph box rather than trying the next family.
CSS_FONT_LIST = f'"{CJK_FONT_FAMILY}",system-ui,-apple-system,"Segoe UI",sans-serif'


def page_font_css(page: str) -> str:
    """CSS that shows ``page``'s CJK text in the embedded font (empty without CJK text).

    The ``@font-face`` of :func:`font_face_css` and :data:`CSS_FONT_LIST` on the page,
    the Leaflet map and its popups and controls.
    """
    face = font_face_css(page)
    if not face:
        return ""
    return face + (
        "body,.leaflet-container,.leaflet-popup-content,.leaflet-control-layers,"
        f".legend,svg text{{font-family:{CSS_FONT_LIST}}}"
    )
