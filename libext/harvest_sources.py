"""The harvest source registry: add, edit, remove and list the OAI-PMH sources.

Adding (or re-pointing) a source validates it against the repository itself: the URL must be
http(s) and not point inside the network (unless ``LIBEXT_HARVEST_ALLOWED_NETWORKS`` allows
it), ``Identify`` must answer (granularity and earliest datestamp are kept), and
``ListMetadataFormats`` decides the metadata prefix: MARC 21 (``marc21``/``marcxml``) is
preferred over ``oai_dc``. The CLI, the admin page and the JSON API all call these functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from libext.harvesting import make_client, write_lock
from libext.models import HarvestRun, HarvestSource, Library
from oai.harvest import HarvestError, IdentifyInfo, MetadataFormatInfo
from oai.harvest.address import check_base_url

#: Prefixes tried in this order when none is given: MARC 21 first, Dublin Core last.
PREFERRED_PREFIXES = ("marc21", "marcxml", "MARC21", "marc", "oai_marc21", "oai_dc")
MARC_NAMESPACE = "http://www.loc.gov/MARC21/slim"
DC_NAMESPACE = "http://www.openarchives.org/OAI/2.0/oai_dc/"
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
GRANULARITIES = ("YYYY-MM-DD", "YYYY-MM-DDThh:mm:ssZ")


class SourceError(Exception):
    """A source cannot be added or changed; ``str()`` says why and what to do."""


@dataclass(frozen=True)
class Validated:
    """What the repository said when it was checked."""

    url: str
    prefix: str
    identify: IdentifyInfo
    formats: list[MetadataFormatInfo]


def choose_prefix(formats: list[MetadataFormatInfo], asked: str | None) -> str:
    """The metadata prefix to harvest: ``asked`` if offered, else MARC 21, else ``oai_dc``."""
    offered = {f.prefix: f for f in formats}
    if asked:
        if asked not in offered:
            raise SourceError(
                f"the repository does not offer metadata prefix {asked!r} "
                f"(it offers: {', '.join(offered) or 'nothing'})"
            )
        return asked
    for prefix in PREFERRED_PREFIXES:
        if prefix in offered:
            return prefix
    # A MARCXML or Dublin Core format under another name, recognised by its namespace.
    for namespace in (MARC_NAMESPACE, DC_NAMESPACE):
        for fmt in formats:
            if fmt.namespace.rstrip("/") == namespace.rstrip("/"):
                return fmt.prefix
    raise SourceError(
        "the repository offers neither MARC 21 nor oai_dc "
        f"(it offers: {', '.join(offered) or 'nothing'})"
    )


def validate(url: str, prefix: str | None, config: Any, set_spec: str | None = None) -> Validated:
    """Check ``url`` with ``Identify``, ``ListMetadataFormats`` (and ``ListSets`` when a set is
    asked for); raises :class:`SourceError`."""
    try:
        url = check_base_url(url, config.get("LIBEXT_HARVEST_ALLOWED_NETWORKS") or ())
    except HarvestError as exc:
        raise SourceError(str(exc)) from None
    client = make_client(url, config)
    try:
        identify = client.identify()
        formats = client.list_metadata_formats()
        sets = client.list_sets() if set_spec else []
    except HarvestError as exc:
        raise SourceError(f"{url} did not answer as an OAI-PMH repository: {exc}") from None
    finally:
        client.close()
    if identify.granularity not in GRANULARITIES:
        raise SourceError(f"{url}: Identify gives an unknown granularity {identify.granularity!r}")
    if set_spec and set_spec not in {spec for spec, _name in sets}:
        if not sets:
            raise SourceError(f"{url} has no sets, so it cannot be harvested by set {set_spec!r}")
        examples = ", ".join(spec for spec, _name in sets[:10])
        raise SourceError(f"{url} has no set {set_spec!r} (its sets include: {examples})")
    return Validated(url, choose_prefix(formats, prefix), identify, formats)


def find(session: Session, code: str) -> HarvestSource | None:
    """The source of library ``code``."""
    return session.scalar(
        select(HarvestSource).join(HarvestSource.library).where(Library.code == code)
    )


def add_source(
    session: Session,
    code: str,
    url: str,
    *,
    prefix: str | None = None,
    set_spec: str | None = None,
    name: str | None = None,
    config: Any,
) -> HarvestSource:
    """Register the source of library ``code`` (created when missing) after validating it."""
    if not CODE_PATTERN.fullmatch(code or ""):
        raise SourceError(f"invalid library code {code!r}: use letters, digits, '.', '_' or '-'")
    if find(session, code) is not None:
        raise SourceError(f"library {code} already has a harvest source; use 'source edit'")
    checked = validate(url, prefix, config, set_spec or None)
    with write_lock(session):
        library = session.scalar(select(Library).where(Library.code == code))
        if library is None:
            library_name = (name or "").strip() or checked.identify.repository_name or code
            library = Library(code=code, name=library_name[:255])
            session.add(library)
        elif name and name.strip():
            library.name = name.strip()[:255]
        source = HarvestSource(library=library)
        _apply(source, checked, set_spec or None)
        session.add(source)
        session.commit()
    return source


def edit_source(
    session: Session,
    code: str,
    *,
    url: str | None = None,
    prefix: str | None = None,
    set_spec: str | None = None,
    name: str | None = None,
    enabled: bool | None = None,
    config: Any,
) -> HarvestSource:
    """Change a source; a new URL, prefix or set is validated and restarts from scratch."""
    source = find(session, code)
    if source is None:
        raise SourceError(f"library {code} has no harvest source")
    new_set = source.set_spec if set_spec is None else (set_spec or None)
    if (
        (url is not None and url != source.url)
        or (prefix and prefix != source.metadata_prefix)
        or new_set != source.set_spec
    ):
        moved = url is not None and url != source.url
        # A new URL without a prefix chooses again; otherwise the current prefix must stay.
        wanted = prefix or (None if moved else source.metadata_prefix)
        checked = validate(url or source.url, wanted, config, new_set)
        _apply(source, checked, new_set)
        _forget_position(source)
    if name is not None and name.strip():
        source.library.name = name.strip()[:255]
    if enabled is not None:
        source.enabled = enabled
    with write_lock(session):
        session.commit()
    return source


def remove_source(session: Session, code: str) -> None:
    """Remove the source of ``code`` and its run log; the library and its records stay."""
    source = find(session, code)
    if source is None:
        raise SourceError(f"library {code} has no harvest source")
    with write_lock(session):
        library = source.library
        library.oai_url = library.oai_prefix = library.oai_set = None
        session.delete(source)
        session.commit()


def list_sources(session: Session) -> list[dict[str, object]]:
    """Every source with its last run and its last successful run."""
    sources = session.scalars(
        select(HarvestSource).join(HarvestSource.library).order_by(Library.code)
    ).all()
    last = _latest_runs(session, None)
    last_ok = _latest_runs(session, "ok")
    rows = []
    for source in sources:
        row = source.to_dict()
        run = last.get(source.id)
        ok = last_ok.get(source.id)
        row["last_run"] = run.to_dict() if run else None
        row["last_success"] = ok.to_dict()["finished"] if ok else None
        rows.append(row)
    return rows


def recent_runs(session: Session, code: str | None = None, limit: int = 50) -> list[HarvestRun]:
    """The latest runs, newest first (of one source when ``code`` is given)."""
    query = select(HarvestRun).join(HarvestRun.source).join(HarvestSource.library)
    if code:
        query = query.where(Library.code == code)
    return list(session.scalars(query.order_by(HarvestRun.id.desc()).limit(limit)))


def _latest_runs(session: Session, status: str | None) -> dict[int, HarvestRun]:
    latest = select(func.max(HarvestRun.id)).group_by(HarvestRun.source_id)
    if status:
        latest = latest.where(HarvestRun.status == status)
    runs = session.scalars(select(HarvestRun).where(HarvestRun.id.in_(latest)))
    return {run.source_id: run for run in runs}


def _apply(source: HarvestSource, checked: Validated, set_spec: str | None) -> None:
    source.url = checked.url
    source.metadata_prefix = checked.prefix
    source.set_spec = set_spec
    source.repository_name = checked.identify.repository_name[:255]
    source.granularity = checked.identify.granularity
    source.earliest_datestamp = checked.identify.earliest_datestamp[:32] or None
    library = source.library
    library.oai_url, library.oai_prefix, library.oai_set = checked.url, checked.prefix, set_spec


def _forget_position(source: HarvestSource) -> None:
    # A different feed: the old high-water mark and token mean nothing for it.
    source.high_water = source.pending_high_water = None
    source.resumption_token = None
