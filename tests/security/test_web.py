"""Hardening of libext's responses: headers, cookies, CSRF, upload limit, error pages, escaping."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.exc import OperationalError

from libext import LibExt
from libext.db import get_session
from tests.security.conftest import TARGET, Seeded, a_record, log_in_client, secure_app


@pytest.mark.parametrize(
    "path", ["/", "/api/libraries", "/oai?verb=Identify", "/account/login", "/admin/", "/nope"]
)
def test_security_headers_on_libext_responses(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    if path == "/nope":  # not a libext page: the host's 404 is the host's business
        assert "Content-Security-Policy" not in response.headers
        return
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_host_pages_keep_their_own_headers(db_url: str) -> None:
    app = Flask("host")
    app.config.update(SQLALCHEMY_DATABASE_URI=db_url, SECRET_KEY="k")

    @app.get("/host")
    def host_page() -> str:
        return "host"

    LibExt(app)
    response = app.test_client().get("/host")
    assert "Content-Security-Policy" not in response.headers
    assert response.get_data(as_text=True) == "host"


def test_a_header_can_be_changed_or_dropped(db_url: str) -> None:
    app = secure_app(
        db_url,
        LIBEXT_SECURITY_HEADERS={
            "Content-Security-Policy": "default-src 'none'",
            "X-Frame-Options": None,
        },
    )
    response = app.test_client().get("/")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    assert "X-Frame-Options" not in response.headers


def test_session_cookie_is_secure_over_https_and_always_httponly_samesite(
    app: Flask, seeded: Seeded
) -> None:
    for base, secure in (("https://lib.example", True), ("http://lib.example", False)):
        client = app.test_client()
        response = client.get("/account/login", base_url=base)
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure, (base, cookie)


def test_cookie_authenticated_api_write_needs_a_csrf_token(app: Flask, seeded: Seeded) -> None:
    client, token = log_in_client(app, seeded.user_ids["admin"])
    refused = client.post("/api/sources", json={"code": TARGET})
    assert refused.status_code == 400
    assert refused.is_json
    assert "CSRF" in refused.get_json()["error"]["message"]
    through = client.post("/api/sources", json={"code": TARGET}, headers={"X-CSRFToken": token})
    assert through.status_code not in (401, 403)
    assert "CSRF" not in through.get_data(as_text=True)
    bearer = app.test_client().post(
        "/api/sources",
        json={"code": TARGET},
        headers={"Authorization": f"Bearer {seeded.tokens['admin']}"},
    )
    assert "CSRF" not in bearer.get_data(as_text=True)
    assert bearer.status_code not in (401, 403)


def test_cookie_authenticated_form_post_needs_a_csrf_token(app: Flask, seeded: Seeded) -> None:
    client, token = log_in_client(app, seeded.user_ids["own"])
    refused = client.post(f"/record/{seeded.record_id}/split")
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "hết hạn" in text and "Traceback" not in text
    forged = client.post(f"/record/{seeded.record_id}/split", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    ok = client.post(f"/record/{seeded.record_id}/split", data={"csrf_token": token})
    assert ok.status_code < 400


def test_host_csrfprotect_keeps_working_beside_libext(db_url: str) -> None:
    """A host that protects its own forms with CSRFProtect, then adds libext."""
    app = Flask("host_with_csrf")
    app.config.update(SQLALCHEMY_DATABASE_URI=db_url, SECRET_KEY="k", PROPAGATE_EXCEPTIONS=False)
    db = SQLAlchemy()
    db.init_app(app)
    CSRFProtect(app)

    @app.post("/host/form")
    def host_form() -> str:
        return "done"

    LibExt(app)
    seeded = _seed(app)
    client = app.test_client()
    assert client.post("/host/form").status_code == 400  # the host's protection still holds
    api = client.post(
        "/api/sources",
        json={"code": TARGET},
        headers={"Authorization": f"Bearer {seeded.tokens['admin']}"},
    )
    assert api.status_code not in (401, 403), api.get_data(as_text=True)
    assert "CSRF" not in api.get_data(as_text=True)
    user_client, token = log_in_client(app, seeded.user_ids["own"])
    assert user_client.post(f"/record/{seeded.record_id}/split").status_code == 400
    ok = user_client.post(f"/record/{seeded.record_id}/split", data={"csrf_token": token})
    assert ok.status_code < 400
    with app.app_context():
        db.engine.dispose()


def _seed(app: Flask) -> Seeded:
    from tests.security.conftest import seed

    return seed(app)


def _boom() -> None:
    raise OperationalError("SELECT password_hash FROM libext_user", {}, Exception("disk I/O"))


def test_a_crash_in_a_page_shows_a_plain_500(app: Flask) -> None:
    app.view_functions["libext_search.index"] = _boom
    response = app.test_client().get("/")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "SELECT" not in text and "Traceback" not in text and "password_hash" not in text
    assert "Đã xảy ra lỗi" in text
    assert response.headers["Content-Security-Policy"]


def test_a_crash_in_the_api_is_json_without_sql(app: Flask) -> None:
    app.view_functions["libext_api.libraries"] = _boom
    response = app.test_client().get("/api/libraries")
    assert response.status_code == 500
    assert response.is_json
    body = response.get_data(as_text=True)
    assert "SELECT" not in body and "Traceback" not in body
    assert response.get_json()["error"]["code"] == 500


def test_upload_above_the_limit_is_413(app: Flask, seeded: Seeded) -> None:
    app.config["LIBEXT_MAX_UPLOAD_BYTES"] = 10_000
    big = b"x" * 20_000
    api = app.test_client().post(
        "/api/sources",
        data=big,
        content_type="application/json",
        headers={"Authorization": f"Bearer {seeded.tokens['admin']}"},
    )
    assert api.status_code == 413
    assert api.is_json
    client, token = log_in_client(app, seeded.user_ids["own"])
    page = client.post(
        f"/record/{seeded.record_id}/split",
        data={"csrf_token": token, "padding": "y" * 20_000},
    )
    assert page.status_code == 413
    assert "MB" in page.get_data(as_text=True)


def test_the_host_limit_wins_when_smaller(db_url: str) -> None:
    app = secure_app(db_url, MAX_CONTENT_LENGTH=100)
    response = app.test_client().post("/oai", data={"verb": "Identify", "x": "y" * 500})
    assert response.status_code == 413


def test_marc_data_is_escaped_in_pages(app: Flask) -> None:
    with app.app_context():
        session = get_session()
        from libext.models import Library

        session.add(Library(code=TARGET, name="<b>Tỉnh</b>"))
        session.commit()
        store = app.extensions["libext"].store()
        saved = store.save(store.library(TARGET), a_record("<script>alert('x')</script>"))
        store.flush()
        session.commit()
        record_id = saved.record.id
    client = app.test_client()
    for path in ("/", f"/record/{record_id}", "/?q=alert", "/api/libraries"):
        response = client.get(path)
        text = response.get_data(as_text=True)
        assert "<script>alert" not in text, path
        assert "<b>Tỉnh</b>" not in text or response.is_json, path
    assert "&lt;script&gt;" in client.get(f"/record/{record_id}").get_data(as_text=True)


def test_inline_styles_carry_the_responses_csp_nonce(app: Flask) -> None:
    import re

    nonces = []
    for _ in range(2):
        response = app.test_client().get("/?q=kiều")
        csp = response.headers["Content-Security-Policy"]
        match = re.search(r"style-src 'self' 'nonce-([^']+)'", csp)
        assert match, csp
        nonce = match.group(1)
        text = response.get_data(as_text=True)
        for tag in re.findall(r"<(?:style|script)\b[^>]*>", text):
            assert f'nonce="{nonce}"' in tag, tag
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


@pytest.mark.parametrize(
    "filename",
    [
        "a\x00b.mrc",
        "ạ" * 200 + ".mrc",
        "../../../etc/cron.d/x",
        "..",
        "C:\\Windows\\x.mrc",
        "\u202e",
    ],
)
def test_upload_file_names_are_never_trusted(app: Flask, seeded: Seeded, filename: str) -> None:
    from pathlib import Path

    response = app.test_client().post(
        "/api/imports",
        data={
            "library": TARGET,
            "dry_run": "1",
            "file": (io.BytesIO(a_record().as_marc()), filename),
        },
        headers={"Authorization": f"Bearer {seeded.tokens['own']}"},
        content_type="multipart/form-data",
    )
    assert response.status_code in (201, 400, 422), response.get_data(as_text=True)
    folder = Path(app.config["LIBEXT_MARC_UPLOAD_DIR"])
    for path in folder.rglob("*"):
        assert path.parent == folder
        assert len(path.name.encode()) < 100


def test_behind_a_trusted_proxy_https_and_client_address_are_seen(db_url: str) -> None:
    app = secure_app(db_url, LIBEXT_PROXY_HOPS=1)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    cookie = app.test_client().get("/account/login", headers=forwarded).headers["Set-Cookie"]
    assert "Secure" in cookie
    untrusted = secure_app(db_url)  # no proxy configured: forwarded headers are ignored
    cookie = untrusted.test_client().get("/account/login", headers=forwarded).headers["Set-Cookie"]
    assert "Secure" not in cookie


def test_basic_credentials_of_a_proxy_neither_replace_the_session_nor_lift_csrf(
    app: Flask, seeded: Seeded
) -> None:
    """An intranet proxy with HTTP Basic auth: the browser resends it, even cross-site."""
    client, token = log_in_client(app, seeded.user_ids["own"])
    basic = {"Authorization": "Basic bGlicmFyaWFuOnNlY3JldA=="}
    assert client.get("/account/", headers=basic).status_code == 200  # still logged in
    refused = client.post(f"/record/{seeded.record_id}/split", headers=basic)
    assert refused.status_code == 400
    ok = client.post(f"/record/{seeded.record_id}/split", headers=basic, data={"csrf_token": token})
    assert ok.status_code < 400


HUGE = "9" * 30


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/record/{HUGE}"),
        ("GET", f"/record/{HUGE}.mrc"),
        ("GET", f"/api/records/{HUGE}"),
        ("GET", f"/api/imports/{HUGE}"),
        ("GET", f"/cataloguing/batches/{HUGE}"),
        ("DELETE", f"/api/records/{HUGE}"),
        ("POST", f"/api/imports/{HUGE}/revert"),
        ("GET", "/sru?operation=searchRetrieve&version=1.2&query=" + "(" * 5000 + "a"),
        ("GET", "/api/export?library=HNM&q=" + "(" * 3000),
        ("GET", "/api/search?q=" + "(" * 3000 + "&page=" + HUGE),
    ],
)
def test_out_of_range_ids_and_deep_queries_are_not_500(
    app: Flask, seeded: Seeded, method: str, path: str
) -> None:
    headers = {"Authorization": f"Bearer {seeded.tokens['admin']}"}
    response = app.test_client().open(path, method=method, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
