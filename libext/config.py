"""Every ``LIBEXT_*`` configuration key, its default, unit and meaning: the one list.

Keys are grouped by feature (``LIBEXT_OAI_*``, ``LIBEXT_HARVEST_*``, ``LIBEXT_MARC_*``,
``LIBEXT_SEARCH_*``, ``LIBEXT_AUTH_*``). Structural keys (URL prefixes, the record source,
the principal loader) are read once in :meth:`libext.LibExt.init_app`; tunables are read at
request time, so a test or a deployment may change them on a running app.

The standalone app (``wsgi.py``) also reads each key from the environment variable of the same
name, parsed as JSON when it parses and taken as a string otherwise.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Setting:
    """One configuration key with its default and documentation."""

    name: str
    default: Any
    doc: str


SETTINGS: tuple[Setting, ...] = (
    # --- wiring -------------------------------------------------------------------------
    Setting(
        "LIBEXT_URL_PREFIXES",
        {
            "search": "",
            "oai": "/oai",
            "sru": "/sru",
            "api": "/api",
            "cataloguing": "/cataloguing",
            "admin": "/admin",
            "accounts": "/account",
        },
        "URL prefix of each blueprint (mapping name → prefix). A prefix of null leaves that "
        "blueprint unregistered, so a host can mount it itself.",
    ),
    Setting(
        "LIBEXT_RECORD_SOURCE",
        None,
        "The host seam: an object implementing oai.source.RecordSource, a callable that "
        "returns one, or a 'module:attribute' string naming either. None uses libext's own "
        "record store.",
    ),
    Setting(
        "LIBEXT_STORE_BATCH_SIZE",
        500,
        "Records written per transaction by bulk writers (imports, demo load); records.",
    ),
    Setting(
        "LIBEXT_BATCH_NICENESS",
        10,
        "CPU niceness that long command-line jobs (import, harvest, search reindex) add to "
        "their own process, so that a bulk load on the catalogue's server leaves the CPU to "
        "readers' searches first; 0 keeps the normal priority.",
    ),
    Setting(
        "LIBEXT_WORKER_PROCESSES",
        None,
        "Processes that read records for a bulk import or a harvest (decoding, validating, "
        "normalising) while the calling process writes them; null means one per core (none "
        "on a single core), 0 reads in the calling process.",
    ),
    Setting(
        "LIBEXT_DEFAULT_LOCALE",
        "vi",
        "Language of the pages when the reader has not chosen one ('vi' or 'en').",
    ),
    # --- OAI-PMH provider ------------------------------------------------------------------
    Setting(
        "LIBEXT_OAI_REPOSITORY_NAME",
        "Mục lục liên hợp (libext)",
        "repositoryName announced by Identify: the network's name as harvesters show it.",
    ),
    Setting(
        "LIBEXT_OAI_REPOSITORY_IDENTIFIER",
        "libext.local",
        "Domain name the repository controls; records are identified as "
        "oai:<this>:<record id>. Set it once, before anyone harvests: changing it changes "
        "every identifier.",
    ),
    Setting(
        "LIBEXT_OAI_ADMIN_EMAILS",
        ["oai-admin@libext.local"],
        "adminEmail addresses announced by Identify (a list, or one string).",
    ),
    Setting(
        "LIBEXT_OAI_BASE_URL",
        None,
        "baseURL announced by Identify and echoed in every response. None uses the URL the "
        "request came to; set it behind a proxy that rewrites scheme, host or path.",
    ),
    Setting(
        "LIBEXT_OAI_PAGE_SIZE", 100, "Records or headers per ListRecords/ListIdentifiers page."
    ),
    Setting(
        "LIBEXT_OAI_TOKEN_LIFETIME",
        7 * 24 * 3600,
        "How long a resumption token stays valid; seconds. Tokens are stateless, so a long "
        "lifetime costs nothing and lets a harvester on a slow link pause and resume.",
    ),
    Setting(
        "LIBEXT_OAI_COMPRESSION",
        True,
        "Compress OAI responses (gzip or deflate, as the harvester accepts; announced by "
        "Identify). MARCXML shrinks about eightfold, which matters on slow links; turn it off "
        "when a proxy in front already compresses.",
    ),
    Setting(
        "LIBEXT_OAI_SECRET",
        None,
        "Key that signs resumption tokens; None uses SECRET_KEY. Every worker must share it.",
    ),
    # --- harvester -----------------------------------------------------------------------
    Setting(
        "LIBEXT_HARVEST_WORKERS",
        4,
        "Sources harvested at the same time by 'harvest --all'; threads.",
    ),
    Setting(
        "LIBEXT_HARVEST_MAX_ATTEMPTS",
        5,
        "Tries per OAI request (the first included) on 5xx, timeouts, resets, broken pages.",
    ),
    Setting("LIBEXT_HARVEST_BACKOFF_BASE", 2.0, "First retry delay, doubled each time; seconds."),
    Setting("LIBEXT_HARVEST_BACKOFF_MAX", 60.0, "Longest retry delay (before jitter); seconds."),
    Setting(
        "LIBEXT_HARVEST_RETRY_AFTER_MAX",
        300.0,
        "Longest 503 Retry-After honoured; a provider asking more stops the run (resumed by "
        "the next one); seconds.",
    ),
    Setting(
        "LIBEXT_HARVEST_RETRY_AFTER_DEFAULT",
        120.0,
        "Wait after a 503 without Retry-After; seconds.",
    ),
    Setting("LIBEXT_HARVEST_CONNECT_TIMEOUT", 10.0, "Connect timeout per request; seconds."),
    Setting(
        "LIBEXT_HARVEST_READ_TIMEOUT",
        120.0,
        "Longest silence while waiting for or reading a response; seconds.",
    ),
    Setting(
        "LIBEXT_HARVEST_MAX_PAGE_BYTES",
        256 * 1024 * 1024,
        "Largest OAI response accepted; bytes.",
    ),
    Setting(
        "LIBEXT_HARVEST_STALE_AFTER",
        3600,
        "A running harvest of a source that has written no page for this long, on another "
        "machine, is taken as dead and a new run may start (on the same machine a dead "
        "process is noticed at once); seconds.",
    ),
    Setting(
        "LIBEXT_HARVEST_OVERLAP",
        600,
        "Safety overlap of incremental harvests from second-granularity repositories "
        "(day-granularity ones overlap one day); seconds.",
    ),
    Setting(
        "LIBEXT_HARVEST_ALLOWED_NETWORKS",
        [],
        "Networks (CIDR strings) a source URL may point into although they are loopback, "
        "private or link-local, e.g. ['10.20.0.0/16'] for district servers on a provincial "
        "WAN. Other such addresses are refused.",
    ),
    Setting(
        "LIBEXT_HARVEST_CONTACT",
        None,
        "E-mail address sent as the HTTP From header, so providers can reach the harvester's "
        "operator; None sends none.",
    ),
    # --- access control ----------------------------------------------------------------
    Setting(
        "LIBEXT_AUTH_PRINCIPAL_LOADER",
        None,
        "Inside a host ILS: a callable (or 'module:attribute') returning the current user's "
        "libext.auth.Principal (roles and library codes) or None for anonymous. None uses "
        "libext's built-in accounts and API tokens.",
    ),
    Setting(
        "LIBEXT_AUTH_LOGIN_MAX_FAILURES",
        5,
        "Failed logins allowed per account within LIBEXT_AUTH_LOGIN_WINDOW before the login "
        "form answers 429 for that account; failures.",
    ),
    Setting(
        "LIBEXT_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS",
        20,
        "Failed logins allowed per client address (any account) within "
        "LIBEXT_AUTH_LOGIN_WINDOW; failures. Behind a reverse proxy, set LIBEXT_PROXY_HOPS so "
        "the client's address is the real one.",
    ),
    Setting(
        "LIBEXT_AUTH_LOGIN_WINDOW",
        900,
        "The sliding window over which failed logins are counted; seconds.",
    ),
    Setting(
        "LIBEXT_AUTH_SESSION_LIFETIME",
        12 * 3600,
        "How long a login to the pages lasts, however active the user; seconds. 0: until the "
        "browser is closed (or the password changes).",
    ),
    Setting(
        "LIBEXT_PROXY_HOPS",
        0,
        "Number of reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host "
        "headers are trusted (werkzeug's ProxyFix), so client addresses and HTTPS are seen "
        "right; 0 trusts none. Read once at start-up; proxies.",
    ),
    Setting(
        "LIBEXT_SECURITY_HEADERS",
        {
            "Content-Security-Policy": (
                "default-src 'self'; style-src 'self' 'nonce-{nonce}'; "
                "script-src 'self' 'nonce-{nonce}'; img-src 'self' data:; object-src 'none'; "
                "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
        },
        "HTTP headers added to every response of libext's pages and API (header → value; a "
        "null value sends none). A header the host already set on a response is left as is. "
        "'{nonce}' is replaced by a fresh random value per response, the one templates put on "
        "their <style>/<script> elements with {{ libext_csp_nonce() }}.",
    ),
    Setting(
        "LIBEXT_MAX_UPLOAD_BYTES",
        128 * 1024 * 1024,
        "Largest request body libext's pages and API accept (a MARC upload above it is "
        "refused with 413 before it is stored); bytes. null: no limit of libext's own.",
    ),
    # --- MARC import and export ---------------------------------------------------------
    Setting(
        "LIBEXT_MARC_UPLOAD_DIR",
        None,
        "Folder where uploaded MARC files are streamed to and wait for the cataloguer's "
        "confirmation (staged imports); None uses 'libext-imports' in the app's instance "
        "folder. The upload size limit is LIBEXT_MAX_UPLOAD_BYTES.",
    ),
    Setting(
        "LIBEXT_MARC_STAGED_MAX_AGE",
        86_400,
        "How long a staged (uploaded, not yet confirmed) import waits before it is dropped with "
        "its file; checked whenever a new upload is staged; seconds.",
    ),
    # --- search ------------------------------------------------------------------------
    Setting("LIBEXT_SEARCH_PAGE_SIZE", 20, "Results per page of the search page and API; results."),
    Setting(
        "LIBEXT_SEARCH_FACET_SIZE",
        10,
        "Values shown per facet (subjects, authors…: the most frequent first); values.",
    ),
    Setting(
        "LIBEXT_SEARCH_FACET_SAMPLE",
        10_000,
        "Facet counts are exact up to this many hits; above it they are counted over this many "
        "hits and scaled (shown as approximate), which bounds the work of very broad queries; "
        "hits.",
    ),
    Setting(
        "LIBEXT_SEARCH_SRU_MAX_RECORDS",
        50,
        "Largest maximumRecords an SRU client may ask for per response; records.",
    ),
    Setting(
        "LIBEXT_SEARCH_SQLITE_CACHE_MB",
        64,
        "SQLite page cache per connection for searching (0 keeps SQLite's 2 MB default); MB.",
    ),
)

DEFAULTS: dict[str, Any] = {s.name: s.default for s in SETTINGS}


def apply_defaults(config: MutableMapping[str, Any]) -> None:
    """Set every missing ``LIBEXT_*`` key to (a copy of) its default."""
    for setting in SETTINGS:
        config.setdefault(setting.name, copy.deepcopy(setting.default))


def parse_env_value(raw: str) -> Any:
    """An environment value as JSON when it parses, else the plain string."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def from_environ(config: MutableMapping[str, Any], environ: Mapping[str, str]) -> None:
    """Copy every ``LIBEXT_*`` variable of ``environ`` into ``config`` (values parsed)."""
    for name, raw in environ.items():
        if name.startswith("LIBEXT_"):
            config[name] = parse_env_value(raw)
