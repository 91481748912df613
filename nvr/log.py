"""Logging set up from the config's ``logger`` block, and the recent warnings the API shows."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from nvr.config.schema import LoggerConfig
from nvr.config.view import redact

FORMAT = "%(asctime)s %(name)-24s %(levelname)-8s %(message)s"
RECENT_LIMIT = 200


class RecentWarnings(logging.Handler):
    """The last ``limit`` warnings and errors, credentials redacted (``/api/logs``)."""

    def __init__(self, limit: int = RECENT_LIMIT) -> None:
        super().__init__(logging.WARNING)
        self.records: deque[dict[str, Any]] = deque(maxlen=limit)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({
            "time": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        })


RECENT_WARNINGS = RecentWarnings()


def setup_logging(logger: LoggerConfig, level_override: str | None = None) -> None:
    """Root level from ``logger.default`` (or ``--log-level``), then per-logger levels;
    warnings and errors are also kept for ``/api/logs``."""
    level = (level_override or logger.default).upper()
    logging.basicConfig(format=FORMAT, level=level, force=True)
    logging.getLogger().addHandler(RECENT_WARNINGS)
    for name, logger_level in logger.logs.items():
        logging.getLogger(name).setLevel(logger_level.upper())
