"""Log-in and log-out of the control panel."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from boxoffice.apps.control.auth import SESSION_PASSWORD_MARK, SESSION_USER, find_user, password_mark, safe_next
from boxoffice.apps.control.pages import in_db, page
from boxoffice.apps.control.passwords import hash_password, needs_rehash, verify_password
from boxoffice.apps.web import redirect, rotate_session
from boxoffice.kernel.audit import Actor, log_action
from boxoffice.kernel.i18n import gettext as _


@get("/login", sync_to_thread=False)
def login_form(request: Request, next: FromQuery[str | None] = None) -> Template:
    return page(request, "login.html", next=safe_next(next), email="")


def _check_credentials(session: Any, email: str, password: str) -> tuple[int, str] | None:
    user = find_user(session, email)
    if not verify_password(user.password if user is not None else None, password):
        return None
    assert user is not None
    if not user.is_active:
        return None
    if needs_rehash(user.password or ""):
        user.password = hash_password(password)
    log_action(session, None, user, "boxoffice.user.logged_in", actor=Actor("user", str(user.id)))
    return user.id, password_mark(user.password)


@post("/login")
async def login(request: Request) -> Template | Redirect:
    form = await request.form()
    email = str(form.get("email") or "")
    password = str(form.get("password") or "")
    target = safe_next(form.get("next"))
    found = await in_db(request, _check_credentials, email, password) if email and password else None
    if found is None:
        return page(
            request,
            "login.html",
            status_code=400,
            next=target,
            email=email,
            error=_("The e-mail address or the password is not correct."),
        )
    await rotate_session(request)
    request.set_session({SESSION_USER: found[0], SESSION_PASSWORD_MARK: found[1]})
    return redirect(target)


@post("/logout")
async def logout(request: Request) -> Redirect:
    request.clear_session()
    return redirect("/control/login")


LOGIN_ROUTES = [login_form, login, logout]
