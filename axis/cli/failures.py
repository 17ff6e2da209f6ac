"""Failures a person causes (a bad database URL, a port in use, a file that is not a key) told in one line."""

from __future__ import annotations

import errno
from collections.abc import Iterator

import click

#: Exit codes by what went wrong, so scripts can tell a setup problem from a refused request.
EXIT_DATABASE = 3
EXIT_KEY_MATERIAL = 4
EXIT_ADDRESS = 5
EXIT_FILE = 6
_URL_FORMS = "postgresql+asyncpg://USER@HOST:PORT/NAME or sqlite+aiosqlite:///PATH"


class OneLine(click.ClickException):
    """A failure printed as one line naming what to do, with its own exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        # click declares exit_code on the class; each failure here has its own, so the instance carries it.
        setattr(self, "exit_code", exit_code)  # noqa: B010


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every cause or context behind it, nearest first."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        orig = getattr(e, "orig", None)  # SQLAlchemy's wrapper around the driver's error
        for nxt in (orig, e.__cause__, e.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def explain(exc: BaseException, database_url: str | None = None) -> OneLine | None:
    """The one line for a failure a person can fix, or None for a bug (which keeps its traceback)."""
    from signing.errors import KeyMaterialError

    where = f" ({_redacted(database_url)})" if database_url else ""
    for e in _chain(exc):
        name = type(e).__name__
        text = " ".join(str(e).split())
        if isinstance(e, KeyMaterialError):
            return OneLine(f"not a usable key or certificate: {text.split(':')[0] or name}; "
                           "give a PEM file (BEGIN CERTIFICATE / BEGIN PRIVATE KEY) or DER", EXIT_KEY_MATERIAL)
        if name == "NoSuchModuleError" or (name == "ArgumentError" and "URL" in text):
            return OneLine(f"the database URL{where} is not one the axis can use; write it as {_URL_FORMS}",
                           EXIT_DATABASE)
        if name == "InvalidRequestError" and "async" in text:
            return OneLine(f"the database URL{where} names a driver that is not asynchronous; write it as "
                           f"{_URL_FORMS}", EXIT_DATABASE)
        if name == "InvalidCatalogNameError":
            return OneLine(f"the database does not exist{where}: {text}; create it (createdb NAME) or fix "
                           "AXIS_DATABASE_URL", EXIT_DATABASE)
        if name in {"InvalidPasswordError", "InvalidAuthorizationSpecificationError"}:
            return OneLine(f"the database refused the login{where}: {text}; fix the user or password in "
                           "AXIS_DATABASE_URL", EXIT_DATABASE)
        if isinstance(e, OSError) and e.errno == errno.EADDRINUSE:
            return OneLine(f"the address is already in use: {text}; stop the other server or choose --port",
                           EXIT_ADDRESS)
        if isinstance(e, (ConnectionRefusedError, TimeoutError)) or (
                isinstance(e, OSError) and e.errno in {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH}):
            return OneLine(f"the database cannot be reached{where}: {text}; is it running? check "
                           "AXIS_DATABASE_URL", EXIT_DATABASE)
        if isinstance(e, PermissionError):
            return OneLine(f"cannot write {e.filename or text}: permission denied; choose a writable AXIS_HOME "
                           "or database path", EXIT_FILE)
        if isinstance(e, (FileNotFoundError, NotADirectoryError)) and e.filename:
            return OneLine(f"cannot use {e.filename}: {e.strerror}; check the path (AXIS_HOME, the file you gave)",
                           EXIT_FILE)
        if name == "OperationalError" and "unable to open database file" in text:
            return OneLine(f"the SQLite database cannot be opened{where}: its folder is missing or not writable; "
                           "choose a writable AXIS_HOME or fix AXIS_DATABASE_URL", EXIT_DATABASE)
        if isinstance(e, OSError) and e.errno is not None and "connect" in text.lower():
            return OneLine(f"the database cannot be reached{where}: {text}; check AXIS_DATABASE_URL", EXIT_DATABASE)
    return None


def _redacted(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL too broken to parse is shown without its credentials part
        return url.split("@")[-1]
