# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""I420 (planar YUV 4:2:0) frame kernels.

A frame read from ffmpeg's ``-pix_fmt yuv420p`` output is one contiguous buffer: the
Y plane (height x width), then the U and V planes (each ceil(height/2) x ceil(width/2)).
"""

from libc.stdint cimport int32_t, uint8_t

# Fixed point (14 fractional bits) scale factors: 255/219 for luma, 255/224 for chroma.
# Integer arithmetic, unlike a table lookup, lets the compiler vectorise the loops.
cdef enum:
    SHIFT = 14
    HALF = 1 << (SHIFT - 1)
    LUMA_SCALE = 19077
    CHROMA_SCALE = 18651


cdef inline uint8_t _saturate(int32_t value) noexcept nogil:
    if value < 0:
        return 0
    value >>= SHIFT
    return 255 if value > 255 else <uint8_t>value


cpdef Py_ssize_t frame_size(Py_ssize_t width, Py_ssize_t height):
    """Bytes in one I420 frame of ``width`` x ``height`` pixels."""
    if width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)


def to_full_range(const uint8_t[::1] src, uint8_t[::1] dst,
                  Py_ssize_t width, Py_ssize_t height) -> None:
    """Expand a limited-range (TV) I420 frame to full range (PC) into ``dst``.

    Cameras send Y in 16..235 and U/V in 16..240; JPEG viewers expect 0..255, so a JPEG
    made straight from camera planes looks washed out. ``src`` and ``dst`` may be the
    same buffer.
    """
    cdef Py_ssize_t size = frame_size(width, height)
    cdef Py_ssize_t luma = width * height
    cdef Py_ssize_t i
    if src.shape[0] != size or dst.shape[0] != size:
        raise ValueError(
            f"a {width}x{height} I420 frame has {size} bytes, "
            f"got src={src.shape[0]} dst={dst.shape[0]}"
        )
    with nogil:
        for i in range(luma):
            dst[i] = _saturate((<int32_t>src[i] - 16) * LUMA_SCALE + HALF)
        for i in range(luma, size):
            dst[i] = _saturate((<int32_t>src[i] - 128) * CHROMA_SCALE + (128 << SHIFT) + HALF)
