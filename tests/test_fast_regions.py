"""Region selection and the model-input kernel against the plain references, and ffmpeg."""

from __future__ import annotations

import numpy as np
import pytest
import regions_reference as reference
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nvr._fast.regions import crop_to_tensor, reduce_boxes, region_for_box, select_regions
from nvr.capture.decode import decode_file
from nvr.frames import Box, new_frame, planes
from support import ffmpeg_major, shared_file

VIDEO = "media/intel_one_by_one_person_detection_768x432.mp4"


@st.composite
def boxes(draw: st.DrawFn, low: int = -100, high: int = 1400, longest: int = 1600) -> Box:
    x1, y1 = draw(st.integers(low, high)), draw(st.integers(low, high))
    return (x1, y1, x1 + draw(st.integers(0, longest)), y1 + draw(st.integers(0, longest)))


# Boxes that cluster, so that merging and containment actually happen.
clustered = st.lists(boxes(low=0, high=120, longest=150), max_size=10)
frame_sizes = st.tuples(st.integers(1, 2000), st.integers(1, 2000))


# region_for_box (Frigate 0.8: docs/compatibility.md#regions)

@pytest.mark.parametrize(("box", "multiplier", "region"), [
    ((100, 100, 200, 300), 1.2, (0, 50, 300, 350)),  # small: the 300 px minimum
    ((0, 0, 1279, 719), 1.2, (0, 0, 1531, 1531)),  # the spec's full frame, inclusive corners
    ((0, 0, 1280, 720), 1.2, (0, 0, 1536, 1536)),  # the full frame as an exclusive box
    ((1200, 650, 1270, 710), 2.0, (980, 420, 1280, 720)),  # pushed back from the far edges
    ((500, 300, 703, 400), 2.0, (401, 150, 801, 550)),  # longest side 203 floors to 200
    ((640, 360, 640, 360), 1.0, (490, 210, 790, 510)),  # an empty box still gets a region
])
def test_region_examples(box: Box, multiplier: float, region: Box) -> None:
    assert region_for_box(box, 1280, 720, multiplier) == region
    assert reference.region_for_box(box, 1280, 720, multiplier) == region


@given(boxes(), frame_sizes, st.floats(0.5, 3.0))
@settings(max_examples=500)
def test_region_properties(box: Box, frame: tuple[int, int], multiplier: float) -> None:
    width, height = frame
    region = region_for_box(box, width, height, multiplier)
    assert region == reference.region_for_box(box, width, height, multiplier)

    x1, y1, x2, y2 = region
    side = x2 - x1
    assert side == y2 - y1 == max(300, int(max(box[2] - box[0], box[3] - box[1]) // 4 * 4
                                           * multiplier))
    assert x1 >= 0 and y1 >= 0
    if side <= width:
        assert x2 <= width
    if side <= height:
        assert y2 <= height
    inside_frame = box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
    if inside_frame and side >= max(box[2] - box[0], box[3] - box[1]):
        assert x1 <= box[0] and y1 <= box[1] and box[2] <= x2 and box[3] <= y2


def test_region_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="x1 <= x2"):
        region_for_box((10, 10, 5, 20), 1280, 720)
    with pytest.raises(ValueError, match="frame size must be positive"):
        region_for_box((0, 0, 10, 10), 0, 720)
    with pytest.raises(ValueError, match="multiplier must be in"):
        region_for_box((0, 0, 10, 10), 1280, 720, 0.0)
    with pytest.raises(ValueError):
        region_for_box((0, 0, 10), 1280, 720)


# reduce_boxes


def test_identical_boxes_collapse() -> None:
    assert reduce_boxes([(10, 20, 110, 220)] * 3) == [(10, 20, 110, 220)]


def test_near_identical_boxes_are_averaged_not_unioned() -> None:
    assert reduce_boxes([(0, 0, 100, 100), (10, 5, 110, 105)]) == [(5, 3, 105, 103)]


def test_similarity_is_transitive() -> None:
    # a~b and b~c but not a~c: still one group.
    chain = [(0, 0, 100, 100), (15, 0, 115, 100), (30, 0, 130, 100)]
    assert not reference.similar(chain[0], chain[2])
    assert reduce_boxes(chain) == [(15, 0, 115, 100)]


def test_box_inside_another_is_dropped() -> None:
    assert reduce_boxes([(10, 10, 50, 50), (0, 0, 400, 300)]) == [(0, 0, 400, 300)]


def test_far_apart_boxes_are_kept_in_order() -> None:
    assert reduce_boxes([(900, 500, 1000, 600), (0, 0, 50, 80)]) == [
        (0, 0, 50, 80), (900, 500, 1000, 600)]


def test_reduce_nothing() -> None:
    assert reduce_boxes([]) == []


@given(clustered)
@settings(max_examples=500)
def test_reduce_matches_reference(candidates: list[Box]) -> None:
    reduced = reduce_boxes(candidates)
    assert reduced == reference.reduce_boxes(candidates)
    assert reduced == sorted(set(reduced))
    assert not any(a != b and reference.contains(a, b) for a in reduced for b in reduced)


# select_regions (Frigate 0.8: docs/compatibility.md#regions)


def test_select_spec_example() -> None:
    assert select_regions([(100, 100, 200, 300)], [], 1280, 720) == [(0, 50, 300, 350)]


def test_tracked_boxes_count_only_where_they_touch_motion() -> None:
    motion = [(100, 100, 200, 300)]
    alone = select_regions(motion, [], 1280, 720)
    touching = select_regions(motion, [(200, 100, 260, 300)], 1280, 720)
    assert select_regions(motion, [(201, 100, 260, 300)], 1280, 720) == alone
    assert touching == [(0, 50, 300, 350), (80, 50, 380, 350)]
    assert select_regions([], [(200, 100, 260, 300)], 1280, 720) == []


def test_near_identical_regions_merge() -> None:
    # Two people side by side: distinct boxes, but their 1.2x regions become one.
    assert select_regions([(400, 200, 460, 380), (430, 210, 490, 390)], [], 1280, 720) == [
        (295, 145, 595, 445)]
    # Further apart, each keeps its region.
    assert select_regions([(400, 200, 460, 380), (470, 210, 530, 390)], [], 1280, 720) == [
        (280, 140, 580, 440), (350, 150, 650, 450)]


@given(st.lists(boxes(low=0, high=1000, longest=400), max_size=6),
       st.lists(boxes(low=0, high=1000, longest=400), max_size=4), frame_sizes)
@settings(max_examples=300)
def test_select_matches_reference(motion: list[Box], tracked: list[Box],
                                  frame: tuple[int, int]) -> None:
    assert select_regions(motion, tracked, *frame) == reference.select_regions(
        motion, tracked, *frame)


# crop_to_tensor (Frigate 0.8: docs/compatibility.md#regions)


def i420(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, ...]:
    frame = new_frame(width, height)
    frame[:] = rng.integers(0, 256, frame.size, dtype=np.uint8)
    return tuple(planes(frame, width, height))


def crop(frame: tuple[np.ndarray, ...], region: Box, size: int) -> np.ndarray:
    out = np.empty((size, size, 3), np.uint8)
    crop_to_tensor(*frame, region, out)
    return out


@given(st.integers(1, 48), st.integers(1, 48), st.integers(-40, 60), st.integers(-40, 60),
       st.integers(1, 90), st.integers(1, 90), st.integers(1, 40), st.integers(0, 2**32 - 1))
@settings(max_examples=400, deadline=None)
def test_crop_matches_reference(width: int, height: int, x: int, y: int, region_w: int,
                                region_h: int, size: int, seed: int) -> None:
    frame = i420(np.random.default_rng(seed), width, height)
    region = (x, y, x + region_w, y + region_h)
    ours = crop(frame, region, size).astype(int)
    expected = reference.crop_to_tensor(*frame, region, size).astype(int)
    assert np.abs(ours - expected).max() <= 1


@st.composite
def model_size_regions(draw: st.DrawFn, inside: bool) -> tuple[int, int, Box, int]:
    """A frame size and a region of the output's size, inside the frame or not."""
    width, height = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    size = draw(st.integers(1, min(width, height) if inside else 40))
    if inside:
        x, y = draw(st.integers(0, width - size)), draw(st.integers(0, height - size))
    else:
        x, y = draw(st.integers(-size, width)), draw(st.integers(-size, height))
        assume(x < 0 or y < 0 or x + size > width or y + size > height)
    return width, height, (x, y, x + size, y + size), size


# A region of the output's size inside the frame takes a path of its own (no luma
# interpolation); partly outside, the general one. Both agree with the reference.
@pytest.mark.parametrize("inside", [True, False])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=300, deadline=None)
def test_region_of_model_size_matches_reference(inside: bool, data: st.DataObject,
                                                seed: int) -> None:
    width, height, region, size = data.draw(model_size_regions(inside))
    frame = i420(np.random.default_rng(seed), width, height)
    ours = crop(frame, region, size).astype(int)
    expected = reference.crop_to_tensor(*frame, region, size).astype(int)
    assert np.abs(ours - expected).max() <= 1


def test_region_of_model_size_is_the_general_path_without_resampling() -> None:
    # Grown by a pixel over the frame's edge, the region takes the general path, which samples
    # the same pixels with the same weights: the two agree exactly where they overlap.
    for width, height in [(64, 40), (65, 41)]:
        frame = i420(np.random.default_rng(width), width, height)
        for x in [0, 1, 2, 3, width - 33, width - 32]:
            for y in [0, 1, height - 32]:
                ours = crop(frame, (x, y, x + 32, y + 32), 32)
                expected = reference.crop_to_tensor(*frame, (x, y, x + 32, y + 32), 32)
                assert np.abs(ours.astype(int) - expected).max() <= 1
                if x == 0 or y == 0:
                    general = crop(frame, (x - 1, y - 1, x + 32, y + 32), 33)[1:, 1:]
                elif x + 32 == width or y + 32 == height:
                    general = crop(frame, (x, y, x + 33, y + 33), 33)[:32, :32]
                else:
                    continue
                assert (general == ours).all(), (width, height, x, y)


def test_outside_the_frame_is_black() -> None:
    frame = i420(np.random.default_rng(1), 64, 64)
    assert not crop(frame, (100, 100, 400, 400), 30).any()
    assert not crop(frame, (-500, -20, -200, 280), 30).any()

    # Left half outside. At 2:1, output column j samples x = 2j - 31.5: columns up to 15 only
    # see samples left of the frame, the others only samples inside it.
    out = crop(frame, (-32, 0, 32, 64), 32)
    assert not out[:, :16].any()
    assert out[:, 16:].any(axis=2).mean() > 0.9


def test_region_of_model_size_is_the_exact_colour_conversion() -> None:
    # Every Y value under many U/V pairs; a 1:1 region samples each pixel exactly.
    luma = np.arange(256, dtype=np.uint8).reshape(16, 16)
    chroma_u, chroma_v = np.empty((8, 8), np.uint8), np.empty((8, 8), np.uint8)
    out = np.empty((16, 16, 3), np.uint8)
    mismatched = 0
    for u in range(0, 256, 5):
        for v in range(0, 256, 5):
            chroma_u[:], chroma_v[:] = u, v
            crop_to_tensor(luma, chroma_u, chroma_v, (0, 0, 16, 16), out)
            expected = reference.yuv_to_rgb(luma, np.full(luma.shape, u), np.full(luma.shape, v))
            difference = np.abs(out.astype(int) - expected)
            assert difference.max() <= 1
            mismatched += np.count_nonzero(difference)
    assert mismatched / (52 * 52 * 256 * 3) < 1e-3  # only where float rounding is a tie


def test_uniform_frame_keeps_its_colour_when_resized() -> None:
    frame = new_frame(640, 360)
    y, u, v = planes(frame, 640, 360)
    y[:], u[:], v[:] = 81, 90, 240  # BT.601 red
    out = crop(tuple(planes(frame, 640, 360)), (100, 20, 440, 360), 320)
    assert (out == reference.yuv_to_rgb(81, 90, 240)).all()


@pytest.mark.parametrize(("shapes", "region", "size", "message"), [
    (((10, 10), (5, 5), (5, 4)), (0, 0, 10, 10), 8, "chroma planes"),
    (((9, 9), (4, 4), (4, 4)), (0, 0, 9, 9), 8, "chroma planes"),
    (((10, 10), (5, 5), (5, 5)), (0, 0, 10, 10), 2000, "out must be"),
    (((10, 10), (5, 5), (5, 5)), (3, 3, 3, 9), 8, "region is empty"),
    (((10, 10), (5, 5), (5, 5)), (3, 3, 1, 9), 8, "x1 <= x2"),
])
def test_crop_rejects_bad_arguments(shapes: tuple[tuple[int, int], ...], region: Box,
                                    size: int, message: str) -> None:
    y, u, v = (np.zeros(shape, np.uint8) for shape in shapes)
    with pytest.raises(ValueError, match=message):
        crop_to_tensor(y, u, v, region, np.zeros((size, size, 3), np.uint8))


def test_crop_rejects_non_square_out() -> None:
    y, u, v = np.zeros((10, 10), np.uint8), np.zeros((5, 5), np.uint8), np.zeros((5, 5), np.uint8)
    with pytest.raises(ValueError, match="out must be"):
        crop_to_tensor(y, u, v, (0, 0, 10, 10), np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(ValueError, match="out must be"):
        crop_to_tensor(y, u, v, (0, 0, 10, 10), np.zeros((8, 8, 4), np.uint8))


def test_wide_frames_are_cropped_in_slices() -> None:
    # A region wider than the kernel's 2048-column row buffers.
    frame = i420(np.random.default_rng(2), 3000, 40)
    region = (-100, -1500, 2900, 1500)
    expected = reference.crop_to_tensor(*frame, region, 64).astype(int)
    assert np.abs(crop(frame, region, 64).astype(int) - expected).max() <= 1


# On real footage, against ffmpeg's own crop + scale + RGB conversion


def ffmpeg(video: str, *, filters: str | None = None) -> np.ndarray:
    pix_fmt = "rgb24" if filters else "yuv420p"
    return decode_file(video, start=20, frames=1, filters=filters, pix_fmt=pix_fmt)


@pytest.fixture(scope="module")
def video() -> str:
    return str(shared_file(VIDEO))


@pytest.mark.parametrize(("region", "size", "flags", "tolerance"), [
    ((200, 60, 560, 420), 300, "bilinear", 3.0),
    ((200, 60, 560, 420), 300, "bilinear+accurate_rnd+full_chroma_int", 0.5),
    ((100, 0, 532, 432), 320, "bilinear+accurate_rnd+full_chroma_int", 0.5),
    ((200, 60, 500, 360), 300, "bilinear+accurate_rnd+full_chroma_int+full_chroma_inp", 0.05),
])
def test_crop_matches_ffmpeg_on_real_footage(video: str, region: Box, size: int, flags: str,
                                             tolerance: float) -> None:
    width, height = 768, 432
    frame = planes(np.frombuffer(ffmpeg(video), np.uint8), width, height)
    x1, y1, x2, y2 = region
    theirs = np.frombuffer(ffmpeg(
        video, filters=f"crop={x2 - x1}:{y2 - y1}:{x1}:{y1},scale={size}:{size}:flags={flags}",
    ), np.uint8).reshape(size, size, 3)

    ours = crop(tuple(frame), region, size)

    if "full_chroma_inp" in flags and ffmpeg_major() <= 5:
        # ffmpeg 5's swscale ignores full_chroma_inp for 4:2:0 input (measured on Debian's
        # 5.1: 0.21 from ours, exactly as without the flag); ffmpeg 9 honours it (0.005).
        tolerance = 0.5
    assert np.abs(ours.astype(int) - theirs).mean() < tolerance
