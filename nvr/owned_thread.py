"""A thread that owns one resource (a database connection, a detector) and serves Trio tasks.

Some resources must only ever be used by the thread that made them. Such a thread takes its
work items from a ``queue.SimpleQueue``: a put never blocks the event loop, and the thread
gets the next item without a round trip through the loop (as receiving from a Trio channel
via ``trio.from_thread`` would need). Answers go back through the Trio token
(``run_sync_soon``), which wakes the waiting task on the loop's own thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import trio

Item = TypeVar("Item")


class OwnedThread(Generic[Item]):
    """A daemon thread running ``main(items)``, where ``items`` yields what :meth:`put` sent.

    ``items`` ends after :meth:`close`; what ``main`` does with an item and how it answers
    (:meth:`answer`) is its own business. Create it on the Trio thread whose run it answers.
    """

    def __init__(self, name: str, main: Callable[[Iterator[Item]], None]) -> None:
        self._queue: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self._token = trio.lowlevel.current_trio_token()
        self._main = main
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, item: Item) -> None:
        """Queue ``item`` for the thread (never blocks)."""
        self._queue.put(item)

    def close(self) -> None:
        """End ``items`` once the thread has taken what is queued before this call."""
        self._queue.put(None)

    def drain(self) -> list[Item]:
        """Take back the items the thread has not taken yet."""
        items: list[Item] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return items
            if item is not None:
                items.append(item)

    def answer(self, function: Callable[..., object], *args: Any) -> None:
        """From the thread: run ``function(*args)`` on the Trio thread, soon.

        Dropped once the Trio run is over: nobody is waiting any more.
        """
        with contextlib.suppress(trio.RunFinishedError):
            self._token.run_sync_soon(function, *args)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait (blocking) for the thread to end."""
        self._thread.join(timeout)

    def _run(self) -> None:
        self._main(self._items())

    def _items(self) -> Iterator[Item]:
        while (item := self._queue.get()) is not None:
            yield item
