"""Run the SQLite store's SQL on psycopg: ``?`` placeholders become ``%s``.

The SQLite store's queries are portable SQL (upserts with ON CONFLICT, no SQLite-only
functions); this adapter lets :class:`runtime.store_pg.store.PostgresStore` share them
instead of keeping a second copy of every query.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import psycopg


@lru_cache(maxsize=512)
def to_pg(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class Cursor:
    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur
        self.lastrowid: int | None = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self._cur.execute(to_pg(sql), tuple(params))  # always a template: '%%' is unescaped
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        self._cur.executemany(to_pg(sql), [tuple(r) for r in rows])
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cur.fetchone() if self._cur.description else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cur.fetchall() if self._cur.description else []

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def close(self) -> None:
        self._cur.close()


class Connection:
    """The slice of ``sqlite3.Connection`` the store's readers use: ``execute`` in autocommit."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return Cursor(self.raw.cursor()).execute(sql, params)

    def cursor(self) -> Cursor:
        return Cursor(self.raw.cursor())

    def close(self) -> None:
        self.raw.close()
