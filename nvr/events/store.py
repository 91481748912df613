"""The events database: one SQLite file, one connection, owned by one OS thread.

Trio tasks queue jobs to the thread and wait for a Trio event the thread sets when the job
is done, so the event loop never blocks on SQLite. A task cancelled while it waits leaves
its job behind: a read that has not started is skipped, a running read is interrupted, and
a write always completes. The file uses WAL with ``synchronous=NORMAL``: a crash of the
process loses no committed row (a power cut may lose the last ones).

Rows follow Frigate 0.8's ``event`` table plus ``last_seen``, the frame time an object
was last seen. ``end_time`` is NULL while the event is in progress; rows a crash left open
are closed at ``last_seen`` when the file is next opened. Only ended events are listed.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import trio

from nvr.owned_thread import OwnedThread

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5_000
CLOSE_TIMEOUT_S = 30.0
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

MediaFlag = Literal["has_clip", "has_snapshot"]
MEDIA_FLAGS = frozenset({"has_clip", "has_snapshot"})

# In the order of EventRecord's fields.
COLUMNS = ("id", "camera", "label", "start_time", "end_time", "top_score", "false_positive",
           "zones", "thumbnail", "has_clip", "has_snapshot", "last_seen")
_SELECT = ", ".join(f"e.{name}" for name in COLUMNS)
_SELECT_NO_THUMBNAIL = _SELECT.replace("e.thumbnail", "'' AS thumbnail")

_TABLE = """
CREATE TABLE IF NOT EXISTS event (
    id VARCHAR(30) PRIMARY KEY NOT NULL,
    label VARCHAR(20) NOT NULL,
    camera VARCHAR(20) NOT NULL,
    start_time REAL NOT NULL,
    end_time REAL,
    top_score REAL NOT NULL,
    false_positive INTEGER NOT NULL,
    zones JSON NOT NULL,
    thumbnail TEXT NOT NULL,
    has_clip INTEGER NOT NULL DEFAULT 1,
    has_snapshot INTEGER NOT NULL DEFAULT 1,
    last_seen REAL NOT NULL
)
"""

# event_zone holds one row per (event, zone), kept by triggers, so that a zone filter walks
# an index instead of parsing the zones of every event (a rare zone would scan the table).
_ZONE_ROWS = "SELECT DISTINCT value, new.start_time, new.id FROM json_each(new.zones)"
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS event_zone (
        zone TEXT NOT NULL,
        start_time REAL NOT NULL,
        event_id VARCHAR(30) NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS event_by_start ON event (start_time)",
    "CREATE INDEX IF NOT EXISTS event_by_camera ON event (camera, start_time)",
    "CREATE INDEX IF NOT EXISTS event_by_label ON event (label, start_time)",
    "CREATE INDEX IF NOT EXISTS event_by_camera_label ON event (camera, label, start_time)",
    # Covers the summary query: it never reads the (large) rows themselves.
    """CREATE INDEX IF NOT EXISTS event_summary
        ON event (camera, label, zones, start_time, has_clip, has_snapshot, end_time)""",
    "CREATE INDEX IF NOT EXISTS event_zone_by_zone ON event_zone (zone, start_time)",
    "CREATE INDEX IF NOT EXISTS event_zone_by_event ON event_zone (event_id, zone)",
    f"""CREATE TRIGGER IF NOT EXISTS event_zones_insert AFTER INSERT ON event BEGIN
        INSERT INTO event_zone (zone, start_time, event_id) {_ZONE_ROWS};
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS event_zones_update
        AFTER UPDATE OF id, zones, start_time ON event
        WHEN old.id IS NOT new.id OR old.zones IS NOT new.zones
            OR old.start_time IS NOT new.start_time
    BEGIN
        DELETE FROM event_zone WHERE event_id = old.id;
        INSERT INTO event_zone (zone, start_time, event_id) {_ZONE_ROWS};
    END""",
    """CREATE TRIGGER IF NOT EXISTS event_zones_delete AFTER DELETE ON event BEGIN
        DELETE FROM event_zone WHERE event_id = old.id;
    END""",
)

_UPSERT = (
    f"INSERT INTO event ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in COLUMNS[1:])
)

# What a Frigate 0.8 table lacks or may hold in another form, for the copy into ours.
_FRIGATE_DEFAULTS = {
    "false_positive": "0", "zones": "'[]'", "thumbnail": "''", "has_clip": "1",
    "has_snapshot": "1",
}


@lru_cache(maxsize=4096)
def _zones(text: str) -> tuple[str, ...]:
    """The zones JSON text of a row as a tuple (texts repeat a lot: cached)."""
    try:
        zones = json.loads(text)
    except (TypeError, ValueError):
        return ()
    return tuple(str(zone) for zone in zones) if isinstance(zones, list) else ()


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event: a true-positive tracked object, in progress while ``end_time`` is None."""

    id: str
    camera: str
    label: str
    start_time: float
    end_time: float | None
    top_score: float
    false_positive: bool
    zones: tuple[str, ...]
    thumbnail: str  # base64 JPEG, no data-URI prefix
    has_clip: bool
    has_snapshot: bool
    last_seen: float  # frame time the object was last seen

    def __post_init__(self) -> None:
        if not isinstance(self.zones, tuple):
            object.__setattr__(self, "zones", tuple(self.zones))

    def to_json(self, include_thumbnail: bool = True) -> dict[str, Any]:
        """The event as the API shows it (without ``thumbnail`` when not included)."""
        document = {
            "id": self.id, "camera": self.camera, "label": self.label,
            "start_time": self.start_time, "end_time": self.end_time,
            "top_score": self.top_score, "false_positive": self.false_positive,
            "zones": list(self.zones), "thumbnail": self.thumbnail, "has_clip": self.has_clip,
            "has_snapshot": self.has_snapshot,
        }
        if not include_thumbnail:
            del document["thumbnail"]
        return document

    def row(self) -> tuple[object, ...]:
        """The values of :data:`COLUMNS` for SQLite."""
        return (self.id, self.camera, self.label, self.start_time, self.end_time,
                self.top_score, int(self.false_positive), json.dumps(list(self.zones)),
                self.thumbnail, int(self.has_clip), int(self.has_snapshot), self.last_seen)


def _record(row: Sequence[Any]) -> EventRecord:
    return EventRecord(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]),
                       _zones(row[7]), row[8], bool(row[9]), bool(row[10]), row[11])


@dataclass(frozen=True, slots=True)
class EventQuery:
    """The filters of ``GET /api/events``; all given ones must hold.

    ``after``/``before`` bound ``start_time`` inclusively (0 or None: no bound), flags compare
    as booleans (any non-zero value means true), ``zone`` matches one zone name exactly.
    """

    camera: str | None = None
    label: str | None = None
    zone: str | None = None
    after: float | None = None
    before: float | None = None
    has_clip: int | None = None
    has_snapshot: int | None = None
    include_thumbnails: bool = True
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {self.limit}")


def _events_tail(query: EventQuery) -> tuple[str, list[object]]:
    """``FROM ... WHERE ... ORDER BY ... LIMIT ?`` of ``query`` and its parameters.

    Flags are compared as ``+e.has_clip``: about half the rows match, so an index on them
    would only mislead the planner away from the start-time order.
    """
    where = ["e.end_time IS NOT NULL"]
    params: list[object] = []
    if query.zone:
        source, time_column = "event_zone AS z JOIN event AS e ON e.id = z.event_id", "z.start_time"
        where.append("z.zone = ?")
        params.append(query.zone)
    else:
        source, time_column = "event AS e", "e.start_time"
    for column in ("camera", "label"):
        if value := getattr(query, column):
            where.append(f"e.{column} = ?")
            params.append(value)
    if query.after:
        where.append(f"{time_column} >= ?")
        params.append(query.after)
    if query.before:
        where.append(f"{time_column} <= ?")
        params.append(query.before)
    for flag in ("has_clip", "has_snapshot"):
        value = getattr(query, flag)
        if value is not None:
            where.append(f"+e.{flag} = ?")
            params.append(1 if value else 0)
    params.append(query.limit)
    return (f"FROM {source} WHERE {' AND '.join(where)} ORDER BY {time_column} DESC LIMIT ?",
            params)


def events_sql(query: EventQuery) -> tuple[str, list[object]]:
    """The SELECT of :data:`COLUMNS` (and its parameters) answering ``query``, newest first."""
    tail, params = _events_tail(query)
    return f"SELECT {_SELECT if query.include_thumbnails else _SELECT_NO_THUMBNAIL} {tail}", params


def _json_float(value: float | None) -> str:
    """A number as JSON text, as Python writes it (shortest repr that reads back the same)."""
    if value is None:
        return "null"
    number = float(value)
    return repr(number) if math.isfinite(number) else "null"


def _json_times(start_time: float, end_time: float | None, top_score: float) -> str:
    """The three numbers of an event's JSON object (an SQL function: one call per row)."""
    return (f'"start_time":{_json_float(start_time)},"end_time":{_json_float(end_time)},'
            f'"top_score":{_json_float(top_score)}')


def _json_object(include_thumbnail: bool) -> str:
    """SQL writing the API object of a row ``e`` (see :meth:`EventRecord.to_json`) as text.

    Keys in the order of Frigate 0.8's documentation, separators compact. Numbers go
    through Python's repr (SQLite's own JSON keeps only 15 digits of a start time), in one
    call per row: calls from SQLite into Python are what this query spends most on.
    """

    def boolean(column: str) -> str:
        return f"CASE WHEN e.{column} THEN 'true' ELSE 'false' END"

    parts = [
        """'{"id":' || json_quote(e.id)""",
        """',"camera":' || json_quote(e.camera)""",
        """',"label":' || json_quote(e.label)""",
        "',' || nvr_json_times(e.start_time, e.end_time, e.top_score)",
        f"""',"false_positive":' || {boolean("false_positive")}""",
        """',"zones":' || json(e.zones)""",
        """',"thumbnail":' || json_quote(e.thumbnail)""",
        f"""',"has_clip":' || {boolean("has_clip")}""",
        f"""',"has_snapshot":' || {boolean("has_snapshot")} || '}}'""",
    ]
    if not include_thumbnail:
        del parts[6]
    return " || ".join(parts)


def events_json_sql(query: EventQuery) -> tuple[str, list[object]]:
    """Like :func:`events_sql`, each row being the event's JSON object as UTF-8 bytes."""
    tail, params = _events_tail(query)
    return f"SELECT CAST({_json_object(query.include_thumbnails)} AS BLOB) {tail}", params


def summary_sql(has_clip: int | None = None,
                has_snapshot: int | None = None) -> tuple[str, list[object]]:
    """The grouping query of ``GET /api/events/summary`` (day in the local time zone)."""
    where = ["end_time IS NOT NULL"]
    params: list[object] = []
    for flag, value in (("has_clip", has_clip), ("has_snapshot", has_snapshot)):
        if value is not None:
            where.append(f"{flag} = ?")
            params.append(1 if value else 0)
    return ("SELECT camera, label, date(start_time, 'unixepoch', 'localtime') AS day, zones, "
            f"COUNT(*) FROM event WHERE {' AND '.join(where)} "
            "GROUP BY camera, label, zones, day ORDER BY day DESC, camera, label, zones",
            params)


def _flag(flag: str) -> str:
    if flag not in MEDIA_FLAGS:
        raise ValueError(f"not a media flag: {flag!r}")
    return flag


class EventStoreError(Exception):
    """The events database cannot be opened (unwritable folder, damaged or newer file)."""


class _Job:
    """Work for the database thread, and its outcome for the task waiting on it."""

    __slots__ = ("abandoned", "done", "error", "read", "result", "work")

    def __init__(self, work: Callable[[], Any], read: bool) -> None:
        self.work = work
        self.read = read
        self.done = trio.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.abandoned = False


class EventStore:
    """The events table, awaited from Trio; open it with ``async with EventStore.open(path)``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._running: _Job | None = None
        self._running_lock = threading.Lock()
        self._closed = False
        self.generation = 0
        """Bumped by the database thread after each write (done or failed): answers built
        from the table under one generation are current while it lasts."""
        self._thread: OwnedThread[_Job] = OwnedThread(f"nvr-db {path.name}", self._serve)

    @classmethod
    @asynccontextmanager
    async def open(cls, path: str | os.PathLike[str]) -> AsyncIterator[EventStore]:
        """Open (creating if needed) the database at ``path``; closed cleanly on exit."""
        store = cls(Path(path))
        store._thread.start()
        try:
            try:
                await store._call(store._connect)
            except (OSError, sqlite3.Error) as error:
                raise EventStoreError(
                    f"cannot open the events database {store.path}: {error}") from error
            yield store
        finally:
            with trio.CancelScope(shield=True):
                await store._shutdown()

    # -- the database thread ------------------------------------------------------------

    def _serve(self, jobs: Iterator[_Job]) -> None:
        for job in jobs:
            if job.abandoned and job.read:
                continue  # nobody waits for it any more
            with self._running_lock:
                self._running = job
            try:
                job.result = job.work()
            except BaseException as error:  # delivered to the waiting task
                job.error = error
            finally:
                with self._running_lock:
                    self._running = None
                if not job.read:
                    self.generation += 1
            self._thread.answer(job.done.set)

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        self._conn = conn
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            log.warning("%s: SQLite refused WAL mode (journal mode %s)", self.path, mode)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.create_function("nvr_json_times", 3, _json_times, deterministic=True)
        with self._transaction(conn, "BEGIN IMMEDIATE"):
            self._create_schema(conn)
            closed = conn.execute(
                "UPDATE event SET end_time = last_seen WHERE end_time IS NULL").rowcount
        if closed:
            log.info("%s: closed %d event(s) left in progress by an unclean stop",
                     self.path, closed)

    @staticmethod
    def _create_schema(conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"events database schema {version} is newer than this nvr's ({SCHEMA_VERSION})")
        columns = [row[1] for row in conn.execute("PRAGMA table_info(event)")]
        frigate = bool(columns) and "last_seen" not in columns
        if frigate:
            conn.execute("ALTER TABLE event RENAME TO event_frigate")
        conn.execute(_TABLE)
        for statement in _SCHEMA:
            conn.execute(statement)
        if frigate:
            EventStore._adopt_frigate_rows(conn, columns)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @staticmethod
    def _adopt_frigate_rows(conn: sqlite3.Connection, columns: list[str]) -> None:
        """Copy the rows of a Frigate 0.8 ``event`` table (same default path) into ours."""
        sources = {
            name: name if name in columns else _FRIGATE_DEFAULTS.get(name, "NULL")
            for name in COLUMNS
        }
        if "zones" in columns:
            sources["zones"] = ("CASE WHEN json_valid(zones) AND json_type(zones) = 'array' "
                                "THEN zones ELSE '[]' END")
        sources["last_seen"] = "COALESCE(end_time, start_time)"
        copied = conn.execute(f"INSERT INTO event ({', '.join(COLUMNS)}) "
                              f"SELECT {', '.join(sources.values())} FROM event_frigate").rowcount
        log.info("adopted %d event(s) from a Frigate events table", copied)
        conn.execute("DROP TABLE event_frigate")

    @staticmethod
    def _transaction(conn: sqlite3.Connection, begin: str = "BEGIN") -> _Transaction:
        return _Transaction(conn, begin)

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as error:
            log.warning("%s: checkpoint on close failed: %s", self.path, error)
        finally:
            conn.close()

    # -- the Trio side ------------------------------------------------------------------

    async def _call(self, work: Callable[[], Any], *, read: bool = False) -> Any:
        """Run ``work`` in the database thread and return its result (or raise its error)."""
        if self._closed:
            raise RuntimeError(f"the events database {self.path} is closed")
        job = _Job(work, read)
        self._thread.put(job)
        try:
            await job.done.wait()
        except BaseException:
            job.abandoned = True
            if read:
                with self._running_lock:
                    if self._running is job and self._conn is not None:
                        self._conn.interrupt()
            raise
        if job.error is not None:
            raise job.error
        return job.result

    async def _shutdown(self) -> None:
        self._closed = True
        job = _Job(self._disconnect, read=False)
        self._thread.put(job)
        self._thread.close()
        with trio.move_on_after(CLOSE_TIMEOUT_S) as timeout:
            await job.done.wait()
            await trio.to_thread.run_sync(self._thread.join)
        if timeout.cancelled_caught:
            log.warning("%s: the database thread did not stop within %.0f s",
                        self.path, CLOSE_TIMEOUT_S)
        elif job.error is not None:
            log.warning("%s: closing failed: %s", self.path, job.error)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("the events database is not open")
        return self._conn

    # -- writes ---------------------------------------------------------------------------

    async def save(self, record: EventRecord) -> None:
        """Insert ``record``, or update every field of the row with its id."""
        row = record.row()
        await self._call(lambda: self._db().execute(_UPSERT, row))

    async def save_many(self, records: Iterable[EventRecord]) -> None:
        """Save many records in one transaction (fast bulk filling)."""
        rows = [record.row() for record in records]

        def work() -> None:
            conn = self._db()
            with self._transaction(conn):
                conn.executemany(_UPSERT, rows)

        await self._call(work)

    async def set_flags(self, event_id: str, *, has_clip: bool | None = None,
                        has_snapshot: bool | None = None) -> bool:
        """Set the given media flags of an event; False when there is no such row."""
        updates = {name: int(value) for name, value in
                   (("has_clip", has_clip), ("has_snapshot", has_snapshot)) if value is not None}
        if not updates:
            return await self.exists(event_id)
        sql = (f"UPDATE event SET {', '.join(f'{name} = ?' for name in updates)} "
               "WHERE id = ?")
        params = [*updates.values(), event_id]
        return await self._call(lambda: self._db().execute(sql, params).rowcount > 0)

    async def clear_media(self, flag: MediaFlag, event_ids: Sequence[str]) -> int:
        """Set ``flag`` false on the given events (one transaction); how many changed."""
        sql = f"UPDATE event SET {_flag(flag)} = 0 WHERE id = ? AND {flag} != 0"
        rows = [(event_id,) for event_id in event_ids]

        def work() -> int:
            conn = self._db()
            with self._transaction(conn):
                return sum(conn.execute(sql, row).rowcount for row in rows)

        return await self._call(work)

    # -- reads ----------------------------------------------------------------------------

    async def _fetch(self, sql: str, params: Sequence[object]) -> list[Any]:
        return await self._call(lambda: self._db().execute(sql, params).fetchall(), read=True)

    async def events_json(self, query: EventQuery) -> bytes:
        """The API's JSON array of the events matching ``query``, built in the database thread.

        The documents of ``record.to_json(query.include_thumbnails)``, in the same key order,
        without Python objects per row: SQLite writes them, releasing the GIL meanwhile.
        """
        sql, params = events_json_sql(query)

        def work() -> bytes:
            rows = self._db().execute(sql, params)
            return b"[" + b",".join(document for (document,) in rows) + b"]\n"

        return await self._call(work, read=True)

    async def summary(self, has_clip: int | None = None,
                      has_snapshot: int | None = None) -> list[dict[str, Any]]:
        """Counts of ended events by camera, label, local day and zones (as the API shows)."""
        sql, params = summary_sql(has_clip, has_snapshot)
        return [{"camera": camera, "label": label, "day": day, "zones": list(_zones(zones)),
                 "count": count}
                for camera, label, day, zones, count in await self._fetch(sql, params)]

    async def get(self, event_id: str) -> EventRecord | None:
        """The ended event ``event_id``, or None (unknown or still in progress)."""
        rows = await self._fetch(
            f"SELECT {_SELECT} FROM event AS e WHERE e.id = ? AND e.end_time IS NOT NULL",
            (event_id,))
        return _record(rows[0]) if rows else None

    async def exists(self, event_id: str) -> bool:
        """Whether a row (ended or not) has this id."""
        return bool(await self._fetch("SELECT 1 FROM event WHERE id = ?", (event_id,)))

    async def media_owners(self, flag: MediaFlag) -> list[tuple[str, str]]:
        """Distinct (camera, label) of ended events whose ``flag`` is set (for retention)."""
        return await self._fetch(
            f"SELECT DISTINCT camera, label FROM event "
            f"WHERE end_time IS NOT NULL AND {_flag(flag)} != 0", ())

    async def expired_media(self, flag: MediaFlag, camera: str, label: str,
                            before: float) -> list[str]:
        """Ids of ended ``camera``/``label`` events started before ``before`` with ``flag``."""
        rows = await self._fetch(
            f"SELECT id FROM event WHERE camera = ? AND label = ? AND start_time < ? "
            f"AND end_time IS NOT NULL AND {_flag(flag)} != 0", (camera, label, before))
        return [event_id for (event_id,) in rows]


class _Transaction:
    """BEGIN ... COMMIT on an autocommit connection, ROLLBACK on error."""

    def __init__(self, conn: sqlite3.Connection, begin: str) -> None:
        self.conn = conn
        self.begin = begin

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute(self.begin)
        return self.conn

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
