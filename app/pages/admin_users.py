"""The administrator's users pages: find accounts, create a staff account, deactivate or
reactivate one, reset a password. Every action is `core.accounts`' (its `policy` decides), the
same the API and the command line use; a made-up password is shown once, to the administrator.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.pages import queries
from app.pages.common import FORM, Pages, Req, posted_form, redirect, render
from app.pages.forms import Form, page_number
from app.pages.labels import ROLES_ZH
from core import accounts
from core.accounts import ADMINISTERED_ROLES, NewStaff, Region, User, UserQuery
from core.errors import DomainError
from core.ids import mask_id_number, mask_phone
from core.web import actor, allow, services

PAGE_SIZE = 30
#: Where a service error about a new account is shown, by code prefix.
NEW_USER_FIELDS = {
    "user.exists": "username",
    "user.username": "username",
    "user.role": "role",
    "user.region_required": "region_id",
    "user.region_not_village": "region_id",
    "region": "region_id",
    "user.display_name": "display_name",
    "user.phone": "phone",
}


def region_label(path: str | None) -> str:
    """A region as a list shows it: its last three names (county / town / village)."""
    if not path:
        return "全辖区"
    return " / ".join(path.split("/")[-3:])


def _int(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


async def _regions(session: AsyncSession) -> dict[str, str]:
    """Every region as a choice: id → its path, indented by level."""
    return {
        str(r.id): "　" * r.path.count("/") + r.name for r in await accounts.all_regions(session)
    }


class UserAdminPages(Pages):
    path = "/admin/users"
    guards = (allow("admin"),)

    @get("/")
    async def users(self, request: Req) -> Response[Any]:
        """The accounts found by name, username or mobile, role, region and state."""
        params = request.query_params
        text = str(params.get("q") or "").strip()[:64]
        role = params.get("role") if params.get("role") in ROLES_ZH else None
        active = {"1": True, "0": False}.get(str(params.get("active") or ""))
        page = page_number(params.get("page"))
        region_id = _int(params.get("region"))
        async with services(request).db.read() as session:
            region = await session.get(Region, region_id) if region_id else None
            rows, total = await accounts.find_users(
                session,
                UserQuery(text=text, role=role, region=region, active=active),
                offset=(page - 1) * PAGE_SIZE,
                limit=PAGE_SIZE,
            )
            counts = await queries.user_counts(session)
            regions = await _regions(session)
        filters = {
            "q": text,
            "role": role or "",
            "region": str(region.id) if region else "",
            "active": {True: "1", False: "0", None: ""}[active],
        }
        return render(
            request,
            "admin_users.html",
            title="用户管理",
            rows=rows,
            total=total,
            page=page,
            pages=max(1, -(-total // PAGE_SIZE)),
            filters=filters,
            counts=counts,
            regions=regions,
            region_label=region_label,
            mask_phone=mask_phone,
        )

    @get("/new")
    async def new_user(self, request: Req) -> Response[Any]:
        return await _new_user_page(request, Form(values={"role": "reviewer"}))

    @post("/new", opt=FORM)
    async def create(self, request: Req) -> Response[Any]:
        values = await posted_form(request)
        form = Form(values={k: str(v or "").strip() for k, v in values.items() if k != "_csrf"})
        new = NewStaff(
            role=form.values.get("role", ""),
            username=form.values.get("username", ""),
            display_name=form.values.get("display_name", ""),
            region_id=_int(form.values.get("region_id")),
            phone=form.values.get("phone") or None,
        )
        if form.values.get("region_id") and new.region_id is None:
            form.error("region_id", "请从列表中选择地区", "region.not_found")
        for name, (code, message) in accounts.staff_errors(new).items():
            form.error(name, message, code)
        if not form.ok:
            return await _new_user_page(request, form, 400)
        svc = services(request)
        try:
            async with svc.db.write() as session:
                user, password = await accounts.add_staff(
                    session, actor(request), new, now=svc.now(), passwords=svc.passwords
                )
        except DomainError as exc:
            form.fail(exc, NEW_USER_FIELDS)
            return await _new_user_page(request, form, exc.status)
        return await _user_page(request, user.id, issued=password, created=True)

    @get("/{user_id:int}")
    async def user(self, request: Req, user_id: FromPath[int]) -> Response[Any]:
        return await _user_page(request, user_id)

    @post("/{user_id:int}/active", opt=FORM)
    async def set_active(self, request: Req, user_id: FromPath[int]) -> Response[Any]:
        """Deactivate (asked once more; every session ends at once, on every worker) or
        reactivate, with a reason."""
        values = await posted_form(request)
        active = values.get("active") == "1"
        reason = str(values.get("reason") or "").strip()
        form = Form(values={"reason": reason})
        if not reason:
            form.error("reason", "请说明停用或启用的理由", "user.reason_required")
        elif len(reason) > 500:
            form.error("reason", "理由不超过 500 字", "user.reason_too_long")
        if not form.ok:
            return await _user_page(request, user_id, form=form, status=400)
        if not active and values.get("confirm") != "1":
            return await _user_page(request, user_id, form=form, confirm="deactivate")
        svc = services(request)
        try:
            async with svc.db.write() as session:
                await accounts.set_active(
                    session, actor(request), user_id, active, reason, now=svc.now()
                )
        except DomainError as exc:
            form.fail(exc, {"user.reason": "reason"})
            return await _user_page(request, user_id, form=form, status=exc.status)
        if not active:
            await svc.sign_ins.sessions_ended(user_id)
        return redirect(
            f"/admin/users/{user_id}", "user_deactivated" if not active else "user_activated"
        )

    @post("/{user_id:int}/password", opt=FORM)
    async def reset_password(self, request: Req, user_id: FromPath[int]) -> Response[Any]:
        """A temporary password, made up here and shown once (asked once more first); every
        session ends and the owner must set their own at the next sign-in."""
        values = await posted_form(request)
        if values.get("confirm") != "1":
            return await _user_page(request, user_id, confirm="reset")
        svc = services(request)
        password = accounts.temporary_password()
        try:
            async with svc.db.write() as session:
                await accounts.reset_password(
                    session,
                    actor(request),
                    user_id,
                    password,
                    now=svc.now(),
                    passwords=svc.passwords,
                    temporary=True,
                )
        except DomainError as exc:
            form = Form()
            form.fail(exc)
            return await _user_page(request, user_id, form=form, status=exc.status)
        await svc.sign_ins.sessions_ended(user_id)
        return await _user_page(request, user_id, issued=password)


async def _new_user_page(request: Req, form: Form, status: int = 200) -> Response[Any]:
    async with services(request).db.read() as session:
        regions = await _regions(session)
    return render(
        request,
        "admin_user_new.html",
        status=status,
        title="新建用户",
        form=form,
        roles={r: ROLES_ZH[r] for r in ADMINISTERED_ROLES},
        regions=regions,
    )


async def _user_page(
    request: Req,
    user_id: int,
    *,
    form: Form | None = None,
    confirm: str | None = None,
    issued: str | None = None,
    created: bool = False,
    status: int = 200,
) -> Response[Any]:
    """One account: who it is, its state, and what the administrator may do with it."""
    async with services(request).db.read() as session:
        user: User = await accounts.get_user(session, user_id)
        region = await accounts.region_of(session, user)
        must_change = await accounts.password_must_change(session, user.id)
    return render(
        request,
        "admin_user.html",
        status=status,
        title=f"用户：{user.display_name}",
        user=user,
        region=region,
        must_change=must_change,
        form=form or Form(),
        confirm=confirm,
        issued=issued,
        created=created,
        mask_id=mask_id_number,
        mask_phone=mask_phone,
    )
