"""Everyone's own account page: change one's password (the current one first)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post

from app.pages.common import FORM, Pages, Req, posted_form, redirect, render
from app.pages.forms import Form
from core.errors import DomainError
from core.sessions import change_own_password
from core.web import allow


class AccountPages(Pages):
    path = "/account"
    guards = (allow(),)

    @get("/password")
    async def password_form(self, request: Req) -> Response[Any]:
        return render(request, "account_password.html", title="修改密码", form=Form())

    @post("/password", opt=FORM)
    async def change(self, request: Req) -> Response[Any]:
        values = await posted_form(request)
        old, new = str(values.get("old_password") or ""), str(values.get("new_password") or "")
        form = Form()
        if not old:
            form.error("old_password", "请输入当前密码", "form.required")
        if len(new) < 8:
            form.error("new_password", "新密码至少 8 位", "user.password")
        elif new != str(values.get("new_password2") or ""):
            form.error("new_password2", "两次输入的新密码不一致", "user.password_mismatch")
        if form.ok:
            try:
                await change_own_password(request, old, new)
            except DomainError as exc:
                form.fail(exc, {"auth.password_incorrect": "old_password", "user": "new_password"})
        if not form.ok:
            status = 429 if form.general and form.general.code == "rate_limited" else 400
            return render(
                request, "account_password.html", status=status, title="修改密码", form=form
            )
        return redirect("/account/password", "password_changed")
