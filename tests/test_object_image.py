"""Images of a tracked object on real pixels: crop, size, box, timestamp, thumbnails."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import simplejpeg

from nvr.capture.decode import decode_file
from nvr.frames import Picture, new_frame, planes
from nvr.render.object_image import (
    THUMBNAIL_HEIGHT,
    android_thumbnail,
    black_jpeg,
    crop_region,
    render_object_image,
    thumbnail_jpeg,
)
from nvr.render.overlays import TrackedBox
from support import shared_file

WIDTH, HEIGHT = 1280, 720
# Grace Hopper's portrait (512 x 600) in a 1280 x 720 frame, 384 px from the left, 60 from the
# top; the rest is black.
PLACE = "pad=1280:720:384:60:black"
RED = (214, 39, 40)
NOON = 1_700_000_000.0


def photo(pix_fmt: str, filters: str = PLACE) -> np.ndarray:
    path = shared_file("media/test_images/grace_hopper.bmp")
    return decode_file(path, frames=1, filters=filters, pix_fmt=pix_fmt).copy()


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    frame = photo("yuv420p")
    frame.flags.writeable = False  # the renders must not write to their input
    return frame


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    """The same frame as ffmpeg converts it to RGB."""
    return photo("rgb24").reshape(HEIGHT, WIDTH, 3).astype(int)


def decode(jpeg: bytes) -> np.ndarray:
    return simplejpeg.decode_jpeg(jpeg, colorspace="RGB").astype(int)


def bright_box(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """A black limited-range frame with a white rectangle at ``box``."""
    frame = new_frame(width, height)
    y, u, v = planes(frame, width, height)
    y[:] = 16
    u[:] = v[:] = 128
    x1, y1, x2, y2 = box
    y[y1:y2, x1:x2] = 235
    return frame


def picture(frame: np.ndarray, width: int = WIDTH, height: int = HEIGHT,
            full_range: bool = False) -> Picture:
    return Picture(frame, width, height, full_range, NOON)


def person(box: tuple[int, int, int, int]) -> TrackedBox:
    return TrackedBox("person", 0.876, 12345, box, RED, True)


def render(frame: np.ndarray, box: tuple[int, int, int, int], width: int = WIDTH,
           height: int = HEIGHT, full_range: bool = False, **options: Any) -> np.ndarray:
    jpeg = render_object_image(picture(frame, width, height, full_range), person(box),
                               **options)
    return decode(jpeg)


def test_crop_is_the_square_region_around_the_box() -> None:
    box = (600, 300, 700, 400)  # 100 px: the region is the minimum, 300 px, centred on it
    frame = bright_box(WIDTH, HEIGHT, box)

    image = render(frame, box, crop=True)

    assert crop_region(box, WIDTH, HEIGHT) == (500, 200, 800, 500)
    assert image.shape == (300, 300, 3)
    assert image[103:197, 103:197].min() > 240  # the box, in the middle
    outside = np.ones((300, 300), bool)
    outside[97:203, 97:203] = False
    assert image[outside].max() < 12


def test_crop_shows_the_photo_at_the_region(frame: np.ndarray, rgb: np.ndarray) -> None:
    box = (500, 150, 800, 600)  # 450 high: the region is 492 px, (404, 129)-(896, 621)
    x1, y1, x2, y2 = crop_region(box, WIDTH, HEIGHT)
    # Moved up one row to start on an even row, which I420 chroma needs.
    assert (x1, y1, x2, y2) == (404, 128, 896, 620)

    image = render(frame, box, crop=True)

    assert image.shape == (492, 492, 3)
    # About 4 is JPEG's loss on this detailed part of the photo (render_jpeg's too).
    assert np.abs(image - rgb[y1:y2, x1:x2]).mean() < 4.5
    # One pixel off is far worse: the pixels are where they belong.
    for dx, dy in ((1, 0), (0, 1), (-1, -1)):
        assert np.abs(image - rgb[y1 + dy:y2 + dy, x1 + dx:x2 + dx]).mean() > 7


def test_crop_of_a_region_larger_than_the_frame_is_cut_at_its_edges() -> None:
    box = (100, 60, 140, 100)  # the region is 300 x 300; the frame is only 240 high
    frame = bright_box(320, 240, box)

    image = render(frame, box, 320, 240, crop=True)

    assert crop_region(box, 320, 240) == (0, 0, 300, 240)
    assert image.shape == (240, 300, 3)
    assert image[63:97, 103:137].min() > 240
    assert image[:50].max() < 12 and image[110:].max() < 12


@pytest.mark.parametrize(("crop", "out_height", "size"), [
    (False, None, (1280, 720)),
    (False, 360, (640, 360)),
    (False, 175, (311, 175)),  # the reference's int(h * W / H)
    (True, None, (300, 300)),
    (True, 175, (175, 175)),
    (True, 601, (601, 601)),  # enlarging works too
])
def test_output_size(frame: np.ndarray, rgb: np.ndarray, crop: bool, out_height: int | None,
                     size: tuple[int, int]) -> None:
    box = (650, 300, 750, 400)
    image = render(frame, box, crop=crop, out_height=out_height)

    assert image.shape == (size[1], size[0], 3)
    # Colours survive resizing: compare the means with the reference's pixels there.
    x1, y1, x2, y2 = crop_region(box, WIDTH, HEIGHT) if crop else (0, 0, WIDTH, HEIGHT)
    np.testing.assert_allclose(image.reshape(-1, 3).mean(axis=0),
                               rgb[y1:y2, x1:x2].reshape(-1, 3).mean(axis=0), atol=2.5)


def share_of(image: np.ndarray, color: tuple[int, int, int], x1: int, y1: int, x2: int,
             y2: int) -> float:
    pixels = image[y1:y2, x1:x2].reshape(-1, 3)
    return float((np.abs(pixels - color).max(axis=1) < 50).mean())


def test_bounding_box_and_label_in_the_label_colour(frame: np.ndarray) -> None:
    box = (500, 150, 800, 600)

    plain = render(frame, box)
    image = render(frame, box, bounding_box=True)

    # Thickness 2, inside the box's edges.
    assert share_of(image, RED, 500, 200, 502, 580) > 0.9
    assert share_of(image, RED, 798, 200, 800, 580) > 0.9
    assert share_of(image, RED, 520, 598, 780, 600) > 0.9
    assert share_of(image, RED, 504, 200, 796, 580) < 0.05
    # The label sits on a box of the colour right above the top-left corner, with black text.
    label = image[137:148, 502:620].reshape(-1, 3)
    assert share_of(image, RED, 502, 137, 620, 148) > 0.5
    assert (label.max(axis=1) < 60).mean() > 0.1
    # Nothing else changes.
    assert np.abs(image[:112] - plain[:112]).max() < 3
    assert np.abs(image[200:560, 528:768] - plain[200:560, 528:768]).max() < 3


def test_bounding_box_follows_the_crop_and_the_output_size(frame: np.ndarray) -> None:
    box = (500, 150, 800, 600)  # the crop is (404, 128)-(896, 620)

    cropped = render(frame, box, bounding_box=True, crop=True)
    doubled = render(frame, box, bounding_box=True, crop=True, out_height=2 * 492)

    # In the crop the box is at (96, 22)-(396, 472).
    assert share_of(cropped, RED, 96, 40, 98, 460) > 0.9
    assert share_of(cropped, RED, 394, 40, 396, 460) > 0.9
    assert share_of(cropped, RED, 110, 22, 380, 24) > 0.9
    assert share_of(cropped, RED, 100, 40, 392, 460) < 0.05
    # At twice the size: (192, 44)-(792, 944), and the lines are 4 pixels wide.
    assert share_of(doubled, RED, 192, 80, 196, 920) > 0.9
    assert share_of(doubled, RED, 788, 80, 792, 920) > 0.9
    assert share_of(doubled, RED, 200, 80, 780, 920) < 0.05


def test_bounding_box_on_a_full_range_frame() -> None:
    box = (600, 300, 700, 400)
    frame = bright_box(WIDTH, HEIGHT, box)
    y, _, _ = planes(frame, WIDTH, HEIGHT)
    y[y == 16] = 0  # full-range black

    image = render(frame, box, full_range=True, bounding_box=True, crop=True)

    assert share_of(image, RED, 100, 110, 102, 190) > 0.9
    assert image[250:, :].max() < 6  # true black, not expanded (or drawn) twice


def bright_pixels_added(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, ...]:
    changed = np.abs(after - before).max(axis=2) > 40
    assert (after[changed].min(axis=1) > 180).mean() > 0.6  # white text (and JPEG ringing)
    return np.nonzero(changed)


@pytest.mark.parametrize(("crop", "out_height", "text_width"), [
    (False, None, 460),  # wanted 0.33 x 1280 = 422 px; scale 4 of our font is 460 wide
    (True, 175, 115),  # wanted 150 px; scale 1 is 115 wide
    (False, 360, 230),  # wanted 211 px
])
def test_timestamp_at_the_bottom_left(frame: np.ndarray, crop: bool, out_height: int | None,
                                      text_width: int) -> None:
    box = (500, 150, 800, 600)
    plain = render(frame, box, crop=crop, out_height=out_height)
    stamped = render(frame, box, crop=crop, out_height=out_height, timestamp=True)

    rows, cols = bright_pixels_added(plain, stamped)
    height, scale = plain.shape[0], text_width // 115
    assert rows.max() <= height - 7 + 2  # on the baseline 7 px above the bottom
    assert rows.min() >= height - 7 - 8 * scale - 2
    assert 4 <= cols.min() <= 5 + 2 * scale + 2  # the first glyph's first column is lit
    assert text_width - 3 * scale - 3 <= cols.max() <= text_width + 4


def test_timestamp_is_drawn_after_the_box_and_only_when_asked(frame: np.ndarray) -> None:
    box = (0, 500, 400, 720)  # the box's bottom-left corner is under the timestamp

    boxed = render(frame, box, bounding_box=True)
    both = render(frame, box, bounding_box=True, timestamp=True)

    rows, cols = bright_pixels_added(boxed, both)
    assert rows.min() > 660 and cols.max() < 470


def test_the_frame_is_left_unchanged(frame: np.ndarray) -> None:
    before = frame.copy()
    writable = frame.copy()
    for target in (frame, writable):
        for crop in (False, True):
            for out_height in (None, 175, 1000):
                render(target, (500, 150, 800, 600), bounding_box=True, crop=crop,
                       out_height=out_height, timestamp=True)
    np.testing.assert_array_equal(frame, before)
    np.testing.assert_array_equal(writable, before)


def test_a_full_range_frame_is_not_expanded_again(rgb: np.ndarray) -> None:
    full = photo("yuv420p", f"{PLACE},scale=out_range=full")
    box = (500, 150, 800, 600)
    x1, y1, x2, y2 = crop_region(box, WIDTH, HEIGHT)

    image = render(full, box, full_range=True, crop=True)
    expanded_twice = render(full, box, full_range=False, crop=True)

    assert np.abs(image - rgb[y1:y2, x1:x2]).mean() < 4.5  # JPEG's loss on this detail
    assert np.abs(expanded_twice - rgb[y1:y2, x1:x2]).mean() > 8


def test_thumbnail(frame: np.ndarray, rgb: np.ndarray) -> None:
    box = (500, 150, 800, 600)
    jpeg = thumbnail_jpeg(picture(frame), box)

    image = decode(jpeg)
    assert THUMBNAIL_HEIGHT == 175
    assert image.shape == (175, 175, 3)
    x1, y1, x2, y2 = crop_region(box, WIDTH, HEIGHT)
    # Compare 7 x 7 blocks of the thumbnail with the same parts of the region.
    blocks = image.reshape(25, 7, 25, 7, 3).mean(axis=(1, 3))
    region = rgb[y1:y2, x1:x2]
    edges = np.linspace(0, 492, 26).round().astype(int)
    expected = np.array([[region[edges[i]:edges[i + 1], edges[j]:edges[j + 1]].mean(axis=(0, 1))
                          for j in range(25)] for i in range(25)])
    assert np.abs(blocks - expected).mean() < 4
    assert jpeg == render_object_image(picture(frame), person(box), crop=True, out_height=175)


def test_thumbnail_of_a_small_frame_keeps_the_aspect() -> None:
    box = (100, 60, 140, 100)
    image = decode(thumbnail_jpeg(picture(bright_box(320, 240, box), 320, 240), box))
    assert image.shape == (175, 218, 3)  # the 300 x 240 crop at height 175


def test_best_image(frame: np.ndarray, rgb: np.ndarray) -> None:
    box = (500, 150, 800, 600)
    # Without options the render is best.jpg: the frame as it is, or its crop.
    whole = render(frame, box)
    cropped = render(frame, box, crop=True, out_height=246)

    assert np.abs(whole - rgb).mean() < 2.5
    assert cropped.shape == (246, 246, 3)


def test_black_jpeg() -> None:
    for width, height in ((1280, 720), (175, 175), (31, 7)):
        image = decode(black_jpeg(width, height))
        assert image.shape == (height, width, 3)
        assert image.max() <= 2
    assert black_jpeg(175, 175) is black_jpeg(175, 175)
    with pytest.raises(ValueError):
        black_jpeg(0, 10)


def test_android_thumbnail_is_padded_to_two_to_one(frame: np.ndarray) -> None:
    thumbnail = thumbnail_jpeg(picture(frame), (500, 150, 800, 600))
    original = decode(thumbnail)

    image = decode(android_thumbnail(thumbnail))

    assert image.shape == (175, 350, 3)
    # Black sides (JPEG rings a few pixels into them), the thumbnail from column 87 on.
    assert image[:, :80].max() < 12 and image[:, 272:].max() < 12
    # A second JPEG generation of a detailed image loses about 4; one pixel off loses 12.
    assert np.abs(image[:, 87:262] - original).mean() < 5
    assert np.abs(image[:, 86:261] - original).mean() > 9
    assert np.abs(image[:, 88:263] - original).mean() > 9
    even = decode(android_thumbnail(black_jpeg(200, 100)))
    assert even.shape == (100, 400, 3)


@pytest.mark.parametrize(("width", "height", "box"), [
    (WIDTH, HEIGHT, (0, 0, 50, 50)),  # touching the top-left corner
    (WIDTH, HEIGHT, (1230, 670, 1280, 720)),  # touching the bottom-right corner
    (WIDTH, HEIGHT, (100, 100, 700, 600)),  # 600 px: a 660 px region
    (WIDTH, HEIGHT, (0, 0, 1280, 720)),  # the whole frame: a region larger than it
    (WIDTH, HEIGHT, (301, 201, 333, 277)),  # odd coordinates
    (320, 240, (0, 0, 320, 240)),
    (320, 240, (300, 200, 320, 240)),
    (641, 481, (600, 1, 641, 480)),  # an odd-sized frame
    (64, 48, (10, 10, 20, 20)),  # smaller than the timestamp
])
def test_edge_cases(width: int, height: int, box: tuple[int, int, int, int]) -> None:
    frame = bright_box(width, height, box)
    x1, y1, x2, y2 = crop_region(box, width, height)
    assert 0 <= x1 <= box[0] and 0 <= y1 <= box[1] and x1 % 2 == 0 and y1 % 2 == 0
    assert box[2] <= x2 <= width and box[3] <= y2 <= height
    assert x2 - x1 == y2 - y1 or x2 - x1 == width or y2 - y1 == height

    for out_height in (None, 175, 99):
        image = render(frame, box, width, height, bounding_box=True, crop=True,
                       out_height=out_height, timestamp=True)
        expected_h = out_height or y2 - y1
        assert image.shape == (expected_h, int(expected_h * (x2 - x1) / (y2 - y1)), 3)
    image = render(frame, box, width, height, crop=True)
    inner = (box[1] - y1 + 2, box[3] - y1 - 2, box[0] - x1 + 2, box[2] - x1 - 2)
    if inner[0] < inner[1] and inner[2] < inner[3]:
        assert image[inner[0]:inner[1], inner[2]:inner[3]].min() > 230


def test_bad_input_is_refused(frame: np.ndarray) -> None:
    with pytest.raises(ValueError, match="I420"):
        render(frame[:-1], (0, 0, 10, 10))
    with pytest.raises(ValueError, match="height"):
        render(frame, (0, 0, 10, 10), out_height=0)


def test_renders_in_parallel_threads_match(frame: np.ndarray) -> None:
    def one(_: int) -> bytes:
        return render_object_image(picture(frame), person((500, 150, 800, 600)),
                                   bounding_box=True, crop=True, out_height=300,
                                   timestamp=True)

    expected = one(0)
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(one, range(12))) == [expected] * 12
