"""Server-rendered pages (Jinja, zh-CN) for bidders, villages, staff, regulators and the public."""

from __future__ import annotations

from typing import Any

from app.pages.account import AccountPages
from app.pages.admin import AdminPages
from app.pages.admin_regions import RegionPages
from app.pages.admin_users import UserAdminPages
from app.pages.aftermath import BidderDealPages, ContractPages, ReviewDealPages
from app.pages.bidder import BidderPages
from app.pages.disclosure import DisclosurePages
from app.pages.notices import NoticePages
from app.pages.oversight import OversightPages
from app.pages.public import PublicPages
from app.pages.qualify_all import QualifyAllPages
from app.pages.rent import RentPages
from app.pages.review import ReviewPages
from app.pages.village import VillagePages

#: Page controllers and handlers, registered by the app factory.
CONTROLLERS: list[Any] = [
    PublicPages,
    DisclosurePages,
    BidderPages,
    VillagePages,
    ReviewPages,
    QualifyAllPages,
    BidderDealPages,
    ReviewDealPages,
    ContractPages,
    RentPages,
    OversightPages,
    AdminPages,
    UserAdminPages,
    RegionPages,
    AccountPages,
    NoticePages,
]
