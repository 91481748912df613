"""The drawing kernels against the NumPy references in draw_reference.py."""

from __future__ import annotations

import numpy as np
import pytest
from draw_reference import (
    GuardedPlanes,
    chroma_cover,
    paint,
    polygon_distance,
    rectangle_pixels,
    resize,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nvr._fast.draw import (
    black_out,
    draw_polygon,
    draw_rectangle,
    draw_text,
    resize_plane,
    text_size,
)

sizes = st.integers(1, 40)
coords = st.integers(-30, 70)
colors = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
boxes = st.tuples(coords, coords, coords, coords)


@given(sizes, sizes, boxes, st.integers(1, 12), colors)
@settings(max_examples=300, deadline=None)
def test_rectangle_matches_reference(width: int, height: int, box: tuple[int, int, int, int],
                                     thickness: int, color: tuple[int, int, int]) -> None:
    canvas = GuardedPlanes(width, height)
    expected = canvas.copies()
    paint(expected, rectangle_pixels(width, height, box, thickness), color)

    draw_rectangle(*canvas.planes, box, color, thickness)

    for plane, want in zip(canvas.planes, expected, strict=True):
        np.testing.assert_array_equal(plane, want)
    assert canvas.guards_intact()


@given(sizes, sizes, st.lists(st.tuples(coords, coords), min_size=1, max_size=5),
       st.integers(1, 9))
@settings(max_examples=300, deadline=None)
def test_polygon_matches_reference(width: int, height: int, points: list[tuple[int, int]],
                                   thickness: int) -> None:
    canvas = GuardedPlanes(width, height)
    color = (1, 2, 3)
    y, u, v = canvas.planes
    y[:], u[:], v[:] = 0, 0, 0

    draw_polygon(y, u, v, points, color, thickness)

    painted = y == color[0]
    distance = polygon_distance(width, height, points, thickness)
    # Pixel centres within rounding error of the edge of the stroke may go either way.
    assert painted[distance < thickness / 2 - 1e-6].all()
    assert not painted[distance > thickness / 2 + 1e-6].any()
    assert set(np.unique(y)) <= {0, color[0]}
    np.testing.assert_array_equal(u == color[1], chroma_cover(painted))
    np.testing.assert_array_equal(v == color[2], chroma_cover(painted))
    assert canvas.guards_intact()


def test_polygon_axis_aligned_lines_are_exactly_thickness_wide() -> None:
    for thickness in range(1, 10):
        y, u, v = GuardedPlanes(64, 64).planes
        y[:] = 0
        draw_polygon(y, u, v, [(10, 10), (50, 10), (50, 50), (10, 50)], (200, 0, 0), thickness)
        column = y[:, 30] == 200
        assert column.sum() == 2 * thickness
        assert column[10 - thickness // 2] and not column[10 - thickness // 2 - 1]


@given(st.lists(st.tuples(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6)),
                max_size=6),
       st.tuples(*[st.integers(-10**9, 10**9)] * 4), st.integers(1, 10**4))
@settings(max_examples=200, deadline=None)
def test_far_outside_coordinates_are_clipped(points: list[tuple[int, int]],
                                             box: tuple[int, int, int, int],
                                             thickness: int) -> None:
    canvas = GuardedPlanes(17, 9)

    draw_polygon(*canvas.planes, points, (9, 9, 9), thickness)
    draw_rectangle(*canvas.planes, box, (9, 9, 9), thickness)
    draw_text(*canvas.planes, box[0], box[1], "clip", (9, 9, 9), (8, 8, 8), 3)

    assert canvas.guards_intact()


@given(sizes, sizes, st.data())
@settings(max_examples=200, deadline=None)
def test_black_out_matches_reference(width: int, height: int, data: st.DataObject) -> None:
    canvas = GuardedPlanes(width, height)
    mask = data.draw(arrays(np.uint8, (height, width), elements=st.sampled_from([0, 1, 255])))
    expected = canvas.copies()
    paint(expected, mask == 0, (16, 128, 128))

    black_out(*canvas.planes, mask)

    for plane, want in zip(canvas.planes, expected, strict=True):
        np.testing.assert_array_equal(plane, want)
    assert canvas.guards_intact()


@given(sizes, sizes, st.integers(1, 50), st.integers(1, 50), st.data())
@settings(max_examples=200, deadline=None)
def test_black_out_samples_a_mask_of_another_size(width: int, height: int, mask_w: int,
                                                   mask_h: int, data: st.DataObject) -> None:
    canvas = GuardedPlanes(width, height)
    mask = data.draw(arrays(np.uint8, (mask_h, mask_w), elements=st.sampled_from([0, 255])))
    rows = ((np.arange(height) + 0.5) * mask_h / height).astype(int)
    cols = ((np.arange(width) + 0.5) * mask_w / width).astype(int)
    expected = canvas.copies()
    paint(expected, mask[rows][:, cols] == 0, (16, 128, 128))

    black_out(*canvas.planes, mask)

    for plane, want in zip(canvas.planes, expected, strict=True):
        np.testing.assert_array_equal(plane, want)
    assert canvas.guards_intact()


def test_kernels_refuse_mismatched_planes() -> None:
    y = np.zeros((10, 10), np.uint8)
    small = np.zeros((4, 5), np.uint8)
    with pytest.raises(ValueError, match="U and V"):
        draw_rectangle(y, small, small, (0, 0, 5, 5), (0, 0, 0), 1)
    with pytest.raises(ValueError, match="mask"):
        black_out(y, y[:5, :5].copy(), y[:5, :5].copy(), small[:0])
    with pytest.raises(ValueError, match="thickness"):
        draw_polygon(y, y[:5, :5].copy(), y[:5, :5].copy(), [(1, 1)], (0, 0, 0), 0)
    with pytest.raises(ValueError, match="finite"):
        draw_polygon(y, y[:5, :5].copy(), y[:5, :5].copy(), [(1, float("nan"))], (0, 0, 0), 1)


@given(sizes, sizes, st.integers(-20, 50), st.integers(-20, 30),
       st.text(st.characters(min_codepoint=32, max_codepoint=300), max_size=6),
       st.integers(1, 3), st.booleans())
@settings(max_examples=200, deadline=None)
def test_text_stays_inside_its_size(width: int, height: int, x: int, top: int, text: str,
                                    scale: int, filled: bool) -> None:
    canvas = GuardedPlanes(width, height)
    before = canvas.copies()
    background = (100, 101, 102) if filled else None

    size = draw_text(*canvas.planes, x, top, text, (200, 201, 202), background, scale)

    assert size == text_size(text, scale)
    inside = np.zeros((height, width), bool)
    inside[max(top, 0):max(top + size[1], 0), max(x, 0):max(x + size[0], 0)] = True
    changed = canvas.planes[0] != before[0]
    assert not changed[~inside].any()
    for plane, old in zip(canvas.planes[1:], before[1:], strict=True):
        assert not (plane != old)[~chroma_cover(inside)].any()
    if filled:
        assert np.isin(canvas.planes[0][inside], [100, 200]).all()
    assert canvas.guards_intact()


def render(text: str, scale: int = 1) -> np.ndarray:
    width, height = text_size(text, scale)
    y, u, v = GuardedPlanes(width, height).planes
    y[:] = 0
    draw_text(y, u, v, 0, 0, text, (255, 128, 128), None, scale)
    return y.copy()


def test_every_printable_character_has_its_own_glyph() -> None:
    glyphs = {chr(code): render(chr(code)) for code in range(33, 127)}
    assert all(glyph.any() for glyph in glyphs.values())
    assert len({glyph.tobytes() for glyph in glyphs.values()}) == len(glyphs)
    assert not render(" ").any()
    np.testing.assert_array_equal(render("é"), render("?"))


def test_text_scales_by_whole_pixels() -> None:
    assert text_size("", 2) == (0, 0)
    assert text_size("ab", 1) == (13, 11)
    np.testing.assert_array_equal(render("A5g", 3), np.kron(render("A5g"), np.ones((3, 3))))


@given(st.integers(1, 30), st.integers(1, 30), st.integers(1, 30), st.integers(1, 30),
       st.data())
@settings(max_examples=300, deadline=None)
def test_resize_matches_reference(src_w: int, src_h: int, dst_w: int, dst_h: int,
                                  data: st.DataObject) -> None:
    src = data.draw(arrays(np.uint8, (src_h, src_w)))
    dst = np.zeros((dst_h, dst_w), np.uint8)

    resize_plane(src, dst)

    difference = np.abs(dst.astype(int) - resize(src, dst_h, dst_w))
    assert difference.max() <= 1


def test_resize_averages_whole_blocks_exactly() -> None:
    src = np.random.default_rng(1).integers(0, 256, (30, 48), np.uint8)
    dst = np.zeros((10, 16), np.uint8)

    resize_plane(src, dst)

    means = src.reshape(10, 3, 16, 3).mean(axis=(1, 3))
    np.testing.assert_array_equal(dst, np.floor(means + 0.5))


def test_resize_keeps_flat_planes_flat_and_copies_same_size() -> None:
    for shape in [(7, 5), (20, 33), (480, 640)]:
        dst = np.zeros(shape, np.uint8)
        resize_plane(np.full((37, 23), 237, np.uint8), dst)
        assert (dst == 237).all()
    src = np.random.default_rng(2).integers(0, 256, (13, 17), np.uint8)
    same = np.zeros_like(src)
    resize_plane(src, same)
    np.testing.assert_array_equal(same, src)
