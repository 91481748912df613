"""Events: the SQLite events database, clip and snapshot retention and their files on disk."""

from __future__ import annotations

from nvr.events.store import EventQuery, EventRecord, EventStore, EventStoreError

__all__ = ["EventQuery", "EventRecord", "EventStore", "EventStoreError"]
