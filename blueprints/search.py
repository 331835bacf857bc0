"""The union catalogue's public pages: search (``/``), record pages, downloads, OpenSearch.

Thin views: parse the request, call :mod:`libext.search`, render. Everything works without
JavaScript (plain links and GET forms); a cataloguer's cluster split is a POST form.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pymarc
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from libext.auth import cataloguer_required, current_principal, require_library
from libext.db import get_session
from libext.extension import LOCALES
from libext.models import Library, Record, live_record_counts
from libext.models.search import SearchCluster, SearchMember
from libext.search import labels
from libext.search.citation import bibtex, ris
from libext.search.documents import FACETS
from libext.search.engine import SORTS
from libext.search.indexer import SearchIndexer
from libext.search.service import cluster_members, holders_of, library_names, run_search
from marc.extract import extract
from marc.writer import record_to_xml_element

bp = Blueprint("libext_search", __name__, template_folder="templates")

#: Query-string names of the facet filters (the JSON API uses the same).
FILTER_PARAMS = {
    "library": "library",
    "type": "type",
    "language": "lang",
    "decade": "decade",
    "subject": "subject",
    "author": "author",
}


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, low), high)


def request_filters(args: MultiDict[str, str]) -> dict[str, list[str]]:
    """Facet filters from query arguments (repeated names are alternatives)."""
    filters = {}
    for facet, param in FILTER_PARAMS.items():
        values = [v[:255] for v in args.getlist(param) if v.strip()]
        if facet == "language":
            # ``lang`` also switches the page language (vi/en); MARC codes have three letters.
            values = [v for v in values if v not in LOCALES]
        if values:
            filters[facet] = values[:20]
    return filters


def _search_url(args: MultiDict[str, str]) -> str:
    # A page of facets makes dozens of these links: the route is built once per request and
    # only the query string each time (url_for per link was a fifth of the page's cost).
    if "libext_search_base" not in g:
        g.libext_search_base = url_for("libext_search.index")
    query = urlencode(list(args.items(multi=True)))
    return f"{g.libext_search_base}?{query}" if query else g.libext_search_base


@bp.app_template_global("libext_url_with")
def url_with(**changes: object) -> str:
    """The current search URL with arguments replaced (None removes one); back to page 1."""
    args = MultiDict(request.args)
    args.poplist("page")
    for name, value in changes.items():
        args.poplist(name)
        if value is not None:
            args.add(name, str(value))
    return _search_url(args)


@bp.app_template_global("libext_locale")
def current_locale() -> str:
    """The language of the page being rendered (``vi`` or ``en``)."""
    locale = get_locale()
    return str(locale) if locale else "vi"


@bp.record_once
def _expose_locale(state: object) -> None:
    # base.html sets <html lang> from get_locale(), which Flask-Babel does not put in Jinja.
    state.app.jinja_env.globals.setdefault("get_locale", current_locale)  # type: ignore[attr-defined]


@bp.app_template_global("libext_lang_url")
def lang_url(code: str) -> str:
    """The current page in another language (``?lang=``, remembered in the session)."""
    args = MultiDict(request.args)
    # Keep language *filters* (three-letter MARC codes); replace the page language.
    kept = [v for v in args.poplist("lang") if v not in LOCALES]
    for value in [*kept, code]:
        args.add("lang", value)
    endpoint = request.endpoint or "libext_search.index"
    return url_for(endpoint, **(request.view_args or {}), **args.to_dict(flat=False))


@bp.app_template_global("libext_url_toggle")
def url_toggle(name: str, value: str) -> str:
    """The current search URL with one filter value added, or removed when already there."""
    args = MultiDict(request.args)
    args.poplist("page")
    values = args.poplist(name)
    values = [v for v in values if v != value] if value in values else [*values, value]
    for item in values:
        args.add(name, item)
    return _search_url(args)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Search page; with nothing asked, the home page of the network."""
    session = get_session()
    q = request.args.get("q", "")
    filters = request_filters(request.args)
    sort = request.args.get("sort", "relevance")
    config = current_app.config
    names = library_names(session)
    if not q.strip() and not filters:
        counts = live_record_counts(session)
        libraries = [
            (lib, counts.get(lib.id, 0))
            for lib in session.scalars(select(Library).order_by(Library.id))
        ]
        return render_template("libext/search/index.html", libraries=libraries, q="")
    size = _int_arg("size", config["LIBEXT_SEARCH_PAGE_SIZE"], 1, 100)
    results = run_search(
        session,
        q,
        filters=filters,
        sort=sort,
        page=_int_arg("page", 1, 1, 100_000),
        size=size,
        facet_size=config["LIBEXT_SEARCH_FACET_SIZE"],
        facet_sample=config["LIBEXT_SEARCH_FACET_SAMPLE"],
    )
    return render_template(
        "libext/search/results.html",
        q=q,
        results=results,
        filters=filters,
        sort=sort if sort in SORTS else "relevance",
        sorts=SORTS,
        facet_order=FACETS,
        filter_params=FILTER_PARAMS,
        library_names=names,
        labels=labels,
    )


def _record_or_404(record_id: int) -> Record:
    record = get_session().scalar(
        select(Record).where(Record.id == record_id).options(selectinload(Record.holdings))
    )
    if record is None:
        abort(404)
    return record


def _pymarc(record: Record) -> pymarc.Record:
    try:
        return pymarc.Record(data=record.marc, to_unicode=True, force_utf8=True)
    except Exception:  # kept bytes pymarc cannot re-read: show what was extracted only
        abort(422, description="This record's MARC data cannot be read.")


@bp.get("/record/<int:record_id>")
def record_page(record_id: int) -> ResponseReturnValue:
    """A record with its edition's holdings in every library, MARC view and downloads."""
    session = get_session()
    record = _record_or_404(record_id)
    marc = _pymarc(record)
    member = session.get(SearchMember, record.id)
    cluster = session.get(SearchCluster, member.cluster_id) if member else None
    members = cluster_members(session, [cluster.id])[cluster.id] if cluster else [record]
    if record.deleted and record not in members:
        members = [record, *members]
    principal = current_principal()
    may_split = bool(
        cluster
        and len(members) > 1
        and principal is not None
        and principal.may_catalogue(record.library.code)
    )
    return render_template(
        "libext/search/record.html",
        record=record,
        marc=marc,
        data=extract(marc),
        cluster=cluster,
        members=members,
        holders=holders_of([m for m in members if not m.deleted]),
        may_split=may_split,
        labels=labels,
        permalink=url_for("libext_search.record_page", record_id=record.id, _external=True),
        split_done=request.args.get("split") == "1",
    ), (410 if record.deleted else 200)


@bp.get("/record/<int:record_id>.<fmt>")
def download(record_id: int, fmt: str) -> ResponseReturnValue:
    """The record as ISO 2709 (``mrc``), MARCXML (``xml``), RIS (``ris``) or BibTeX (``bib``)."""
    record = _record_or_404(record_id)
    if record.deleted:
        abort(410)
    marc = _pymarc(record)
    url = url_for("libext_search.record_page", record_id=record.id, _external=True)
    name = f"record-{record.id}"
    if fmt == "mrc":
        body, mimetype = record.marc, "application/marc"
    elif fmt == "xml":
        collection = etree.Element(
            "{http://www.loc.gov/MARC21/slim}collection",
            nsmap={"marc": "http://www.loc.gov/MARC21/slim"},
        )
        collection.append(record_to_xml_element(marc))
        body = etree.tostring(collection, xml_declaration=True, encoding="UTF-8")
        mimetype = "application/marcxml+xml"
    elif fmt == "ris":
        body, mimetype = (
            ris(extract(marc), record.id, url).encode(),
            "application/x-research-info-systems",
        )
    elif fmt == "bib":
        body, mimetype = bibtex(extract(marc), record.id, url).encode(), "application/x-bibtex"
    else:
        abort(404)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    if mimetype != "application/marc":
        response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    return response


@bp.post("/record/<int:record_id>/split")
@cataloguer_required
def split(record_id: int) -> ResponseReturnValue:
    """A cataloguer takes a wrongly clustered record out into an edition of its own."""
    session = get_session()
    record = _record_or_404(record_id)
    require_library(record.library.code)
    if SearchIndexer(session).split(record.id) is None:
        abort(409, description="This record is not in a cluster.")
    session.commit()
    return redirect(url_for("libext_search.record_page", record_id=record.id, split=1), 303)


@bp.get("/opensearch.xml")
def opensearch() -> ResponseReturnValue:
    """OpenSearch description, so browsers can add the catalogue as a search engine."""
    body = render_template(
        "libext/search/opensearch.xml",
        search_url=url_for("libext_search.index", _external=True),
        api_url=url_for("libext_api.search", _external=True)
        if "libext_api" in current_app.blueprints
        else None,
    )
    return Response(body, mimetype="application/opensearchdescription+xml")
