"""Logging set up from the config's ``logger`` block."""

from __future__ import annotations

import logging

from nvr.config.schema import LoggerConfig

FORMAT = "%(asctime)s %(name)-24s %(levelname)-8s %(message)s"


def setup_logging(logger: LoggerConfig, level_override: str | None = None) -> None:
    """Root level from ``logger.default`` (or ``--log-level``), then per-logger levels."""
    level = (level_override or logger.default).upper()
    logging.basicConfig(format=FORMAT, level=level, force=True)
    for name, logger_level in logger.logs.items():
        logging.getLogger(name).setLevel(logger_level.upper())
