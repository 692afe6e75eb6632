"""Pages everyone sees: home, announcements, listing detail with results, the live auction,
and signing in / signing up."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Response, get, post
from litestar.datastructures import Cookie, UploadFile
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect

from app.pages import queries
from app.pages.announcement import notice_rules
from app.pages.bidder import account_of, standing_of
from app.pages.common import (
    FORM,
    FORM_COOKIE,
    Pages,
    Req,
    anonymous_form_ok,
    anonymous_form_token,
    form_values,
    posted_form,
    redirect,
    render,
    safe_next,
)
from app.pages.forms import FieldError, Form, validation_field
from app.pages.live import live_page
from app.pages.viewers import count_view as count_view_of
from auction.models import Auction, Deal
from core import settings as exchange_settings
from core.accounts import PASSWORD_CHANGE_REQUIRED, BidderSignUp
from core.errors import DomainError
from core.sessions import (
    cleared_session_cookies,
    replace_temporary,
    session_cookies,
    sign_in,
    sign_up,
)
from core.web import PUBLIC, actor, actor_or_none, allow, services, token_of
from listings import policy, qualification, reading
from listings import registration as reg
from listings.announced import as_announced
from listings.api import checked_upload, listing_view, store
from listings.documents import UPLOAD_BODY
from listings.policy import Facet
from listings.registration_api import apply_from, registration_view
from listings.rules import PUBLIC as PUBLIC_STATES
from listings.schemas import CATEGORY_NAMES_ZH
from listings.viewers import viewer_count


class PublicPages(Pages):
    path = "/"

    @get("/", opt=PUBLIC)
    async def home(self, request: Req) -> Response[Any]:
        viewer = actor_or_none(request)
        svc = services(request)
        async with svc.db.read() as session:
            live = await queries.listings_in(session, viewer, ("auction",))
            upcoming = await queries.listings_in(session, viewer, ("announced",), limit=12)
            results = await queries.recent_results(session, viewer, limit=8)
        return render(
            request,
            "home.html",
            title="首页",
            live=live,
            upcoming=upcoming,
            results=results,
            now=svc.now(),
        )

    @get("/listings", opt=PUBLIC)
    async def listings(
        self,
        request: Req,
        state_: Annotated[str | None, QueryParameter(name="state")] = None,
        category: FromQuery[str | None] = None,
        region: FromQuery[str | None] = None,
        page: Annotated[int, QueryParameter(ge=1, le=1000)] = 1,
    ) -> Response[Any]:
        viewer = actor_or_none(request)
        size = 20
        state_ = state_ or None
        category = category if category in CATEGORY_NAMES_ZH else None
        region = (region or "").strip() or None
        async with services(request).db.read() as session:
            rows = await reading.search(
                session,
                viewer,
                reading.ListingFilter(
                    state=state_,
                    category=category,
                    region=region,
                    limit=size + 1,
                    offset=(page - 1) * size,
                ),
            )
            regions = await queries.village_regions(session)
        states = (
            [s.value for s in PUBLIC_STATES] if viewer is None or viewer.role == "bidder" else None
        )
        return render(
            request,
            "listings.html",
            title="交易公告",
            items=[listing_view(v, viewer) for v in rows[:size]],
            has_more=len(rows) > size,
            page=page,
            filters={"state": state_ or "", "category": category or "", "region": region or ""},
            state_choices=states,
            regions=regions,
        )

    @get("/listings/{listing_id:int}", opt=PUBLIC)
    async def listing(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        return await listing_page(request, listing_id, count_view=True)

    @post(
        "/listings/{listing_id:int}/register",
        guards=[allow("bidder")],
        opt=FORM,
        request_max_body_size=UPLOAD_BODY,
    )
    async def register(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        values = await posted_form(request)
        svc, who = services(request), actor(request)
        claim = values.get("claim_priority") == "1"
        proof = values.get("proof")
        has_proof = isinstance(proof, UploadFile) and bool(proof.filename)
        try:
            checked = await checked_upload(svc, proof) if claim and has_proof else None
            async with svc.db.write() as session:
                registration = await apply_from(request, session, listing_id, claim)
                reg_id = registration.id
                if checked is not None:
                    await qualification.attach_proof(
                        session, who, reg_id, file=checked, store=store(svc), now=svc.now()
                    )
        except DomainError as exc:
            if exc.code == "registration.duplicate":
                return redirect("/me/registrations")
            return await listing_page(request, listing_id, register_error=exc)
        return Redirect(f"/me/registrations/{reg_id}?done=registered", status_code=303)

    @get("/auctions/{listing_id:int}", opt=PUBLIC)
    async def live(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        """The live auction: one page for watchers and bidders; identities never appear."""
        return await live_page(request, listing_id)

    # ----- signing in -------------------------------------------------------------------

    @get("/login", opt=PUBLIC)
    async def login_form(
        self, request: Req, next_: Annotated[str | None, QueryParameter(name="next")] = None
    ) -> Response[Any]:
        token, cookie = anonymous_form_token(request)
        form = Form(values={"next": next_ or ""})
        return _anonymous_page(request, "login.html", form, cookies=[cookie], token=token)

    @post("/login", opt=PUBLIC)
    async def login_submit(self, request: Req) -> Response[Any]:
        values = await form_values(request)
        form = Form(
            values={"username": values.get("username") or "", "next": values.get("next") or ""}
        )
        token, cookie = anonymous_form_token(request)
        if not anonymous_form_ok(request, values.get("_form")):
            form.general = _expired()
            return _anonymous_page(
                request, "login.html", form, status=403, cookies=[cookie], token=token
            )
        username = str(values.get("username") or "").strip()
        password = str(values.get("password") or "")
        if not username:
            form.error("username", "请输入用户名或手机号", "form.required")
        if not password:
            form.error("password", "请输入密码", "form.required")
        if not form.ok:
            return _anonymous_page(request, "login.html", form, status=400, token=token)
        try:
            session_token, user = await sign_in(request, username, password)
        except DomainError as exc:
            if exc.code == PASSWORD_CHANGE_REQUIRED:
                form.values["temporary"] = password
                return _anonymous_page(request, "login_new_password.html", form, token=token)
            form.fail(exc, {"auth": "password"})
            return _anonymous_page(request, "login.html", form, status=exc.status, token=token)
        target = safe_next(values.get("next")) or home_of_role(user.role)
        return _signed_in(request, target, session_token)

    @post("/login/new-password", opt=PUBLIC)
    async def first_password(self, request: Req) -> Response[Any]:
        """Signing in with a temporary password (an administrator made it up): the person
        sets their own, and only then is signed in."""
        values = await form_values(request)
        keep = ("username", "temporary", "next")
        form = Form(values={k: str(values.get(k) or "") for k in keep})
        token, cookie = anonymous_form_token(request)
        page = "login_new_password.html"
        if not anonymous_form_ok(request, values.get("_form")):
            form.general = _expired()
            return _anonymous_page(request, page, form, status=403, cookies=[cookie], token=token)
        new = str(values.get("new_password") or "")
        if len(new) < 8:
            form.error("new_password", "新密码至少 8 位", "user.password")
        elif new != str(values.get("new_password2") or ""):
            form.error("new_password2", "两次输入的新密码不一致", "user.password_mismatch")
        if not form.ok:
            return _anonymous_page(request, page, form, status=400, token=token)
        username = form.values["username"].strip()
        try:
            await replace_temporary(request, username, form.values["temporary"], new)
            session_token, user = await sign_in(request, username, new)
        except DomainError as exc:
            form.fail(exc, {"user.password": "new_password"})
            return _anonymous_page(request, page, form, status=exc.status, token=token)
        target = safe_next(form.values["next"]) or home_of_role(user.role)
        done = f"{'&' if '?' in target else '?'}done=password_set"
        return _signed_in(request, target + done, session_token)

    @post("/logout", guards=[allow()], opt=FORM)
    async def logout(self, request: Req) -> Response[Any]:
        await posted_form(request)  # the CSRF check
        svc = services(request)
        token = token_of(request)
        if token:
            await svc.sign_out(token)
        return Redirect(
            "/",
            status_code=303,
            cookies=cleared_session_cookies(),
        )

    @get("/signup", opt=PUBLIC)
    async def signup_form(
        self, request: Req, next_: Annotated[str | None, QueryParameter(name="next")] = None
    ) -> Response[Any]:
        token, cookie = anonymous_form_token(request)
        form = Form(values={"id_type": "resident_id", "next": next_ or ""})
        return _anonymous_page(request, "signup.html", form, cookies=[cookie], token=token)

    @post("/signup", opt=PUBLIC)
    async def signup_submit(self, request: Req) -> Response[Any]:
        values = await form_values(request)
        fields = ("name", "id_type", "id_number", "phone")
        form = Form(
            values={k: str(values.get(k) or "").strip() for k in fields}
            | {"next": values.get("next") or ""}
        )
        token, cookie = anonymous_form_token(request)
        if not anonymous_form_ok(request, values.get("_form")):
            form.general = _expired()
            return _anonymous_page(
                request, "signup.html", form, status=403, cookies=[cookie], token=token
            )
        password = str(values.get("password") or "")
        if password != str(values.get("password2") or ""):
            form.error("password2", "两次输入的密码不一致", "form.password_mismatch")
        body: BidderSignUp | None = None
        try:
            body = msgspec.convert(
                {
                    **{k: form.values[k] for k in fields},
                    "id_number": form.values["id_number"].upper(),
                    "password": password,
                },
                BidderSignUp,
            )
        except msgspec.ValidationError as exc:
            name = validation_field(exc) or "name"
            form.error(name, SIGNUP_HINTS.get(name, "输入有误"), "request.invalid")
        if body is None or not form.ok:
            return _anonymous_page(request, "signup.html", form, status=400, token=token)
        try:
            await sign_up(request, body)
            session_token, _ = await sign_in(request, body.phone, body.password)
        except DomainError as exc:
            form.fail(exc, SIGNUP_FIELDS)
            return _anonymous_page(request, "signup.html", form, status=exc.status, token=token)
        target = safe_next(values.get("next")) or "/me/registrations?done=welcome"
        return _signed_in(request, target, session_token)


async def listing_page(
    request: Req,
    listing_id: int,
    *,
    register_error: DomainError | None = None,
    forms: dict[str, Form] | None = None,
    status: int = 200,
    count_view: bool = False,
    **extra: Any,
) -> Response[Any]:
    """The announcement (竞买公告: terms, 竞买须知 in sentences, photos, whom to call to see
    the asset, documents, 围观人数 and — once registration has closed — 报名人数) with its
    result; for a bidder of the listing also their standing and what happens next, and their
    part after the hammer (an offer to them as the runner-up, their objections), any form
    re-shown. `count_view`: this is a person opening the page (a GET), counted as a viewer."""
    viewer = actor_or_none(request)
    svc = services(request)
    cookies = await count_view_of(request, listing_id) if count_view else []
    async with svc.db.read() as session:
        visible = await reading.load(session, viewer, listing_id)
        listing = visible.listing
        documents = await reading.documents_of(session, listing_id)
        view = listing_view(visible, viewer, documents)
        auction = await session.get(Auction, listing_id)
        deal, contract = await queries.deal_and_contract(session, viewer, listing_id)
        settings = await exchange_settings.load(session)
        mine = await reg.own_registration(session, viewer, listing_id)
        standing = (
            await standing_of(
                session, mine, listing, settings, await session.get(Deal, listing_id), auction
            )
            if mine is not None
            else None
        )
        counted = policy.may_see(viewer, Facet.REGISTRATION_COUNT, listing.state, visible.village)
        registered = await queries.registration_counts(session, listing_id) if counted else None
        watchers = await viewer_count(session, listing_id)
    now = svc.now()
    aftermath = await queries.bidder_aftermath(svc.db, viewer, mine, deal, now)
    may_download = policy.may_see(
        viewer,
        Facet.DOCUMENTS,
        listing.state,
        visible.village,
        registration=mine.state if mine else None,
    )
    registration_open = (
        listing.state == "announced"
        and listing.registration_closes_at is not None
        and now < listing.registration_closes_at
    )
    if register_error is not None:
        status = register_error.status
    return render(
        request,
        "listing.html",
        status=status,
        cookies=cookies,
        register_error=register_error,
        title=view.title,
        listing=view,
        auction=auction,
        deal=deal,
        mine=registration_view(mine) if mine else None,
        standing=standing,
        may_download=may_download,
        photos=[d for d in view.documents if d.kind == "photo"],
        files=[d for d in view.documents if d.kind != "photo"],
        rules=notice_rules(view, settings),
        refund_days=as_announced(listing, settings).refund_deadline_working_days,
        account=account_of(settings),
        registered=registered,
        watchers=watchers,
        registration_open=registration_open,
        now=now,
        contract=contract,
        aftermath=aftermath,
        forms=forms or {},
        blank=Form(),
        **extra,
    )


#: The pages anyone may fill in before signing in, and their titles.
_ANONYMOUS_TITLES = {
    "login.html": "登录",
    "login_new_password.html": "设置新密码",
    "signup.html": "竞买人注册",
}


def _anonymous_page(
    request: Req, template: str, form: Form, *, token: str, status: int = 200, cookies: Any = ()
) -> Response[Any]:
    """The sign-in or sign-up page with its form and the pre-session form token."""
    title = _ANONYMOUS_TITLES[template]
    return render(
        request, template, status=status, title=title, form=form, form_token=token, cookies=cookies
    )


SIGNUP_HINTS = {
    "name": "请填写真实姓名或单位名称（1–100 字）",
    "id_type": "请选择证件类型",
    "id_number": "证件号码应为18位",
    "phone": "请填写11位手机号码",
    "password": "密码至少8位",
}


#: Where a sign-up error is shown, by code prefix.
SIGNUP_FIELDS = {"id": "id_number", "user.id_number_taken": "id_number", "user.exists": "phone"}


def home_of_role(role: str) -> str:
    return {
        "bidder": "/me/registrations",
        "village": "/village",
        "reviewer": "/review",
        "regulator": "/oversight",
        "admin": "/admin/settings",
    }.get(role, "/")


def _expired() -> FieldError:
    return FieldError("页面已过期，请重新提交", "auth.csrf")


def _signed_in(request: Req, target: str, token: str) -> Response[Any]:
    """Set the same cookies as `POST /api/v1/auth/login`."""
    cookies = session_cookies(services(request).config, token)
    return Redirect(
        target,
        status_code=303,
        cookies=[*cookies, Cookie(key=FORM_COOKIE, value="", max_age=0, path="/")],
    )
