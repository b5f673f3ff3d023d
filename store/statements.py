"""Fixed SQL texts for the per-turn hot path, run on the driver's own cursor.

SQLAlchemy Core builds a statement, derives its cache key and looks up the compiled form on
every call (25-100 us each on this machine); a turn's handful of statements are instead written
once as text with ``:name`` parameters, converted to the driver's parameter style at import, and
run on the DBAPI cursor (about 2 us each on SQLite). psycopg prepares a statement on the server
once it has run five times on a connection. The transaction stays SQLAlchemy's: these run inside
``Connection.begin()`` and commit or roll back with it.

Driver errors become store errors here, as ``engine.db_errors`` does for Core statements:
a constraint clash is a ConflictError, anything else StoreUnavailable (callers fail closed).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from askfirst.store.errors import ConflictError, StoreUnavailable

logger = logging.getLogger(__name__)

_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class Sql:
    """One statement in each dialect's parameter style (sqlite3 ``:name``, psycopg ``%(name)s``)."""

    sqlite: str
    postgresql: str

    @classmethod
    def of(cls, text: str, *, postgresql: str | None = None) -> Sql:
        """``text`` with ``:name`` parameters; ``postgresql`` when that dialect needs other SQL."""
        pg = " ".join((text if postgresql is None else postgresql).split())
        return cls(sqlite=" ".join(text.split()), postgresql=_PARAM.sub(r"%(\1)s", pg))

    def text_for(self, dialect: str) -> str:
        return self.postgresql if dialect == "postgresql" else self.sqlite


def run(
    conn: Connection, statement: Sql, params: Mapping[str, Any], *, what: str
) -> list[tuple[Any, ...]]:
    """Execute inside the connection's open transaction; the rows, if the statement returns any."""
    dbapi: Any = conn.dialect.loaded_dbapi
    try:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(statement.text_for(conn.dialect.name), params)
            rows: list[tuple[Any, ...]] = (
                [] if cursor.description is None else list(cursor.fetchall())
            )
        finally:
            cursor.close()
    except dbapi.IntegrityError as e:
        raise ConflictError(f"{what}: the database refused the write: {e}") from e
    except dbapi.Error as e:
        logger.warning("store: %s failed: %s", what, e)
        raise StoreUnavailable(f"{what}: the database is unavailable: {e}") from e
    return rows
