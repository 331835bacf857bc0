"""Built-in accounts: the CLI, password hashing, API tokens, login with CSRF and rate limiting."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from libext import accounts
from libext.db import get_session
from libext.models import ApiToken, Library, LoginFailure, User
from tests.conftest import make_app

PASSWORD = "đúng-mật-khẩu-42"


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    """The standalone wiring: built-in accounts (no host loader), CSRF on."""
    application = make_app(db_url, LIBEXT_AUTH_PRINCIPAL_LOADER=None, WTF_CSRF_ENABLED=True)
    with application.app_context():
        session = get_session()
        session.add_all([Library(code="HNM", name="Tỉnh"), Library(code="PLY", name="Phủ Lý")])
        session.commit()
    yield application
    with application.app_context():
        application.extensions["libext"].db.engine.dispose()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def add(runner: FlaskCliRunner, *args: str, password: str | None = PASSWORD) -> object:
    cli_args = ["libext", "user", "add", *args]
    if password is not None:
        cli_args.append("--password-stdin")
    return runner.invoke(args=cli_args, input=f"{password}\n" if password else None)


def csrf_token(client: FlaskClient, path: str = "/account/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def login(client: FlaskClient, name: str, password: str) -> object:
    token = csrf_token(client)
    return client.post(
        "/account/login", data={"name": name, "password": password, "csrf_token": token}
    )


# --- CLI --------------------------------------------------------------------------------------
def test_user_add_stores_an_argon2_hash_and_libraries(app: Flask, runner: FlaskCliRunner) -> None:
    result = add(runner, "lan", "--role", "cataloguer", "--library", "HNM", "--library", "PLY")
    assert result.exit_code == 0, result.output
    assert "Added cataloguer lan for HNM, PLY" in result.output
    with app.app_context():
        user = accounts.find_user(get_session(), "lan")
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert user.library_codes == ["HNM", "PLY"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lan", "--role", "cataloguer"], "needs at least one --library"),
        (["lan", "--role", "cataloguer", "--library", "XXX"], "no library with code XXX"),
        (["lan x", "--role", "admin"], "invalid user name"),
        (["../etc", "--role", "admin"], "invalid user name"),
    ],
)
def test_user_add_refuses_bad_input_with_exit_2(
    runner: FlaskCliRunner, args: list[str], message: str
) -> None:
    result = add(runner, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_user_add_refuses_a_role_outside_the_list(runner: FlaskCliRunner) -> None:
    result = add(runner, "lan", "--role", "superuser")
    assert result.exit_code == 2
    assert "superuser" in result.output


def test_short_password_and_duplicate_are_refused(runner: FlaskCliRunner) -> None:
    assert add(runner, "lan", "--role", "admin", password="short").exit_code == 2
    assert add(runner, "lan", "--role", "admin").exit_code == 0
    again = runner.invoke(args=["libext", "user", "add", "lan", "--role", "admin", "--json"])
    assert again.exit_code == 2
    assert json.loads(again.output) == {"error": "user lan already exists"}


def test_user_list_remove_and_json(app: Flask, runner: FlaskCliRunner) -> None:
    add(runner, "lan", "--role", "cataloguer", "--library", "HNM")
    add(runner, "boss", "--role", "admin", password=None)
    listed = json.loads(runner.invoke(args=["libext", "user", "list", "--json"]).output)
    assert [(u["name"], u["role"], u["libraries"], u["has_password"]) for u in listed["users"]] == [
        ("boss", "admin", [], False),
        ("lan", "cataloguer", ["HNM"], True),
    ]
    assert "password_hash" not in json.dumps(listed)
    runner.invoke(args=["libext", "token", "create", "lan"])
    assert runner.invoke(args=["libext", "user", "remove", "lan"]).exit_code == 0
    assert runner.invoke(args=["libext", "user", "remove", "lan"]).exit_code == 2
    with app.app_context():
        assert get_session().query(ApiToken).count() == 0


def test_token_create_prints_the_token_alone_and_stores_a_digest(
    app: Flask, runner: FlaskCliRunner
) -> None:
    add(runner, "lan", "--role", "cataloguer", "--library", "HNM")
    result = runner.invoke(args=["libext", "token", "create", "lan"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert result.output == token + "\n"
    assert re.fullmatch(r"lxt_[A-Za-z0-9_-]{43}", token)
    as_json = json.loads(runner.invoke(args=["libext", "token", "create", "lan", "--json"]).output)
    assert as_json["token"].startswith("lxt_") and as_json["token"] != token
    with app.app_context():
        stored = get_session().query(ApiToken).order_by(ApiToken.id).all()
        assert [t.digest for t in stored] == [
            accounts.token_digest(token),
            accounts.token_digest(as_json["token"]),
        ]
        assert all(token not in (t.digest, t.label) for t in stored)
    listing = runner.invoke(args=["libext", "token", "list"]).output
    assert token not in listing and token[:12] in listing
    assert runner.invoke(args=["libext", "token", "create", "nobody"]).exit_code == 2


def test_revoked_token_no_longer_authenticates(app: Flask, runner: FlaskCliRunner) -> None:
    add(runner, "boss", "--role", "admin", password=None)
    token = runner.invoke(args=["libext", "token", "create", "boss"]).output.strip()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    with app.test_request_context(headers=headers):
        assert accounts.load_principal() is not None
    revoked = runner.invoke(args=["libext", "token", "revoke", token[:12], "--json"])
    assert revoked.exit_code == 0
    assert json.loads(revoked.output)["revoked"]
    with app.test_request_context(headers=headers):
        assert accounts.load_principal() is None
    assert runner.invoke(args=["libext", "token", "revoke", "999"]).exit_code == 2
    del client


def test_set_password_ends_open_sessions(app: Flask, runner: FlaskCliRunner) -> None:
    add(runner, "lan", "--role", "cataloguer", "--library", "HNM")
    client = app.test_client()
    assert login(client, "lan", PASSWORD).status_code == 302
    assert client.get("/account/").status_code == 200
    result = runner.invoke(
        args=["libext", "user", "set-password", "lan", "--password-stdin"],
        input="một-mật-khẩu-mới-hơn\n",
    )
    assert result.exit_code == 0
    assert client.get("/account/").status_code == 302  # back to the login form
    assert login(client, "lan", PASSWORD).status_code == 401
    assert login(client, "lan", "một-mật-khẩu-mới-hơn").status_code == 302


# --- principal loader -------------------------------------------------------------------------
def test_bearer_token_gives_the_users_principal(app: Flask, runner: FlaskCliRunner) -> None:
    add(runner, "lan", "--role", "cataloguer", "--library", "HNM", password=None)
    token = runner.invoke(args=["libext", "token", "create", "lan"]).output.strip()
    with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
        principal = accounts.load_principal()
    assert principal is not None
    assert principal.name == "lan"
    assert principal.may_catalogue("HNM") and not principal.may_catalogue("PLY")
    for header in (f"Bearer {token}x", "Bearer ", f"Basic {token}", "Bearer lxt_nope"):
        with app.test_request_context(headers={"Authorization": header}):
            assert accounts.load_principal() is None


def test_token_use_is_recorded(app: Flask, runner: FlaskCliRunner) -> None:
    add(runner, "boss", "--role", "admin", password=None)
    token = runner.invoke(args=["libext", "token", "create", "boss"]).output.strip()
    response = app.test_client().get("/account/", headers={"Authorization": f"Bearer {token}"})
    response.close()
    with app.app_context():
        assert get_session().query(ApiToken).one().last_used is not None


def test_a_host_loader_wins_over_builtin_accounts(db_url: str) -> None:
    app = make_app(db_url)  # the conftest's header loader stands for the host's login
    assert app.extensions["libext"].principal_loader is not accounts.load_principal
    assert app.test_client().get("/account/login").status_code == 404


# --- login page -------------------------------------------------------------------------------
def test_login_logout_round_trip(app: Flask, runner: FlaskCliRunner) -> None:
    add(runner, "lan", "--role", "cataloguer", "--library", "HNM")
    client = app.test_client()
    assert client.get("/account/").status_code == 302
    response = login(client, "lan", PASSWORD)
    assert response.status_code == 302
    page = client.get("/account/").get_data(as_text=True)
    assert "lan" in page and "HNM" in page
    token = csrf_token(client, "/account/")
    assert client.post("/account/logout").status_code == 400  # no CSRF token
    assert client.post("/account/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/account/").status_code == 302
    with app.app_context():
        assert get_session().query(User).one().last_login is not None


def test_login_without_csrf_token_is_refused(app: Flask, runner: FlaskCliRunner) -> None:
    add(runner, "lan", "--role", "cataloguer", "--library", "HNM")
    client = app.test_client()
    response = client.post("/account/login", data={"name": "lan", "password": PASSWORD})
    assert response.status_code == 400
    assert "hết hạn" in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_wrong_password_and_unknown_user_look_alike(app: Flask, runner: FlaskCliRunner) -> None:
    add(runner, "lan", "--role", "cataloguer", "--library", "HNM")
    client = app.test_client()
    wrong = login(client, "lan", "not the password")
    unknown = login(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401

    def page(response: object) -> str:
        text = response.get_data(as_text=True)  # type: ignore[attr-defined]
        return re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", text)

    assert page(wrong) == page(unknown).replace('value="nobody"', 'value="lan"')


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/cataloguing/", "/cataloguing/"),
        ("https://evil.example/", "/account/"),
        ("//evil.example/", "/account/"),
        ("/\\evil.example", "/account/"),
        ("javascript:alert(1)", "/account/"),
        ("", "/account/"),
    ],
)
def test_login_redirects_only_within_the_site(
    app: Flask, runner: FlaskCliRunner, target: str, expected: str
) -> None:
    add(runner, "lan", "--role", "cataloguer", "--library", "HNM")
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/account/login",
        data={"name": "lan", "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_is_rate_limited_per_account(app: Flask, runner: FlaskCliRunner) -> None:
    add(runner, "lan", "--role", "cataloguer", "--library", "HNM")
    app.config["LIBEXT_AUTH_LOGIN_MAX_FAILURES"] = 3
    client = app.test_client()
    for _ in range(3):
        assert login(client, "lan", "guess").status_code == 401
    limited = login(client, "lan", PASSWORD)  # even the right password waits
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 900
    # another account from the same address is not locked by lan's failures
    add(runner, "boss", "--role", "admin")
    assert login(client, "boss", PASSWORD).status_code == 302
    # once the failures leave the window, lan may log in again, and its count is cleared
    with app.app_context():
        session = get_session()
        for failure in session.query(LoginFailure):
            failure.at = failure.at.replace(year=failure.at.year - 1)
        session.commit()
    assert login(app.test_client(), "lan", PASSWORD).status_code == 302
    with app.app_context():
        assert get_session().query(LoginFailure).filter_by(key="user:lan").count() == 0


def test_login_is_rate_limited_per_address(app: Flask, runner: FlaskCliRunner) -> None:
    add(runner, "lan", "--role", "cataloguer", "--library", "HNM")
    app.config["LIBEXT_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 4
    client = app.test_client()
    for i in range(4):
        assert login(client, f"guess{i}", "guess").status_code == 401
    assert login(client, "lan", PASSWORD).status_code == 429
    other = app.test_client()
    response = other.post(
        "/account/login",
        data={"name": "lan", "password": PASSWORD, "csrf_token": csrf_token(other)},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert response.status_code == 302


def test_old_password_hashes_are_upgraded_at_login(app: Flask, runner: FlaskCliRunner) -> None:
    from argon2 import PasswordHasher

    add(runner, "lan", "--role", "cataloguer", "--library", "HNM")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with app.app_context():
        session = get_session()
        session.query(User).one().password_hash = weak
        session.commit()
    assert login(app.test_client(), "lan", PASSWORD).status_code == 302
    with app.app_context():
        upgraded = get_session().query(User).one().password_hash
    assert upgraded != weak and upgraded.startswith("$argon2id$")


def test_page_header_offers_login_then_logout(app: Flask, runner: FlaskCliRunner) -> None:
    add(runner, "lan", "--role", "cataloguer", "--library", "HNM")
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert 'href="/account/login?next=/"' in page
    login(client, "lan", PASSWORD)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/account/"' in page and ">lan<" in page
    token = re.search(
        r'id="libext-logout"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page
    )
    assert token
    assert client.post("/account/logout", data={"csrf_token": token.group(1)}).status_code == 302
    assert "/account/login" in client.get("/").get_data(as_text=True)


def test_a_host_login_gets_no_libext_menu(db_url: str) -> None:
    app = make_app(db_url)
    assert "/account/login" not in app.test_client().get("/").get_data(as_text=True)


def test_a_login_ends_after_the_session_lifetime(app: Flask, runner: FlaskCliRunner) -> None:
    add(runner, "lan", "--role", "cataloguer", "--library", "HNM")
    client = app.test_client()
    assert login(client, "lan", PASSWORD).status_code == 302
    assert client.get("/account/").status_code == 200
    with client.session_transaction() as session:
        session[accounts.SESSION_SINCE] -= app.config["LIBEXT_AUTH_SESSION_LIFETIME"] + 1
    assert client.get("/account/").status_code == 302  # back to the login form
    with client.session_transaction() as session:
        assert accounts.SESSION_USER not in session
