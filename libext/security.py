"""Web hardening of libext's blueprints: CSRF, upload limit, security headers, cookies, errors.

Everything here applies to libext's own blueprints (``libext_*``) and leaves a host ILS's
pages alone, so that embedding libext never changes how the host behaves:

* **CSRF** (Flask-WTF's tokens): every state-changing request of a libext page or of the JSON
  API made with a logged-in *cookie* must carry the token (form field ``csrf_token`` or header
  ``X-CSRFToken``). A request that authenticates with ``Authorization: Bearer`` is exempt — a
  browser never sends that header cross-site on its own (unlike ``Basic``, which it resends
  and which stays checked) — and so is an anonymous request,
  which the view then refuses with 401 (login itself is protected by its form). The OAI-PMH
  and SRU endpoints are read-only protocols that allow POST, so they are exempt too. A host
  that runs its own ``CSRFProtect`` keeps it for its pages; libext's blueprints are then
  checked here, with the same tokens and settings (``WTF_CSRF_*``).
* **Uploads**: request bodies above ``LIBEXT_MAX_UPLOAD_BYTES`` are refused with 413 before
  anything is read into the store (Flask spools large files to disk while parsing).
* **Headers**: ``LIBEXT_SECURITY_HEADERS`` on every libext response.
* **Cookies**: the session cookie is ``HttpOnly``, ``SameSite=Lax`` unless configured
  otherwise, and ``Secure`` whenever the request came over HTTPS.
* **Errors**: libext's pages answer errors with a plain page (no stack trace, no SQL); the JSON
  API answers them as JSON (``blueprints.api``).
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    has_request_context,
    render_template,
    request,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from libext import accounts
from libext.auth import anonymous_loader, current_principal

if TYPE_CHECKING:
    from libext.extension import LibExtState

log = logging.getLogger(__name__)

#: Read-only protocol endpoints that accept POST from any client (OAI-PMH 2.0 §3.1.1).
CSRF_EXEMPT_BLUEPRINTS = frozenset({"libext_oai", "libext_sru"})
#: Blueprints that answer their own errors (as JSON).
OWN_ERROR_PAGES = frozenset({"libext_api"})

# The values CSRFProtect.init_app sets; set here too when the host has no CSRFProtect.
_CSRF_DEFAULTS: dict[str, Any] = {
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_METHODS": {"POST", "PUT", "PATCH", "DELETE"},
    "WTF_CSRF_FIELD_NAME": "csrf_token",
    "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
    "WTF_CSRF_TIME_LIMIT": 3600,
    "WTF_CSRF_SSL_STRICT": True,
}


def init_app(app: Flask, state: LibExtState) -> None:
    """Wire libext's access control and hardening into ``app`` (a FEATURES initialiser)."""
    if state.principal_loader is anonymous_loader:
        # No host login configured: libext's own accounts and tokens identify users.
        state.principal_loader = accounts.load_principal
    hops = int(app.config["LIBEXT_PROXY_HOPS"] or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    for key, value in _CSRF_DEFAULTS.items():
        app.config.setdefault(key, value)
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
    app.jinja_env.globals["libext_csp_nonce"] = csp_nonce
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = HardenedSessionInterface()
    csrf = CSRFProtect()  # never init_app'd: it checks libext's blueprints only, from our hook
    host_csrf = app.extensions.get("csrf")
    if host_csrf is not None:
        for name, blueprint in app.blueprints.items():
            if name.startswith("libext_"):
                host_csrf.exempt(blueprint)
    app.url_value_preprocessor(_refuse_huge_ids)
    app.before_request(_limit_upload)
    app.before_request(lambda: _check_csrf(csrf))
    app.after_request(_add_headers)
    for name in list(app.blueprints):
        if name.startswith("libext_") and name not in OWN_ERROR_PAGES:
            handlers = app.error_handler_spec[name][None]
            handlers.setdefault(HTTPException, error_page)


def _libext_request() -> bool:
    return any(name.startswith("libext_") for name in request.blueprints)


#: Largest id a URL may name: the databases' 64-bit integers (larger ones overflow in the
#: driver, which would be an HTTP 500 instead of a 404).
MAX_URL_INT = 2**63 - 1


def _refuse_huge_ids(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if not endpoint or not endpoint.startswith("libext_") or not values:
        return
    for value in values.values():
        if isinstance(value, int) and not -MAX_URL_INT <= value <= MAX_URL_INT:
            abort(404)


def _limit_upload() -> None:
    if not _libext_request():
        return
    limit = current_app.config["LIBEXT_MAX_UPLOAD_BYTES"]
    host_limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (host_limit is None or limit < host_limit):
        request.max_content_length = int(limit)


def _check_csrf(csrf: CSRFProtect) -> None:
    if not _libext_request():
        return
    host = current_app.extensions.get("csrf")
    if host is not None:
        # The host's CSRFProtect would refuse API calls made with a bearer token: libext's
        # blueprints are checked below instead, with the same tokens and settings.
        for name in request.blueprints:
            host.exempt(current_app.blueprints[name])
    config = current_app.config
    if not config["WTF_CSRF_ENABLED"] or request.method not in config["WTF_CSRF_METHODS"]:
        return
    if CSRF_EXEMPT_BLUEPRINTS.intersection(request.blueprints):
        return
    if accounts.bearer_token() is not None:
        return
    if current_principal() is None:
        return
    csrf.protect()


def csp_nonce() -> str:
    """This response's Content-Security-Policy nonce (for inline ``<style>``/``<script>``)."""
    if "libext_csp_nonce" not in g:
        g.libext_csp_nonce = secrets.token_urlsafe(18)
    return g.libext_csp_nonce


def _add_headers(response: Response) -> Response:
    if not _libext_request():
        return response
    for header, value in current_app.config["LIBEXT_SECURITY_HEADERS"].items():
        if value is not None and header not in response.headers:
            response.headers[header] = value.replace("{nonce}", csp_nonce())
    return response


class HardenedSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with ``Secure`` on HTTPS and ``SameSite=Lax`` by default.

    ``SESSION_COOKIE_SECURE`` stays False by default so the app works over plain HTTP on a
    laptop or an intranet; over HTTPS the cookie is marked Secure all the same.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when configured so, or when this request came over HTTPS."""
        configured = bool(app.config["SESSION_COOKIE_SECURE"])
        return configured or (has_request_context() and request.is_secure)

    def get_cookie_samesite(self, app: Flask) -> str | None:
        """The configured SameSite value, else Lax."""
        return app.config["SESSION_COOKIE_SAMESITE"] or "Lax"


#: What the plain error page says for each status; anything else shows werkzeug's name.
def _message(code: int) -> str:
    messages = {
        400: _("Yêu cầu không hợp lệ."),
        401: _("Bạn cần đăng nhập để làm việc này."),
        403: _("Tài khoản của bạn không có quyền làm việc này."),
        404: _("Không tìm thấy trang này."),
        405: _("Trang này không nhận kiểu yêu cầu đó."),
        413: _("Tệp gửi lên quá lớn."),
        429: _("Quá nhiều yêu cầu. Hãy thử lại sau."),
        500: _("Đã xảy ra lỗi trong hệ thống. Lỗi đã được ghi lại; hãy thử lại sau."),
        503: _("Dịch vụ tạm thời không sẵn sàng. Hãy thử lại sau."),
    }
    return messages.get(code, "")


def error_page(exc: HTTPException) -> Response:
    """A plain error page for libext's HTML blueprints: status and a sentence, nothing else."""
    code = exc.code or 500
    if isinstance(exc, CSRFError):
        message = _(
            "Biểu mẫu đã hết hạn hoặc không được gửi từ trang này. Hãy tải lại trang và thử lại."
        )
    elif code == 413 and current_app.config["LIBEXT_MAX_UPLOAD_BYTES"]:
        limit = int(current_app.config["LIBEXT_MAX_UPLOAD_BYTES"]) // (1024 * 1024)
        message = _("Tệp gửi lên quá lớn: giới hạn là %(limit)s MB.", limit=limit)
    else:
        message = _message(code) or exc.name
    login_url = None
    if (
        code == 401
        and "libext_accounts" in current_app.blueprints
        and current_app.extensions["libext"].principal_loader is accounts.load_principal
    ):
        login_url = url_for("libext_accounts.login", next=request.full_path)
    try:
        body = render_template(
            "libext/error.html", code=code, name=exc.name, message=message, login_url=login_url
        )
    except Exception:  # the error page must never fail in turn (e.g. a template is broken)
        log.exception("could not render the error page")
        body = f"{code} {exc.name}\n{message}\n"
        response = Response(body, code, mimetype="text/plain")
    else:
        response = Response(body, code, mimetype="text/html")
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="libext"'
    for header, value in exc.get_headers():
        if header.lower() in ("retry-after", "allow"):
            response.headers[header] = value
    return response
