"""A camera frame as a JPEG for people: overlays, resize, full range, encode (Frigate 0.8:
docs/compatibility.md#overlays).

Frigate 0.8 draws on the full-size frame and then resizes. Here the frame is resized first
and the overlays are drawn on the output, with coordinates scaled to it and line widths and
text sized to its height: the same overlays, but lines and labels stay crisp and legible at
any size (thicker than Frigate 0.8's 2 px on large pictures, never thinner on small ones:
MJPEG streams at h=270, 4K snapshots), and a frame is never copied at full size just to be
drawn on. Drawing uses limited-range colours; the whole output is expanded to full range
just before encoding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import simplejpeg

from nvr._fast.draw import (
    black_out,
    draw_polygon,
    draw_rectangle,
    draw_text,
    resize_plane,
    text_size,
)
from nvr._fast.i420 import frame_size, to_full_range
from nvr.frames import Box, Planes, planes

TAB10 = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)
BLACK, WHITE = (0, 0, 0), (255, 255, 255)
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
# Height of a label box and of the timestamp as a share of the output height.
LABEL_HEIGHT, TIMESTAMP_HEIGHT = 0.028, 0.04
# Text is drawn at least twice the font's size (glyphs 14 px high) on outputs this high or
# higher: smaller is not legible in a live view or a snapshot.
LEGIBLE_TEXT_FROM = 240
# Line widths are given for an output this high and scale with it, never below 2 px for a
# line of 2 or more: at h=270 a 1 px outline disappears into the footage.
LINE_REFERENCE_HEIGHT = 480
JPEG_QUALITY = 70  # of every JPEG nvr makes, as Frigate 0.8's
TIMESTAMP_FORMAT = "%m/%d/%Y %H:%M:%S"


def timestamp_text(epoch: float) -> str:
    """How images show a time: local, ``MM/DD/YYYY HH:MM:SS``."""
    return time.strftime(TIMESTAMP_FORMAT, time.localtime(epoch))


@dataclass(frozen=True)
class TrackedBox:
    """A tracked object as drawn by the bbox overlay."""

    label: str
    score: float
    area: int
    box: Box
    color: tuple[int, int, int]  # RGB
    detected: bool  # False: disappeared but still tracked, drawn as a thin blue box


@dataclass(frozen=True)
class ZoneOutline:
    """A zone polygon; ``active`` (an object is inside) draws it thick."""

    name: str
    points: list[tuple[int, int]]
    color: tuple[int, int, int]  # RGB
    active: bool


@dataclass(frozen=True)
class OverlayFlags:
    """Which overlays a latest.jpg or MJPEG viewer asked for."""

    bbox: bool = False
    timestamp: bool = False
    zones: bool = False
    mask: bool = False
    motion: bool = False
    regions: bool = False


@dataclass(frozen=True)
class Overlays:
    """What to draw on a frame, in frame coordinates; empty draws nothing."""

    objects: tuple[TrackedBox, ...] = ()
    regions: tuple[Box, ...] = ()
    zones: tuple[ZoneOutline, ...] = ()
    mask: np.ndarray | None = None  # H x W uint8, 0 = masked out (painted black)
    motion: tuple[Box, ...] = ()
    timestamp: float | None = None  # seconds since the epoch, drawn in local time


def zone_colors(count: int) -> list[tuple[int, int, int]]:
    """``count`` RGB colours: the "tab10" palette resampled to ``count`` entries."""
    if count == 1:
        return [TAB10[0]]
    return [TAB10[min(9, i * 10 // (count - 1))] for i in range(count)]


def label_colors(labels: dict[int, str]) -> dict[str, tuple[int, int, int]]:
    """The box colour of each label: "tab10" resampled to the label map, by class id."""
    palette = zone_colors(max(labels) + 1)
    return {name: palette[class_id] for class_id, name in sorted(labels.items())}


@lru_cache(maxsize=256)
def rgb_to_yuv(color: tuple[int, int, int], full_range: bool = False) -> tuple[int, int, int]:
    """The BT.601 (Y, U, V) of an RGB colour, limited range unless ``full_range``."""
    r, g, b = (channel / 255 for channel in color)
    if full_range:
        y = 0.299 * r + 0.587 * g + 0.114 * b
        u, v = 128 + 127.5 * (b - y) / 0.886, 128 + 127.5 * (r - y) / 0.701
        return round(255 * y), min(255, round(u)), min(255, round(v))
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return round(y), round(u), round(v)


def output_size(width: int, height: int, out_height: int | None) -> tuple[int, int]:
    """The size of a ``width`` x ``height`` frame resized to ``out_height``, aspect kept.

    None keeps the frame's own size; otherwise width and height are rounded to even numbers.
    """
    if out_height is None or out_height == height:
        return width, height
    if out_height < 1:
        raise ValueError(f"the output height must be positive, got {out_height}")
    even_height = max(2, out_height - out_height % 2)
    return max(2, 2 * round(even_height * width / height / 2)), even_height


def render_jpeg(frame: np.ndarray, width: int, height: int, overlays: Overlays = Overlays(),
                out_height: int | None = None, quality: int = JPEG_QUALITY,
                full_range: bool = False) -> bytes:
    """Encode the I420 ``frame`` (left unchanged) with ``overlays`` at height ``out_height``.

    ``full_range``: the frame already uses 0-255 (the camera says so); it is not expanded.
    """
    if frame.ndim != 1 or frame.dtype != np.uint8 or frame.size != frame_size(width, height):
        raise ValueError(f"a {width}x{height} I420 frame is a flat buffer of "
                         f"{frame_size(width, height)} uint8, got {frame.shape} {frame.dtype}")
    out_w, out_h = output_size(width, height, out_height)
    out = np.empty(frame_size(out_w, out_h), np.uint8)  # every byte is written below
    target = planes(out, out_w, out_h)
    if (out_w, out_h) == (width, height):
        out[:] = frame
    else:
        for source, plane in zip(planes(frame, width, height), target, strict=True):
            resize_plane(source, plane)
    draw_overlays(target, width, height, overlays, full_range)
    if not full_range:
        to_full_range(out, out, out_w, out_h)
    return simplejpeg.encode_jpeg_yuv_planes(*target, quality=quality)


def draw_overlays(target: Planes, width: int, height: int, overlays: Overlays,
                  full_range: bool = False) -> None:
    """Draw ``overlays``, in the coordinates of a ``width`` x ``height`` frame, on ``target``.

    ``target`` holds planes of that frame at any size (limited range unless ``full_range``);
    the overlays are drawn in Frigate 0.8's order, scaled to it.
    """
    _Canvas(target, width, height, full_range).draw(overlays)


class _Canvas:
    """The output planes of a ``frame_width`` x ``frame_height`` frame, drawn in its coordinates."""

    def __init__(self, target: Planes, frame_width: int, frame_height: int,
                 full_range: bool) -> None:
        self.planes = target
        self.full_range = full_range
        self.height, self.width = target.y.shape
        self.frame_shape = frame_height, frame_width
        self.scale_x, self.scale_y = self.width / frame_width, self.height / frame_height

    def draw(self, overlays: Overlays) -> None:
        """Draw the overlays in Frigate 0.8's order."""
        for obj in overlays.objects:
            color = obj.color if obj.detected else BLUE
            self.rectangle(obj.box, color, 2 if obj.detected else 1)
            self.label(obj.box, f"{obj.label}: {int(obj.score * 100)}% {int(obj.area)}", color)
        for region in overlays.regions:
            self.rectangle(region, GREEN, 2)
        for zone in overlays.zones:
            points = [(x * self.scale_x, y * self.scale_y) for x, y in zone.points]
            draw_polygon(*self.planes, points, self.yuv(zone.color),
                         self.thickness(8 if zone.active else 2))
        if overlays.mask is not None:
            self.black_out(overlays.mask)
        for box in overlays.motion:
            self.rectangle(box, RED, 2)
        if overlays.timestamp is not None:
            text = timestamp_text(overlays.timestamp)
            scale = self.text_scale(TIMESTAMP_HEIGHT)
            draw_text(*self.planes, 4 * scale, 4 * scale, text, self.yuv(WHITE), None, scale)

    def yuv(self, color: tuple[int, int, int]) -> tuple[int, int, int]:
        return rgb_to_yuv(color, self.full_range)

    def thickness(self, thickness: int) -> int:
        return max(min(thickness, 2), round(thickness * self.height / LINE_REFERENCE_HEIGHT))

    def text_scale(self, share: float) -> int:
        legible = 2 if self.height >= LEGIBLE_TEXT_FROM else 1
        return max(legible, round(share * self.height / text_size("0", 1)[1]))

    def rectangle(self, box: Box, color: tuple[int, int, int], thickness: int) -> None:
        x1, y1 = round(box[0] * self.scale_x), round(box[1] * self.scale_y)
        # A box that is not empty in the frame stays at least one pixel wide and high.
        x2 = max(x1 + 1, round(box[2] * self.scale_x))
        y2 = max(y1 + 1, round(box[3] * self.scale_y))
        draw_rectangle(*self.planes, (x1, y1, x2, y2), self.yuv(color),
                       self.thickness(thickness))

    def label(self, box: Box, text: str, color: tuple[int, int, int]) -> None:
        """Black ``text`` on a ``color`` box just above the top-left corner of ``box``."""
        scale = self.text_scale(LABEL_HEIGHT)
        text_w, text_h = text_size(text, scale)
        x = max(0, min(round(box[0] * self.scale_x), self.width - text_w))
        top = round(box[1] * self.scale_y) - text_h
        draw_text(*self.planes, x, top if top >= 0 else 0, text, self.yuv(BLACK),
                  self.yuv(color), scale)

    def black_out(self, mask: np.ndarray) -> None:
        if mask.shape != self.frame_shape:
            raise ValueError(f"the mask is {mask.shape[::-1]}, the frame {self.frame_shape[::-1]}")
        # On a resized output each pixel takes the mask under its centre: sharp, and far
        # cheaper than resizing the mask.
        black_out(*self.planes, np.ascontiguousarray(mask, np.uint8), self.yuv(BLACK))
