"""Query parameters: parsed strictly, answered with 400 and a message when wrong."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import overload

from nvr.render.overlays import OverlayFlags
from nvr.web.context import ApiError

OVERLAY_FLAGS = ("bbox", "timestamp", "zones", "mask", "motion", "regions")


def _integer(args: Mapping[str, str], name: str) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, got {raw!r}") from None


@overload
def int_param(args: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    ...


@overload
def int_param(args: Mapping[str, str], name: str, default: None, *, low: int,
              high: int) -> int | None:
    ...


def int_param(args: Mapping[str, str], name: str, default: int | None, *,
              low: int, high: int) -> int | None:
    """``name`` as an integer in ``low..high``, or ``default`` when absent."""
    value = _integer(args, name)
    if value is None:
        return default
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}, got {value}")
    return value


def optional_int_param(args: Mapping[str, str], name: str) -> int | None:
    """``name`` as any integer, or None when absent (or empty)."""
    return _integer(args, name)


def float_param(args: Mapping[str, str], name: str, default: float | None) -> float | None:
    """``name`` as a finite number (integers too), or ``default`` when absent (or empty)."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ApiError(400, f"{name} must be a finite number, got {raw!r}")
    return value


def text_param(args: Mapping[str, str], name: str) -> str | None:
    """``name`` as a string, or None when absent or empty."""
    return args.get(name) or None


def flag_param(args: Mapping[str, str], name: str) -> bool:
    """An on/off switch: any integer, non-zero meaning on (as Frigate 0.8 reads them)."""
    return bool(_integer(args, name))


def overlay_flags(args: Mapping[str, str]) -> OverlayFlags:
    """The overlay switches of latest.jpg and the MJPEG stream."""
    return OverlayFlags(**{name: flag_param(args, name) for name in OVERLAY_FLAGS})
