"""Fixtures for the security tests: an app wired as the standalone one (built-in accounts,
CSRF on, exceptions turned into 500 answers), with two libraries, a record and four principals.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pymarc
import pytest
from flask import Flask
from flask.testing import FlaskClient

from libext import accounts
from libext.db import get_session
from libext.models import Library, Record, User
from tests.conftest import make_app

#: The library the requests write to, and another one.
TARGET = "HNM"
OTHER = "PLY"


def secure_app(db_url: str, **config: object) -> Flask:
    """The app as deployed standalone: libext's accounts, CSRF checked, no propagated errors."""
    settings: dict[str, object] = {
        "LIBEXT_AUTH_PRINCIPAL_LOADER": None,
        "WTF_CSRF_ENABLED": True,
        "PROPAGATE_EXCEPTIONS": False,
        # staged uploads go to a temporary folder, not the instance folder of the work tree
        "LIBEXT_MARC_UPLOAD_DIR": tempfile.mkdtemp(prefix="libext-security-uploads-"),
    }
    settings.update(config)
    return make_app(db_url, **settings)


def a_record(title: str = "Truyện Kiều") -> pymarc.Record:
    """A small MARC record."""
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field(tag="001", data="sec-0001"))
    record.add_field(
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("1", "0"),
            subfields=[pymarc.Subfield("a", title)],
        )
    )
    return record


@dataclass
class Seeded:
    """What the seeded database holds."""

    record_id: int
    tokens: dict[str, str]
    user_ids: dict[str, int]
    #: An import batch of TARGET (None until the import feature is there).
    batch_id: int | None = None


#: role name → (libext role, libraries)
PEOPLE = {
    "own": ("cataloguer", [TARGET]),
    "other": ("cataloguer", [OTHER]),
    "admin": ("admin", []),
}


def seed(app: Flask) -> Seeded:
    """Two libraries, a record of TARGET, and an account with a token per person."""
    with app.app_context():
        session = get_session()
        session.add_all(
            [Library(code=TARGET, name="Tỉnh Hà Nam"), Library(code=OTHER, name="Phủ Lý")]
        )
        session.commit()
        store = app.extensions["libext"].store()
        result = store.save(store.library(TARGET), a_record())
        store.flush()
        session.commit()
        record_id = result.record.id
        tokens, ids = {}, {}
        for person, (role, libraries) in PEOPLE.items():
            user = accounts.add_user(session, person, role, libraries)
            tokens[person] = accounts.create_token(session, person).secret
            ids[person] = user.id
        assert session.get(Record, record_id) is not None
        return Seeded(record_id, tokens, ids, _import_batch(app))


def _import_batch(app: Flask) -> int | None:
    """Import one small file into TARGET, so batch endpoints have a batch to act on."""
    from pathlib import Path

    from libext.importer import import_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "batch.mrc"
        record = a_record("Lô nhập thử")
        record["001"].data = "sec-batch-1"
        path.write_bytes(record.as_marc())
        state = app.extensions["libext"]
        store = state.store()
        report = import_file(store, store.library(TARGET), path)
        state.db.session.commit()
        return report.batch


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    application = secure_app(db_url)
    yield application
    with application.app_context():
        application.extensions["libext"].db.engine.dispose()
    shutil.rmtree(application.config["LIBEXT_MARC_UPLOAD_DIR"], ignore_errors=True)


@pytest.fixture
def seeded(app: Flask) -> Seeded:
    return seed(app)


def log_in_client(app: Flask, user_id: int) -> tuple[FlaskClient, str]:
    """A client with a session of ``user_id``, and a CSRF token of that session."""
    client = app.test_client()
    with client.session_transaction() as session:
        session[accounts.SESSION_USER] = user_id
        session[accounts.SESSION_SINCE] = int(time.time())
        with app.app_context():
            session[accounts.SESSION_VERSION] = get_session().get(User, user_id).session_version
    page = client.get("/account/").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, page
    return client, match.group(1)
