"""The OAI-PMH endpoint (``/oai`` by default): GET and form-encoded POST, always XML.

The view only gathers the request's ``key=value`` pairs and the base URL; the protocol lives
in :mod:`oai.provider`, which reads records through the app's record source (libext's store,
or the host ILS's own seam). Every OAI answer, errors included, is HTTP 200 ``text/xml``;
a configuration mistake or a database outage is a 503 with ``Retry-After``, never a 500.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from datetime import timedelta

from flask import Blueprint, Response, current_app, request

from oai.provider import OAIResponse, Provider, ProviderSettings

bp = Blueprint("libext_oai", __name__)
logger = logging.getLogger(__name__)


def make_provider() -> Provider:
    """A provider over the current app's record source, with the ``LIBEXT_OAI_*`` settings.

    Raises ValueError when the settings cannot make a valid repository.
    """
    config = current_app.config
    emails = config["LIBEXT_OAI_ADMIN_EMAILS"]
    settings = ProviderSettings(
        repository_name=str(config["LIBEXT_OAI_REPOSITORY_NAME"]),
        repository_identifier=str(config["LIBEXT_OAI_REPOSITORY_IDENTIFIER"]),
        admin_emails=(emails,) if isinstance(emails, str) else tuple(emails),
        page_size=int(config["LIBEXT_OAI_PAGE_SIZE"]),
        token_lifetime=timedelta(seconds=float(config["LIBEXT_OAI_TOKEN_LIFETIME"])),
        compression=COMPRESSION if config["LIBEXT_OAI_COMPRESSION"] else (),
    )
    secret = config["LIBEXT_OAI_SECRET"] or current_app.secret_key
    if not secret:
        raise ValueError("OAI resumption tokens need SECRET_KEY or LIBEXT_OAI_SECRET to be set.")
    source = current_app.extensions["libext"].record_source()
    return Provider(source, settings, secret)


#: Content encodings offered (protocol 3.1.3), in order of preference.
COMPRESSION = ("gzip", "deflate")
# A fast level: a page of MARCXML still shrinks about eightfold, for little server time.
_LEVEL = 3


def _encode(body: bytes) -> tuple[bytes, str | None]:
    """``body`` compressed in the best encoding the client accepts, if compression is on."""
    if not current_app.config["LIBEXT_OAI_COMPRESSION"]:
        return body, None
    accepted = request.accept_encodings
    if accepted["gzip"]:
        return gzip.compress(body, compresslevel=_LEVEL, mtime=0), "gzip"
    if accepted["deflate"]:  # HTTP "deflate" is the zlib format
        return zlib.compress(body, _LEVEL), "deflate"
    return body, None


def base_url() -> str:
    """``LIBEXT_OAI_BASE_URL`` if set, else the URL this request came to (no query string)."""
    return current_app.config["LIBEXT_OAI_BASE_URL"] or request.base_url


@bp.route("", methods=["GET", "POST"], strict_slashes=False)
def endpoint() -> Response:
    """Answer one OAI-PMH request."""
    # A POST carries its arguments form-encoded in the body (protocol 3.1.1.2); arguments
    # also put in its URL count too, so a verb given in both places is a repeated verb.
    pairs = list(request.args.items(multi=True))
    if request.method == "POST":
        pairs += list(request.form.items(multi=True))
    try:
        provider = make_provider()
    except Exception:
        logger.exception("OAI-PMH provider is misconfigured")
        answer = OAIResponse(
            b"The OAI-PMH service is not configured correctly; the administrator has been "
            b"told in the server log.\n",
            status=503,
            headers={"Retry-After": "3600"},
            content_type="text/plain; charset=utf-8",
        )
    else:
        answer = provider.handle(pairs, base_url())
    body, encoding = _encode(answer.body) if answer.status == 200 else (answer.body, None)
    response = Response(body, status=answer.status, content_type=answer.content_type)
    response.headers.update(answer.headers)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.vary.add("Accept-Encoding")
    return response
