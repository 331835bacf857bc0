"""The admin pages and the JSON API of harvest sources: admin only, clear errors, real runs."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import make_app
from tests.harvest import oai_server as srv
from tests.harvest.conftest import STORE_CONFIG, cli, records

ADMIN = {"X-Test-User": "root;roles=admin"}
CATALOGUER = {"X-Test-User": "ana;roles=cataloguer;libraries=HNM"}
# A bearer-authenticated API call (as a script would make): no CSRF token needed.
API = {**ADMIN, "Authorization": "Bearer test"}


@pytest.fixture
def app(db_url: str):
    """The harvest test app with CSRF protection on, as in production."""
    application = make_app(db_url, **STORE_CONFIG, WTF_CSRF_ENABLED=True)
    yield application
    with application.app_context():
        application.extensions["libext"].db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def csrf(client, path: str) -> str:
    page = client.get(path, headers=ADMIN).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def wait_for_run(client, code: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        runs = client.get(f"/api/sources/{code}/runs", headers=API).get_json()["runs"]
        if runs and runs[0]["status"] != "running":
            return runs[0]
        assert time.monotonic() < deadline, "the background harvest did not finish"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/sources"),
        ("post", "/api/sources"),
        ("get", "/api/sources/HNM"),
        ("patch", "/api/sources/HNM"),
        ("delete", "/api/sources/HNM"),
        ("post", "/api/sources/HNM/harvest"),
        ("get", "/admin/sources"),
        ("get", "/admin/sources/HNM"),
    ],
)
def test_admin_only(client, method, path):
    bearer = {"Authorization": "Bearer test"}
    assert getattr(client, method)(path, headers=bearer).status_code == 401
    assert getattr(client, method)(path, headers={**CATALOGUER, **bearer}).status_code == 403


def test_api_add_harvest_and_read_the_log(app, client):
    with srv.OAIServer(srv.generated_feed(5, 2)) as server:
        response = client.post(
            "/api/sources", json={"code": "HNM", "url": server.url, "name": "Hà Nam"}, headers=API
        )
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["prefix"] == "marc21"
        response = client.post("/api/sources/HNM/harvest", headers=API)
        assert response.status_code == 202
        run = wait_for_run(client, "HNM")
    assert (run["status"], run["pages"], run["added"]) == ("ok", 3, 5)
    listing = client.get("/api/sources", headers=API).get_json()["sources"]
    assert [(s["code"], s["last_run"]["added"]) for s in listing] == [("HNM", 5)]
    assert listing[0]["last_success"] == run["finished"]
    assert len(records(app, "HNM")) == 5
    response = client.patch("/api/sources/HNM", json={"enabled": False}, headers=API)
    assert response.status_code == 200 and response.get_json()["enabled"] is False
    assert client.delete("/api/sources/HNM", headers=API).get_json() == {"removed": "HNM"}
    assert client.get("/api/sources/HNM", headers=API).status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "send a JSON object"),
        ({"code": "X"}, "'code' and 'url' are required"),
        ({"code": "X", "url": "http://example.org/", "colour": "red"}, "unknown fields: colour"),
        ({"code": "X", "url": 7}, "'url' must be a string"),
        ({"code": "X", "url": "gopher://example.org/"}, "only http"),
        ({"code": "X", "url": "http://169.254.169.254/"}, "LIBEXT_HARVEST_ALLOWED_NETWORKS"),
    ],
)
def test_api_bad_input_is_a_clear_400(client, body, message):
    if isinstance(body, str):
        response = client.post("/api/sources", data=body, headers=API)
    else:
        response = client.post("/api/sources", json=body, headers=API)
    assert response.status_code == 400
    assert message in response.get_json()["error"]["message"]


def test_admin_pages_show_status_and_errors(app, client):
    feed = srv.generated_feed(4, 2)
    with srv.OAIServer(feed, [srv.status(500, "p2", times=100)]) as server:
        token = csrf(client, "/admin/sources")
        response = client.post(
            "/admin/sources",
            data={"csrf_token": token, "code": "HNM", "url": server.url, "name": "Hà Nam"},
            headers=ADMIN,
        )
        assert response.status_code == 302
        code, _ = cli(app, "harvest", "HNM")
        assert code == 1
    page = client.get("/admin/sources", headers=ADMIN).get_data(as_text=True)
    assert "HNM" in page and "Hà Nam" in page and "failed" in page
    assert "HTTP 500" in page
    detail = client.get("/admin/sources/HNM", headers=ADMIN).get_data(as_text=True)
    assert "HTTP 500" in detail and server.url in detail


def test_admin_add_with_a_bad_url_says_why(client):
    token = csrf(client, "/admin/sources")
    response = client.post(
        "/admin/sources",
        data={"csrf_token": token, "code": "HNM", "url": "file:///etc/passwd"},
        headers=ADMIN,
    )
    assert response.status_code == 400
    assert "only http:// and https:// URLs can be harvested" in response.get_data(as_text=True)


def test_admin_form_without_csrf_token_is_refused(client):
    response = client.post(
        "/admin/sources", data={"code": "HNM", "url": "http://example.org/"}, headers=ADMIN
    )
    assert response.status_code == 400


def test_admin_remove_keeps_records(app, client):
    with srv.OAIServer(srv.generated_feed(2, 2)) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        cli(app, "harvest", "HNM")
    token = csrf(client, "/admin/sources/HNM")
    response = client.post("/admin/sources/HNM/remove", data={"csrf_token": token}, headers=ADMIN)
    assert response.status_code == 302
    assert client.get("/admin/sources/HNM", headers=ADMIN).status_code == 404
    assert len(records(app, "HNM")) == 2
