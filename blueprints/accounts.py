"""Login and logout with libext's built-in accounts (``/account``).

Only served when libext's own accounts identify users; inside a host ILS that plugs its own
login in, these pages answer 404 and the host's login is the one to use.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from libext import accounts, login_throttle
from libext.auth import current_principal
from libext.db import get_session

bp = Blueprint("libext_accounts", __name__, template_folder="templates")


class LoginForm(FlaskForm):
    """Name and password; the CSRF token comes with FlaskForm."""

    name = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(
        _l("Mật khẩu"), validators=[DataRequired(), Length(max=accounts.MAX_PASSWORD_LENGTH)]
    )
    next = HiddenField()


class LogoutForm(FlaskForm):
    """Nothing but the CSRF token: logging out is a POST, so no other site can do it."""


@bp.before_request
def only_with_builtin_accounts() -> None:
    """404 when a host's login identifies users instead of libext's accounts."""
    if current_app.extensions["libext"].principal_loader is not accounts.load_principal:
        abort(404)


@bp.app_template_global("libext_account")
def account_menu() -> dict[str, str] | None:
    """What the page header shows: the user and a logout button, or a login link.

    None when a host's login identifies users (the host shows its own menu).
    """
    if current_app.extensions["libext"].principal_loader is not accounts.load_principal:
        return None
    principal = current_principal()
    if principal is None:
        here = request.full_path.rstrip("?") if request.method == "GET" else None
        if request.blueprint == "libext_accounts":
            here = None
        return {"login_url": url_for("libext_accounts.login", next=here)}
    return {
        "name": principal.name,
        "account_url": url_for("libext_accounts.index"),
        "logout_url": url_for("libext_accounts.logout"),
    }


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the account page (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
        ):
            return target
    return url_for("libext_accounts.index")


@bp.get("/")
def index() -> ResponseReturnValue:
    """Who is logged in, with what role and libraries; or the login form."""
    principal = current_principal()
    if principal is None:
        return redirect(url_for("libext_accounts.login"))
    user = accounts.find_user(get_session(), principal.name)
    return render_template("libext/accounts/index.html", user=user, form=LogoutForm())


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login form; 429 after too many failures for the account or the address."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        return render_template("libext/accounts/login.html", form=form)
    if not form.validate_on_submit():
        status = 400
        return render_template("libext/accounts/login.html", form=form), status
    db = get_session()
    limits = login_throttle.Limits.from_config(current_app.config)
    name = form.name.data.strip()
    address = request.remote_addr
    wait = login_throttle.retry_after(db, limits, name, address)
    if wait is not None:
        minutes = max(1, (wait + 59) // 60)
        error = _("Quá nhiều lần đăng nhập sai. Hãy thử lại sau %(minutes)s phút.", minutes=minutes)
        body = render_template("libext/accounts/login.html", form=form, error=error)
        return body, 429, {"Retry-After": str(wait)}
    user = accounts.find_user(db, name)
    if not accounts.verify_password(user, form.password.data):
        login_throttle.record_failure(db, limits, name, address)
        error = _("Sai tên đăng nhập hoặc mật khẩu.")
        return (
            render_template("libext/accounts/login.html", form=form, error=error),
            401,
            {"WWW-Authenticate": 'FormBased realm="libext"'},
        )
    assert user is not None
    login_throttle.clear_account(db, name)
    accounts.note_login(db, user, form.password.data)
    accounts.log_in(user)
    return redirect(safe_next(form.next.data))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the login (a POST with the CSRF token, checked for every logged-in form post)."""
    accounts.log_out()
    return redirect(url_for("libext_accounts.login"))
