"""The administrator's regions pages: the region tree, a region added under another, a region
renamed (its paths below follow, and so do the statistics' copies of them)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath

from app.pages.common import FORM, Pages, Req, posted_form, redirect, render
from app.pages.forms import Form
from core import accounts
from core.accounts import Region
from core.errors import DomainError
from core.web import actor, allow, services
from oversight.stats import follow_region_rename

LEVELS_ZH = {"province": "省", "city": "市", "county": "县（区）", "town": "乡镇", "village": "村"}
#: Where a service error about a region is shown.
REGION_FIELDS = {"region.name": "name", "region.exists": "name", "region": "parent_id"}


class RegionPages(Pages):
    path = "/admin/regions"
    guards = (allow("admin"),)

    @get("/")
    async def regions(self, request: Req) -> Response[Any]:
        return await _tree_page(request, Form())

    @post("/", opt=FORM)
    async def add(self, request: Req) -> Response[Any]:
        values = await posted_form(request)
        form = Form(values={k: str(v or "").strip() for k, v in values.items() if k != "_csrf"})
        raw_parent = form.values.get("parent_id", "")
        parent_id = int(raw_parent) if raw_parent.isdigit() and len(raw_parent) < 10 else None
        if raw_parent and parent_id is None:
            form.error("parent_id", "请从列表中选择上级地区", "region.not_found")
        if not form.values.get("name"):
            form.error("name", "请填写地区名称", "form.required")
        if not form.ok:
            return await _tree_page(request, form, 400)
        svc = services(request)
        try:
            async with svc.db.write() as session:
                region = await accounts.add_region(
                    session, actor(request), parent_id, form.values["name"], now=svc.now()
                )
        except DomainError as exc:
            form.fail(exc, REGION_FIELDS)
            return await _tree_page(request, form, exc.status)
        return redirect(f"/admin/regions/{region.id}", "region_added")

    @get("/{region_id:int}")
    async def region(self, request: Req, region_id: FromPath[int]) -> Response[Any]:
        return await _region_page(request, region_id, Form())

    @post("/{region_id:int}", opt=FORM)
    async def rename(self, request: Req, region_id: FromPath[int]) -> Response[Any]:
        values = await posted_form(request)
        form = Form(values={"name": str(values.get("name") or "").strip()})
        if not form.values["name"]:
            form.error("name", "请填写新的名称", "form.required")
            return await _region_page(request, region_id, form, 400)
        svc = services(request)
        try:
            async with svc.db.write() as session:
                old, new = await accounts.rename_region(
                    session, actor(request), region_id, form.values["name"], now=svc.now()
                )
                await follow_region_rename(session, old, new)
        except DomainError as exc:
            form.fail(exc, REGION_FIELDS)
            return await _region_page(request, region_id, form, exc.status)
        return redirect(f"/admin/regions/{region_id}", "region_renamed")


async def _tree_page(request: Req, form: Form, status: int = 200) -> Response[Any]:
    async with services(request).db.read() as session:
        regions = await accounts.all_regions(session)
    parents = {
        str(r.id): "　" * r.path.count("/") + r.name for r in regions if r.level != "village"
    }
    return render(
        request,
        "admin_regions.html",
        status=status,
        title="地区管理",
        form=form,
        tree=_tree(regions),
        parents=parents,
        levels=LEVELS_ZH,
    )


def _tree(regions: list[Region]) -> list[tuple[Region, list[Region]]]:
    """The regions above village level, each with its villages (path order keeps a parent
    right before its children)."""
    out: list[tuple[Region, list[Region]]] = []
    for region in regions:
        if region.level == "village" and out and region.parent_id == out[-1][0].id:
            out[-1][1].append(region)
        else:
            out.append((region, []))
    return out


async def _region_page(
    request: Req, region_id: int, form: Form, status: int = 200
) -> Response[Any]:
    async with services(request).db.read() as session:
        region = await accounts.get_region(session, region_id)
        below, users = await accounts.region_counts(session, region)
    return render(
        request,
        "admin_region.html",
        status=status,
        title=f"地区：{region.name}",
        form=form,
        region=region,
        below=below,
        users=users,
        levels=LEVELS_ZH,
    )
