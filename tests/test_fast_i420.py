"""The I420 kernels against plain NumPy references, on random and real frames."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nvr._fast.i420 import frame_size, to_full_range
from nvr.capture.decode import decode_file
from support import shared_file


def reference_frame_size(width: int, height: int) -> int:
    chroma = -(-width // 2) * -(-height // 2)
    return width * height + 2 * chroma


def reference_full_range(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """The kernel's arithmetic: 14-bit fixed point, rounded, saturated."""
    values = frame.astype(np.int64)
    luma = width * height
    values[:luma] = (values[:luma] - 16) * 19077 + 8192
    values[luma:] = (values[luma:] - 128) * 18651 + (128 << 14) + 8192
    return np.clip(values >> 14, 0, 255).astype(np.uint8)


def test_fixed_point_is_within_one_of_the_exact_scaling() -> None:
    codes = np.arange(256, dtype=np.uint8)
    frame = np.concatenate([codes, codes[:128], codes[128:]])  # a 16x16 frame: Y then U, V
    exact = np.concatenate([(codes - 16.0) * 255 / 219, (codes - 128.0) * 255 / 224 + 128])
    out = reference_full_range(frame, 16, 16).astype(np.float64)
    assert np.abs(out - np.clip(np.round(exact), 0, 255)).max() <= 1


@given(st.integers(1, 64), st.integers(1, 64), st.data())
@settings(max_examples=200, deadline=None)
def test_full_range_matches_reference_on_random_frames(width: int, height: int,
                                                       data: st.DataObject) -> None:
    size = reference_frame_size(width, height)
    assert frame_size(width, height) == size
    frame = data.draw(arrays(np.uint8, size))
    out = np.empty_like(frame)

    to_full_range(frame, out, width, height)

    np.testing.assert_array_equal(out, reference_full_range(frame, width, height))


def test_full_range_on_real_footage_in_place() -> None:
    video = shared_file("media/intel_one_by_one_person_detection_768x432.mp4")
    width, height = 768, 432
    raw = decode_file(video, start=20, frames=1)
    frame = raw.copy()
    assert frame.size == frame_size(width, height)
    expected = reference_full_range(frame, width, height)

    to_full_range(frame, frame, width, height)

    np.testing.assert_array_equal(frame, expected)
    # Camera footage is limited range; after expansion the luma spans more of 0..255.
    luma = frame[: width * height]
    assert luma.max() - luma.min() > np.ptp(raw[: width * height])


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, -1)])
def test_frame_size_rejects_empty_frames(width: int, height: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        frame_size(width, height)


def test_full_range_rejects_wrong_buffer_sizes() -> None:
    frame = np.zeros(frame_size(8, 8), np.uint8)
    with pytest.raises(ValueError, match="a 8x8 I420 frame has 96 bytes, got src=96 dst=95"):
        to_full_range(frame, np.zeros(95, np.uint8), 8, 8)
