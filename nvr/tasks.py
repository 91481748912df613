"""How nvr's long-running tasks fail: one policy, used by every background loop.

Only start-up failures stop the service: a bad config, an HTTP port that cannot be bound, an
events database that cannot be opened, detectors that cannot be created. At run time every
``Exception`` a task meets (a full or read-only disk, a locked database, a bug) is logged and
the work retried after a back-off, so that one failing part never takes the cameras, the API
or the other loops down with it. Cancellation (shutdown) and other ``BaseException``\\ s
propagate.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import NoReturn

import trio

log = logging.getLogger(__name__)

# Faults of the machine rather than of the code: logged as one line, without a traceback.
ENVIRONMENT_ERRORS = (OSError, sqlite3.Error)


class Backoff:
    """Delays of ``initial`` s doubling to ``maximum``; back to ``initial`` after a run that
    stayed healthy for ``reset_after`` s."""

    def __init__(self, initial: float = 1.0, maximum: float = 60.0,
                 reset_after: float = 60.0) -> None:
        self.initial, self.maximum, self.reset_after = initial, maximum, reset_after
        self._next = initial

    def next_delay(self, healthy_for: float = 0.0) -> float:
        """The wait before the next try, given how long the last one went well."""
        if healthy_for >= self.reset_after:
            self._next = self.initial
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial


def log_failure(logger: logging.Logger, what: str, error: Exception, delay: float) -> None:
    """One line for a fault of the machine; the traceback too for anything else (a bug)."""
    if isinstance(error, ENVIRONMENT_ERRORS):
        logger.warning("%s failed, retrying in %g s: %s", what, delay, error)
    else:
        logger.error("%s failed, retrying in %g s", what, delay, exc_info=error)


async def run_every(what: str, interval: float, step: Callable[[], Awaitable[object]], *,
                    first_after: float = 0.0, logger: logging.Logger = log) -> NoReturn:
    """Await ``step`` every ``interval`` s, the first time after ``first_after`` s, forever.

    A step that raises is logged once (see ``log_failure``) and the next one comes after a
    delay that starts at ``interval`` and doubles while steps keep failing (to at most
    ``max(interval, 60)`` s); a step that succeeds brings the interval back.
    """
    backoff = Backoff(interval, max(interval, 60.0))
    await trio.sleep(first_after)
    while True:
        try:
            await step()
        except Exception as error:
            delay = backoff.next_delay()
            log_failure(logger, what, error, delay)
        else:
            backoff.reset()
            delay = interval
        await trio.sleep(delay)


async def restart_forever(what: str, run: Callable[[], Awaitable[object]], *,
                          logger: logging.Logger = log) -> None:
    """Await ``run`` until it returns; each time it raises, log it and start it again after a
    back-off (1 s doubling to 60 s, reset once a run lasted a minute)."""
    backoff = Backoff()
    while True:
        started = trio.current_time()
        try:
            await run()
            return
        except Exception as error:
            delay = backoff.next_delay(trio.current_time() - started)
            log_failure(logger, what, error, delay)
        await trio.sleep(delay)
