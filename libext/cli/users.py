"""``flask libext user add|list|remove|set-password`` and ``token create|list|revoke``."""

from __future__ import annotations

import sys

import click

from libext.accounts import (
    AccountError,
    add_user,
    create_token,
    list_tokens,
    list_users,
    remove_user,
    revoke_token,
    set_password,
)
from libext.auth import ROLES
from libext.cli import cli
from libext.cli.output import emit, fail
from libext.db import get_session


def read_password(from_stdin: bool, as_json: bool, required: bool) -> str | None:
    """The password from one line of stdin, else asked twice on a terminal, else None."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            fail("--password-stdin: standard input gave no password", as_json)
        return password
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    if required:
        fail("give the password on standard input with --password-stdin", as_json)
    return None


@cli.group("user")
def user_group() -> None:
    """Built-in accounts (when the host ILS does not plug its own login in)."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option(
    "--library",
    "libraries",
    multiple=True,
    metavar="CODE",
    help="A library the cataloguer catalogues for (repeat for several).",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from one line of standard input."
)
@click.option("--json", "as_json", is_flag=True, help="Print the account as JSON.")
def add(
    name: str, role: str, libraries: tuple[str, ...], password_stdin: bool, as_json: bool
) -> None:
    """Add account NAME. Without a password (no terminal, no --password-stdin) the account can
    only use API tokens."""
    password = read_password(password_stdin, as_json, required=False)
    try:
        user = add_user(get_session(), name, role, libraries, password)
    except AccountError as exc:
        fail(str(exc), as_json)
    scope = f" for {', '.join(user.library_codes)}" if user.library_codes else ""
    note = "" if password else " (no password: API tokens only)"
    emit(user.to_dict(), as_json, f"Added {user.role} {user.name}{scope}{note}")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as JSON.")
def list_(as_json: bool) -> None:
    """List the accounts with their role and libraries."""
    users = [u.to_dict() for u in list_users(get_session())]
    lines = [
        f"{u['name']:<20} {u['role']:<11} {','.join(u['libraries']) or '-'}"  # type: ignore[arg-type]
        + ("" if u["has_password"] else "  (tokens only)")
        for u in users
    ]
    emit({"users": users}, as_json, "\n".join(lines) or "No accounts yet.")


@user_group.command("remove")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def remove(name: str, as_json: bool) -> None:
    """Remove account NAME and its API tokens."""
    try:
        remove_user(get_session(), name)
    except AccountError as exc:
        fail(str(exc), as_json)
    emit({"removed": name}, as_json, f"Removed {name} and its API tokens.")


@user_group.command("set-password")
@click.argument("name")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from one line of standard input."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def set_password_(name: str, password_stdin: bool, as_json: bool) -> None:
    """Set the password of NAME; the user's open sessions end."""
    password = read_password(password_stdin, as_json, required=True)
    assert password is not None
    try:
        user = set_password(get_session(), name, password)
    except AccountError as exc:
        fail(str(exc), as_json)
    emit({"user": user.name, "password_set": True}, as_json, f"Password of {user.name} set.")


@cli.group("token")
def token_group() -> None:
    """API tokens, sent as 'Authorization: Bearer <token>' to the JSON API."""


@token_group.command("create")
@click.argument("username")
@click.option("--label", default="", help="What the token is for (shown by 'token list').")
@click.option("--json", "as_json", is_flag=True, help='Print {"token": …} instead.')
def token_create(username: str, label: str, as_json: bool) -> None:
    """Create a token for USERNAME and print it, alone: it is shown this once only."""
    try:
        new = create_token(get_session(), username, label)
    except AccountError as exc:
        fail(str(exc), as_json)
    if as_json:
        emit({"token": new.secret, **new.token.to_dict()}, True)
    else:
        click.echo(new.secret)


@token_group.command("list")
@click.argument("username", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the tokens as JSON.")
def token_list(username: str | None, as_json: bool) -> None:
    """List tokens (of USERNAME), with when each was last used; never the tokens themselves."""
    try:
        rows = [t.to_dict() for t in list_tokens(get_session(), username)]
    except AccountError as exc:
        fail(str(exc), as_json)
    lines = [
        f"{t['id']:>4} {t['prefix']}…  {t['user']:<20} "
        f"{'revoked ' + str(t['revoked']) if t['revoked'] else 'active'}"
        f"  last used {t['last_used'] or 'never'}" + (f"  {t['label']}" if t["label"] else "")
        for t in rows
    ]
    emit({"tokens": rows}, as_json, "\n".join(lines) or "No API tokens.")


@token_group.command("revoke")
@click.argument("token")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def token_revoke(token: str, as_json: bool) -> None:
    """Revoke TOKEN, given by its id or its first characters as 'token list' shows them."""
    try:
        row = revoke_token(get_session(), token)
    except AccountError as exc:
        fail(str(exc), as_json)
    emit(row.to_dict(), as_json, f"Revoked token {row.id} ({row.prefix}…) of {row.user.name}.")
