"""The --db value: a SQLite file path or a database URL, checked, turned into SQLAlchemy's URL, and shown in
messages with its passwords masked."""

import re
from pathlib import Path

from matcher.errors import PerkmatchError


def check_url(db: str) -> None:
    """Refuse a database URL with a slash missing ("postgresql:/host/db"), which would be read as a file path; and
    one whose password holds an unescaped `@`: SQLAlchemy ends the password at the first `@`, so the rest went to
    the driver as the host, and its "failed to resolve host 'word@...'" showed the password's tail."""
    if re.match(r"(postgres(ql)?|sqlite)(\+\w+)?:/?(?!/)", db, re.IGNORECASE):
        raise PerkmatchError(f"--db {shown_db(db)}: a database URL with a slash missing, read as a file path; write "
                             f"{db.split(':', 1)[0]}://... (two slashes)")
    if re.match(r"postgres(ql)?(\+\w+)?://", db, re.IGNORECASE) and _at_in_password(db):
        raise PerkmatchError("--db postgresql://USER:***@...: the URL holds '@' more than once, so its password, or "
                             "user name, holds one: write each '@' in them as %40")


def db_url(db: str) -> str:
    """A SQLAlchemy URL for a path or URL given on the command line (``postgres://``, as many hosts write it, is
    PostgreSQL too)."""
    if "://" in db:
        for scheme in ("postgresql://", "postgres://"):
            if db.startswith(scheme):
                return "postgresql+psycopg://" + db.removeprefix(scheme)
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def shown_db(db: str) -> str:
    """The --db value as messages show it, as given but for its passwords, masked: the one after `user:`, as
    SQLAlchemy reads it (up to the first `@`: `/`, `?` and `#` are part of it), or up to a later `@` that a host
    follows when it holds one unescaped (which ``check_url`` refuses), and those given as query parameters
    (`?password=`, `sslpassword=`), which the driver reads as well."""
    if "://" not in db:
        return db
    start, end = _password_span(db)
    masked = db if start < 0 else db[:start] + "***" + db[end:]
    return re.sub(r"([?&](?:ssl)?password=)[^&#]*", r"\1***", masked, flags=re.IGNORECASE)


def _password_span(db: str) -> tuple[int, int]:
    """Where the password after `scheme://user:` lies, (-1, -1) when there is none: up to the first `@`, or to the
    last `@` before the query that a host and a path follow (an unescaped `@` in the password puts a second one
    there)."""
    head = re.match(r"[^:/]+://[^:@/?#]*:", db)
    first = db.find("@", head.end()) if head else -1
    if first < 0:
        return -1, -1
    later = [m.start() for m in re.finditer(r"@(?=[\w.\-\[\]%]+(?::\d*)?/)", db.split("?", 1)[0] if "?" not in
                                           db[:first] else db) if m.start() > first]
    return head.end(), later[-1] if later else first  # type: ignore[union-attr]


def _at_in_password(db: str) -> bool:
    """Whether a PostgreSQL URL's password (or user name) holds an unescaped `@`: SQLAlchemy ends the password at the
    first `@` and reads the rest as the host (which then holds one) or as the database name (a path with a host in
    it), so the connection goes elsewhere and the driver's error shows the password's tail."""
    rest = db.split("://", 1)[1]
    if "@" not in rest:
        return False
    host = re.split(r"[/?]", rest.split("@", 1)[1], maxsplit=1)[0]
    start, end = _password_span(db)
    return "@" in host or (start >= 0 and db.find("@", start) != end)
