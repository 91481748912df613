"""Images of a tracked object: snapshots, best.jpg, event thumbnails (Frigate 0.8:
docs/compatibility.md#object-images).

Every image starts from the object's best frame, a flat I420 buffer that is never written
to. The steps are Frigate 0.8's (box, crop, resize, timestamp, JPEG q70), done in an order
that touches as few pixels as possible: the crop is cut from the frame first and only the
crop is resized; the box and its label are then drawn on the output, translated into the
crop's coordinates and scaled to the output (render.draw_overlays), which gives
Frigate 0.8's picture (the box was drawn on the full frame, so it lies inside the crop) with
lines and labels sized for the output. The timestamp is drawn last, on the output.

Differences from Frigate 0.8, all cosmetic:

* Crop: the region (region_for_box, multiplier 1.1) is clamped to the frame like
  Frigate 0.8's NumPy slicing, so it is square unless it is larger than the frame. A region
  starting at an odd column or row is moved one pixel left or up (still inside the frame):
  I420 chroma covers 2 x 2 pixels, so only an even start can be cut without resampling.
* The label of a box without room above it inside the crop is drawn at the crop's top edge
  (Frigate 0.8 places it relative to the full frame, where the crop may cut it off).
* Sizes are Frigate 0.8's exactly (height ``out_height``, width ``int(out_height * w /
  h)``), odd ones included, as the event thumbnail is 175 x 175; in an odd-sized output the
  last chroma sample is half outside the image, shifting the colour by under a pixel.
* Text uses our bitmap font, at the integer scale closest to Frigate 0.8's text width.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import simplejpeg

from nvr._fast.draw import draw_text, resize_plane, text_size
from nvr._fast.i420 import frame_size, to_full_range
from nvr._fast.regions import region_for_box
from nvr.frames import Box, Picture, Planes, planes
from nvr.render.overlays import (
    JPEG_QUALITY,
    WHITE,
    Overlays,
    TrackedBox,
    draw_overlays,
    rgb_to_yuv,
    timestamp_text,
)

THUMBNAIL_HEIGHT = 175
CROP_MULTIPLIER = 1.1
# The timestamp: its left edge and baseline in output pixels, and its minimum width and
# share of the output width (Frigate 0.8: docs/compatibility.md#object-images).
TIMESTAMP_LEFT, TIMESTAMP_BASELINE = 5, 7
TIMESTAMP_MIN_WIDTH, TIMESTAMP_WIDTH_SHARE = 150, 0.33
# Our font's glyphs stand on a baseline this many font pixels below the top of the text box.
_BASELINE_ROWS = 8


def render_object_image(picture: Picture, detection: TrackedBox, *, bounding_box: bool = False,
                        crop: bool = False, out_height: int | None = None,
                        timestamp: bool = False) -> bytes:
    """The JPEG of a tracked object in ``picture``, its best frame; ``detection`` is where it
    was found there (box in frame pixels, label, score, area, colour).

    Options as in Frigate 0.8 (docs/compatibility.md#object-images): ``bounding_box`` draws
    the box and its label, ``crop`` cuts the square region around the box (multiplier 1.1),
    ``out_height`` resizes (aspect kept; None keeps the height of the frame or crop),
    ``timestamp`` writes the local time of the picture at the bottom left. Without options
    it is best.jpg: the frame as it is.
    """
    box = _int_box(detection.box)
    drawn = None
    if bounding_box:
        drawn = TrackedBox(detection.label, detection.score, int(detection.area), box,
                           detection.color, True)
    return _render(picture, box, crop, out_height, drawn, timestamp)


def thumbnail_jpeg(picture: Picture, box: Box) -> bytes:
    """The event thumbnail: the region around ``box``, THUMBNAIL_HEIGHT high, no overlays
    (175 x 175 unless the region is larger than the frame)."""
    return _render(picture, _int_box(box), True, THUMBNAIL_HEIGHT, None, False)


@lru_cache(maxsize=16)
def black_jpeg(width: int, height: int) -> bytes:
    """A black ``width`` x ``height`` JPEG (q70), e.g. best.jpg of a label not seen yet."""
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    return simplejpeg.encode_jpeg(np.zeros((height, width, 3), np.uint8), quality=JPEG_QUALITY,
                                  colorsubsampling="420")


def android_thumbnail(jpeg: bytes) -> bytes:
    """A thumbnail for Android notifications (``format=android``, as Frigate 0.8 has it).

    Black borders left and right, each half the image's width, so a square becomes exactly
    2:1; for an odd width the right border is one pixel wider than the left.
    """
    image = simplejpeg.decode_jpeg(jpeg, colorspace="RGB")
    image_h, image_w = image.shape[:2]
    left = image_w // 2
    padded = np.zeros((image_h, 2 * image_w, 3), np.uint8)
    padded[:, left:left + image_w] = image
    return simplejpeg.encode_jpeg(padded, quality=JPEG_QUALITY, colorsubsampling="420")


def crop_region(box: Box, width: int, height: int) -> Box:
    """The part of a ``width`` x ``height`` frame that a crop around ``box`` keeps.

    Frigate 0.8's region (multiplier 1.1) cut at the frame's edges, moved to start on an
    even column and row (at most one pixel left or up, still inside the frame).
    """
    x1, y1, x2, y2 = region_for_box(_int_box(box), width, height, CROP_MULTIPLIER)
    shift_x, shift_y = x1 % 2, y1 % 2
    return (x1 - shift_x, y1 - shift_y, min(x2 - shift_x, width), min(y2 - shift_y, height))


def _render(picture: Picture, box: Box, crop: bool, out_height: int | None,
            tracked: TrackedBox | None, timestamp: bool) -> bytes:
    frame, width, height, full_range = (picture.buffer, picture.width, picture.height,
                                        picture.full_range)
    if frame.ndim != 1 or frame.dtype != np.uint8 or frame.size != frame_size(width, height):
        raise ValueError(f"a {width}x{height} I420 frame is a flat buffer of "
                         f"{frame_size(width, height)} uint8, got {frame.shape} {frame.dtype}")
    left, top, right, bottom = crop_region(box, width, height) if crop else (0, 0, width, height)
    source = _cut(planes(frame, width, height), left, top, right, bottom)
    crop_w, crop_h = right - left, bottom - top
    out_w, out_h = _output_size(crop_w, crop_h, out_height)
    out = np.empty(frame_size(out_w, out_h), np.uint8)  # every byte is written below
    target = planes(out, out_w, out_h)
    for plane, into in zip(source, target, strict=True):
        if (out_w, out_h) == (crop_w, crop_h):
            into[:] = plane
        else:  # the kernel takes contiguous planes: a crop is copied first (it is small)
            resize_plane(np.ascontiguousarray(plane), into)
    if tracked is not None:
        x1, y1, x2, y2 = tracked.box
        moved = TrackedBox(tracked.label, tracked.score, tracked.area,
                           (x1 - left, y1 - top, x2 - left, y2 - top), tracked.color, True)
        draw_overlays(target, crop_w, crop_h, Overlays(objects=(moved,)), full_range)
    if timestamp:
        _draw_timestamp(target, picture.time, full_range)
    if not full_range:
        to_full_range(out, out, out_w, out_h)
    return simplejpeg.encode_jpeg_yuv_planes(*target, quality=JPEG_QUALITY)


def _cut(source: Planes, left: int, top: int, right: int, bottom: int) -> Planes:
    """Views of the rectangle of ``source`` from the even (``left``, ``top``) on."""
    return Planes(
        source.y[top:bottom, left:right],
        source.u[top // 2:(bottom + 1) // 2, left // 2:(right + 1) // 2],
        source.v[top // 2:(bottom + 1) // 2, left // 2:(right + 1) // 2],
    )


def _output_size(width: int, height: int, out_height: int | None) -> tuple[int, int]:
    """Frigate 0.8's size for ``out_height``: that height, the width in proportion."""
    if out_height is None:
        return width, height
    if out_height < 1:
        raise ValueError(f"the output height must be positive, got {out_height}")
    return max(1, int(out_height * width / height)), out_height


def _draw_timestamp(target: Planes, frame_time: float, full_range: bool) -> None:
    """The local ``frame_time`` in white at the bottom left, about a third as wide as
    the image (at least 150 pixels)."""
    text = timestamp_text(frame_time)
    out_h, out_w = target.y.shape
    wanted = max(TIMESTAMP_MIN_WIDTH, TIMESTAMP_WIDTH_SHARE * out_w)
    scale = max(1, round(wanted / text_size(text, 1)[0]))
    # draw_text leaves one font pixel of padding before the first glyph.
    left = max(0, TIMESTAMP_LEFT - scale)
    top = out_h - TIMESTAMP_BASELINE - _BASELINE_ROWS * scale
    draw_text(*target, left, top, text, rgb_to_yuv(WHITE, full_range), None, scale)


def _int_box(box: Box) -> Box:
    x1, y1, x2, y2 = box
    return int(x1), int(y1), int(x2), int(y2)
