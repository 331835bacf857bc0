"""Who is asking: the principal seam, and the checks every write endpoint goes through.

A principal is the current user's roles and the libraries they may catalogue for. Inside a
host ILS, the host's login plugs in through one callable (``LIBEXT_AUTH_PRINCIPAL_LOADER`` or
``LibExt(principal_loader=...)``) that returns a :class:`Principal` or None. Standalone,
libext's built-in accounts and API tokens provide it (see ``libext.accounts``).

Roles: anonymous (no principal) may search, read records, harvest OAI, use SRU and public
export; a *cataloguer* writes to the libraries listed in ``libraries``; an *admin* manages
everything. 401 means "say who you are", 403 "you may not".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import abort, current_app, g

ROLE_CATALOGUER = "cataloguer"
ROLE_ADMIN = "admin"
ROLES = (ROLE_CATALOGUER, ROLE_ADMIN)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user: name, roles and the library codes they catalogue for."""

    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    libraries: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        """True for administrators, who may do everything."""
        return ROLE_ADMIN in self.roles

    def may_catalogue(self, library_code: str) -> bool:
        """True when this user may write records of ``library_code``."""
        return self.is_admin or (ROLE_CATALOGUER in self.roles and library_code in self.libraries)


PrincipalLoader = Callable[[], Principal | None]


def current_principal() -> Principal | None:
    """The principal of the current request (cached on ``g``), or None when anonymous."""
    if "libext_principal" not in g:
        loader: PrincipalLoader = current_app.extensions["libext"].principal_loader
        g.libext_principal = loader()
    return g.libext_principal


def login_required(view: F) -> F:
    """Refuse anonymous requests with 401."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_principal() is None:
            abort(401)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def admin_required(view: F) -> F:
    """Refuse anonymous requests with 401 and non-administrators with 403."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        principal = current_principal()
        if principal is None:
            abort(401)
        if not principal.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def require_library(library_code: str) -> Principal:
    """Abort with 401/403 unless the current user may catalogue ``library_code``."""
    principal = current_principal()
    if principal is None:
        abort(401)
    if not principal.may_catalogue(library_code):
        abort(403)
    return principal


def cataloguer_required(view: F) -> F:
    """Refuse anonymous requests (401) and users who are neither cataloguer nor admin (403).

    The view must still call :func:`require_library` for the library it writes to.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        principal = current_principal()
        if principal is None:
            abort(401)
        if not (principal.is_admin or ROLE_CATALOGUER in principal.roles):
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def anonymous_loader() -> Principal | None:
    """The loader used when nothing else is configured: everyone is anonymous."""
    return None
