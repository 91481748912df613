"""Logging set up from the config's ``logger`` block, with every line redacted, and the recent
warnings the API shows."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from nvr.config.schema import LoggerConfig
from nvr.config.secrets import Redactor

FORMAT = "%(asctime)s %(name)-24s %(levelname)-8s %(message)s"
RECENT_LIMIT = 200


class RedactingFilter(logging.Filter):
    """Passes every record through ``redactor``: its message and its traceback."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # a bad format: the handler reports it as logging always does
        record.msg, record.args = self.redactor(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        return True


class RecentWarnings(logging.Handler):
    """The last ``limit`` warnings and errors (``/api/logs``)."""

    def __init__(self, limit: int = RECENT_LIMIT) -> None:
        super().__init__(logging.WARNING)
        self.records: deque[dict[str, Any]] = deque(maxlen=limit)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:
            self.handleError(record)
            return
        self.records.append({"time": record.created, "level": record.levelname.lower(),
                             "logger": record.name, "message": message})


RECENT_WARNINGS = RecentWarnings()


def setup_logging(logger: LoggerConfig, redactor: Redactor,
                  level_override: str | None = None) -> None:
    """Root level from ``logger.default`` (or ``--log-level``), then per-logger levels; every
    line goes through ``redactor``; warnings and errors are also kept for ``/api/logs``."""
    level = (level_override or logger.default).upper()
    logging.basicConfig(format=FORMAT, level=level, force=True)
    root = logging.getLogger()
    root.addHandler(RECENT_WARNINGS)
    for handler in root.handlers:
        handler.addFilter(RedactingFilter(redactor))
    for name, logger_level in logger.logs.items():
        logging.getLogger(name).setLevel(logger_level.upper())
