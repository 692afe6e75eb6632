"""The asset categories (资产类别, docs/domain.md §10): kept in the kernel because exchange
settings name them (`core.settings`), re-exported by `listings.schemas` for the wire."""

from __future__ import annotations

from typing import Literal

Category = Literal[
    "land_management_rights",
    "forest_rights",
    "wasteland",
    "aquaculture_water",
    "collective_construction_land",
    "collective_operating_assets",
    "farm_facilities",
    "water_works",
    "sea_areas",
    "other",
]
CATEGORY_NAMES_ZH: dict[str, str] = {
    "land_management_rights": "土地经营权",
    "forest_rights": "林权",
    "wasteland": "四荒地",
    "aquaculture_water": "养殖水面",
    "collective_construction_land": "集体经营性建设用地",
    "collective_operating_assets": "集体经营性资产",
    "farm_facilities": "农业设施",
    "water_works": "小型水利设施",
    "sea_areas": "海域",
    "other": "其他",
}
