"""render_jpeg on real footage: size, colours against ffmpeg's own conversion, overlays."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import simplejpeg

from nvr.capture.decode import decode_file
from nvr.frames import new_frame, planes
from nvr.render.overlays import (
    TAB10,
    Overlays,
    TrackedBox,
    ZoneOutline,
    output_size,
    render_jpeg,
    rgb_to_yuv,
    zone_colors,
)
from support import shared_file

WIDTH, HEIGHT = 768, 432


def decode_frame(pix_fmt: str) -> np.ndarray:
    video = shared_file("media/intel_one_by_one_person_detection_768x432.mp4")
    return decode_file(video, start=20, frames=1, pix_fmt=pix_fmt).copy()


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    frame = decode_frame("yuv420p")
    frame.flags.writeable = False  # render_jpeg must not write to its input
    return frame


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    """The same frame as ffmpeg converts it to RGB."""
    return decode_frame("rgb24").reshape(HEIGHT, WIDTH, 3)


def decode(jpeg: bytes) -> np.ndarray:
    return simplejpeg.decode_jpeg(jpeg, colorspace="RGB")


def test_colours_match_ffmpeg_conversion(frame: np.ndarray, rgb: np.ndarray) -> None:
    image = decode(render_jpeg(frame, WIDTH, HEIGHT))

    assert image.shape == (HEIGHT, WIDTH, 3)
    assert np.abs(image.astype(int) - rgb).mean() < 2.5
    # Encoding the limited-range planes as they are is visibly off: the conversion matters.
    washed_out = decode(simplejpeg.encode_jpeg_yuv_planes(*planes(frame, WIDTH, HEIGHT)))
    assert np.abs(washed_out.astype(int) - rgb).mean() > 8


def test_a_full_range_frame_is_not_expanded_again(rgb: np.ndarray) -> None:
    video = shared_file("media/intel_one_by_one_person_detection_768x432.mp4")
    full = decode_file(video, start=20, frames=1, filters="scale=out_range=full").copy()

    image = decode(render_jpeg(full, WIDTH, HEIGHT, full_range=True)).astype(int)

    assert np.abs(image - rgb).mean() < 2.5
    expanded_twice = decode(render_jpeg(full, WIDTH, HEIGHT)).astype(int)
    assert np.abs(expanded_twice - rgb).mean() > 5


def test_overlays_on_a_full_range_frame_use_full_range_colours() -> None:
    frame = new_frame(64, 48)
    frame[:] = 128
    overlays = Overlays(mask=np.zeros((48, 64), np.uint8))  # everything masked: black
    image = decode(render_jpeg(frame, 64, 48, overlays, full_range=True)).astype(int)
    assert image.max() <= 3  # true black, not the limited range's 16


@pytest.mark.parametrize("height", [360, 216, 100, 864])
def test_requested_height_and_aspect(frame: np.ndarray, rgb: np.ndarray, height: int) -> None:
    image = decode(render_jpeg(frame, WIDTH, HEIGHT, out_height=height))

    assert image.shape[0] == height
    assert image.shape[1] / height == pytest.approx(WIDTH / HEIGHT, abs=2 / height)
    # Colours survive resizing: compare to the reference at the output's size.
    rows = ((np.arange(height) + 0.5) * HEIGHT / height).astype(int)
    cols = ((np.arange(image.shape[1]) + 0.5) * WIDTH / image.shape[1]).astype(int)
    means = image.reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(means, rgb[rows][:, cols].reshape(-1, 3).mean(axis=0), atol=3)


def test_output_size() -> None:
    assert output_size(WIDTH, HEIGHT, None) == (WIDTH, HEIGHT)
    assert output_size(1280, 720, 360) == (640, 360)
    assert output_size(1280, 720, 361) == (640, 360)
    assert output_size(1920, 1080, 1) == (4, 2)
    assert output_size(641, 481, 481) == (641, 481)
    with pytest.raises(ValueError):
        output_size(1280, 720, 0)


def colour_at(image: np.ndarray, x1: int, y1: int, x2: int, y2: int) -> np.ndarray:
    return image[y1:y2, x1:x2].reshape(-1, 3).mean(axis=0)


def test_motion_box_is_red_at_its_place(frame: np.ndarray) -> None:
    overlays = Overlays(motion=((200, 100, 400, 300),))

    image = decode(render_jpeg(frame, WIDTH, HEIGHT, overlays)).astype(int)
    small = decode(render_jpeg(frame, WIDTH, HEIGHT, overlays, out_height=216)).astype(int)

    for line in [(220, 100, 380, 102), (200, 120, 202, 280), (398, 120, 400, 280)]:
        r, g, b = colour_at(image, *line)
        assert r > 190 and g < 80 and b < 80, (line, r, g, b)
    r, g, b = colour_at(small, 110, 50, 190, 51)
    assert r > 150 and g < 110 and b < 110
    plain = decode(render_jpeg(frame, WIDTH, HEIGHT)).astype(int)
    inside, outside = (210, 110, 390, 290), (420, 110, 600, 290)
    assert np.abs(colour_at(image, *inside) - colour_at(plain, *inside)).max() < 3
    assert np.abs(colour_at(image, *outside) - colour_at(plain, *outside)).max() < 3


def test_every_overlay_leaves_the_input_unchanged(frame: np.ndarray) -> None:
    before = frame.copy()
    mask = np.full((HEIGHT, WIDTH), 255, np.uint8)
    mask[:100, :150] = 0
    overlays = Overlays(
        objects=(TrackedBox("person", 0.87, 12345, (300, 150, 420, 400), TAB10[0], True),
                 TrackedBox("car", 0.5, 900, (0, 0, 80, 40), TAB10[2], False)),
        regions=((250, 100, 550, 400),),
        zones=(ZoneOutline("door", [(50, 400), (700, 420), (600, 200)], TAB10[1], True),
               ZoneOutline("desk", [(10, 10), (100, 10), (100, 90)], TAB10[3], False)),
        mask=mask, motion=((310, 160, 410, 390),), timestamp=1_700_000_000.0,
    )
    for height in (None, 360, 600):
        assert decode(render_jpeg(frame, WIDTH, HEIGHT, overlays, height)).size
    np.testing.assert_array_equal(frame, before)


def test_mask_is_black_and_timestamp_is_drawn_over_it(frame: np.ndarray) -> None:
    mask = np.full((HEIGHT, WIDTH), 255, np.uint8)
    mask[:, :200] = 0

    masked = decode(render_jpeg(frame, WIDTH, HEIGHT, Overlays(mask=mask))).astype(int)
    stamped = decode(render_jpeg(frame, WIDTH, HEIGHT, Overlays(mask=mask, timestamp=0.0)))

    assert masked[:, :196].max() < 12
    assert masked[:, 204:].mean() > 60
    changed = np.abs(stamped.astype(int) - masked).max(axis=2) > 40
    rows, cols = np.nonzero(changed)
    assert rows.max() < 40 and cols.max() < 250  # white text in the top-left corner only
    assert stamped[changed].min() > 150


def test_label_above_the_box_in_its_colour(frame: np.ndarray) -> None:
    color = (214, 39, 40)
    overlays = Overlays(objects=(TrackedBox("dog", 0.91, 4000, (300, 150, 420, 400), color,
                                            True),))

    # Twice the frame's size: the box is at (600, 300)-(840, 800), the label box above it.
    image = decode(render_jpeg(frame, WIDTH, HEIGHT, overlays, 2 * HEIGHT)).astype(int)

    def share_of_color(x1: int, y1: int, x2: int, y2: int) -> float:
        pixels = image[y1:y2, x1:x2].reshape(-1, 3)
        return float((np.abs(pixels - color).max(axis=1) < 50).mean())

    label = image[280:298, 602:750].reshape(-1, 3)
    assert share_of_color(602, 280, 750, 298) > 0.5
    assert (label.max(axis=1) < 60).mean() > 0.1  # black text
    assert share_of_color(602, 250, 750, 275) < 0.05
    assert share_of_color(600, 400, 604, 700) > 0.9  # the box's left edge, 4 pixels wide


def test_empty_frame_is_dark_green() -> None:
    """Before the first frame the zero buffer shows, as in the reference (quirk 4)."""
    image = decode(render_jpeg(new_frame(320, 240), 320, 240)).astype(int)

    r, g, b = image.reshape(-1, 3).mean(axis=0)
    assert g > 100 and r < 20 and b < 20


def test_renders_in_parallel_threads_match(frame: np.ndarray) -> None:
    overlays = Overlays(motion=((10, 10, 100, 100),), timestamp=0.0)
    expected = render_jpeg(frame, WIDTH, HEIGHT, overlays, 360)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: render_jpeg(frame, WIDTH, HEIGHT, overlays, 360),
                                range(16)))
    assert results == [expected] * 16


def test_bad_input_is_refused(frame: np.ndarray) -> None:
    with pytest.raises(ValueError, match="I420"):
        render_jpeg(frame[:-1], WIDTH, HEIGHT)
    with pytest.raises(ValueError, match="mask"):
        render_jpeg(frame, WIDTH, HEIGHT, Overlays(mask=np.zeros((10, 10), np.uint8)))


def test_palette_and_colours() -> None:
    assert zone_colors(10) == list(TAB10)
    assert zone_colors(1) == [TAB10[0]]
    assert zone_colors(2) == [TAB10[0], TAB10[9]]
    assert zone_colors(0) == []
    # The reference's stock labels: person and bus blue, bird orange, cat/dog/horse green.
    labels = zone_colors(80)
    assert labels[0] == labels[5] == TAB10[0]
    assert labels[15] == TAB10[1]
    assert labels[16] == labels[17] == labels[18] == TAB10[2]
    assert rgb_to_yuv((255, 255, 255)) == (235, 128, 128)
    assert rgb_to_yuv((0, 0, 0)) == (16, 128, 128)
    assert rgb_to_yuv((255, 0, 0)) == (81, 90, 240)
    assert rgb_to_yuv((255, 255, 255), full_range=True) == (255, 128, 128)
    assert rgb_to_yuv((0, 0, 0), full_range=True) == (0, 128, 128)
    assert rgb_to_yuv((255, 0, 0), full_range=True) == (76, 85, 255)


def label_and_zone_sizes(frame: np.ndarray, out_height: int | None) -> tuple[int, int, float]:
    """Height of a box's label, thickness of a zone's edge and the share of that edge shown
    in the zone's colour, on the rendered output (pixels that changed from the plain one)."""
    label_color, zone_color = TAB10[2], TAB10[1]
    overlays = Overlays(
        objects=(TrackedBox("person", 0.87, 30000, (300, 150, 420, 400), label_color, True),),
        zones=(ZoneOutline("door", [(500, 380), (740, 380), (620, 250)], zone_color, False),),
    )
    plain = decode(render_jpeg(frame, WIDTH, HEIGHT, out_height=out_height)).astype(int)
    drawn = decode(render_jpeg(frame, WIDTH, HEIGHT, overlays, out_height)).astype(int)
    changed = np.abs(drawn - plain).max(axis=2) > 40
    scale = plain.shape[0] / HEIGHT
    top, left = round(150 * scale), round(300 * scale)
    label_rows = changed[:top, left + 2:left + round(60 * scale)].mean(axis=1) > 0.5
    label_height = int(label_rows[::-1].argmin())  # changed rows right above the box
    column = round(620 * scale)
    edge = changed[round(330 * scale):round(430 * scale), column]
    in_colour = np.abs(drawn[round(330 * scale):round(430 * scale), column][edge]
                       - zone_color).max(axis=1) < 60
    return label_height, int(edge.sum()), float(in_colour.mean())


@pytest.mark.parametrize("out_height", [270, None, 1080])
def test_labels_and_zone_outlines_are_legible_at_every_size(frame: np.ndarray,
                                                            out_height: int | None) -> None:
    label_height, zone_thickness, zone_in_colour = label_and_zone_sizes(frame, out_height)
    height = out_height or HEIGHT
    # Glyphs at least 14 px high (the label box 22 px) and a fortieth of the picture.
    assert label_height >= max(22, height / 40), label_height
    assert label_height <= height / 10
    assert zone_thickness >= max(2, height // 250), zone_thickness
    assert zone_in_colour >= 0.5, zone_in_colour
