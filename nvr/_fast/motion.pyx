# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Motion detection on the luma plane (Frigate 0.8: docs/compatibility.md#motion).

Each frame is resized to the small motion size and compared with a running average of the
background; pixels that changed, and kept changing, are dilated and grouped into 8-connected
components whose bounding boxes are the motion boxes.

The arithmetic is integer, so ``tests/motion_reference.py`` reproduces it bit for bit on every
CPU (a float running average may be fused into an FMA on one machine and not on another),
and it fits 16-bit lanes, so compilers vectorise the per-pixel loops:

- bilinear resize: sample ``i`` sits at ``(i + 0.5) * src / dst - 0.5``; the weights are
  multiples of 2**-8; the pixel pair of each row is blended and rounded half up, then the
  two rows are;
- ``avg_frame`` and ``avg_delta`` are int16 in 1/64 grey levels; an alpha is a multiple of
  2**-15 (at most 1 - 2**-15) and ``avg += (x - avg) * alpha`` rounds down;
- "to uint8" rounds half up.

A detector holds one camera's state: use it from one thread at a time.
"""

from libc.stdint cimport int16_t, int32_t, uint8_t, uint16_t, uint64_t
from libc.string cimport memcpy

from nvr._fast.union_find cimport find_root

import numpy as np

cdef enum:
    COEF_BITS = 8
    COEF_ONE = 1 << COEF_BITS
    STATE_BITS = 6
    ALPHA_BITS = 15
    WARM_UP_FRAMES = 30
    MOTION_FRAMES_BEFORE_UPDATE = 10
    PAD = 2  # the reach of the dilation: zero columns (rows) beside thresh (wide)

cdef uint64_t ALL_SET = 0x0101010101010101

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #if defined(__GNUC__) || defined(__clang__)
    #define NVR_PREFETCH(address) __builtin_prefetch(address)
    #else
    #define NVR_PREFETCH(address) ((void)(address))
    #endif

    /* p[0] | p[1] << 8 on either byte order, read as one 16-bit load. */
    static inline uint16_t nvr_pixel_pair(const uint8_t* p) {
        uint16_t pair;
        memcpy(&pair, p, 2);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        pair = (uint16_t)(pair >> 8 | pair << 8);
    #endif
        return pair;
    }
    """
    void _prefetch "NVR_PREFETCH"(const void* address) noexcept nogil
    uint16_t _pixel_pair "nvr_pixel_pair"(const uint8_t* pixels) noexcept nogil


cdef void _bilinear_table(Py_ssize_t src, Py_ssize_t dst, int32_t[::1] first,
                          uint16_t[::1] weight) noexcept:
    """First source index and the weight of the next one (``first + 1``) for ``dst`` samples."""
    cdef Py_ssize_t i, position
    for i in range(dst):
        position = max((2 * i + 1) * src - dst, 0)
        first[i] = position // (2 * dst)
        weight[i] = ((position % (2 * dst)) * COEF_ONE + dst) // (2 * dst)
        if first[i] >= src - 1:  # past the last centre: all of the last pixel
            first[i] = max(src - 2, 0)
            weight[i] = COEF_ONE if src > 1 else 0


cdef int16_t _alpha_weight(double alpha):
    return <int16_t>min(round(alpha * (1 << ALPHA_BITS)), (1 << ALPHA_BITS) - 1)


cdef inline int16_t _accumulate(int16_t average, int16_t value, int16_t weight) noexcept nogil:
    """``average + (value - average) * weight / 2**15``, rounded down, in 1/64 grey levels.

    ``value`` is in grey levels. Written as the high half of a 16 x 16-bit product, which
    SIMD units have.
    """
    cdef int16_t twice = ((value << STATE_BITS) - average) * 2
    return average + <int16_t>((<int32_t>twice * weight) >> 16)


cdef inline int16_t _to_uint8(int16_t average) noexcept nogil:
    # The sum is cast back to 16 bits (it fits) so that vector code stays 16 bits wide.
    return <int16_t>(average + (1 << (STATE_BITS - 1))) >> STATE_BITS


cdef void _gather_row(const uint8_t* row, const uint8_t* ahead, const int32_t* col0,
                      uint16_t* pairs, Py_ssize_t n) noexcept nogil:
    """The pixel pair of each sample; ``n`` is a multiple of 4.

    Also prefetches the same columns of row ``ahead``, the next one to be gathered.
    """
    cdef Py_ssize_t x
    for x in range(0, n, 4):  # unrolled: twice as fast, stores were the limit
        _prefetch(ahead + col0[x])
        pairs[x] = _pixel_pair(row + col0[x])
        pairs[x + 1] = _pixel_pair(row + col0[x + 1])
        pairs[x + 2] = _pixel_pair(row + col0[x + 2])
        pairs[x + 3] = _pixel_pair(row + col0[x + 3])


# The loops below are kept simple so that compilers vectorise them.

cdef void _blend_row(const uint16_t* upper, const uint16_t* lower, const uint16_t* col_weight,
                     uint16_t wy, const uint16_t* masked, int16_t* out,
                     Py_ssize_t n) noexcept nogil:
    """Bilinear samples from the pixel pairs of the rows above and below, 255 where masked."""
    cdef Py_ssize_t x
    cdef uint16_t wa, wb, a, b, wx = COEF_ONE - wy
    for x in range(n):
        wb = col_weight[x]
        wa = COEF_ONE - wb
        a = <uint16_t>((upper[x] & 0xff) * wa + (upper[x] >> 8) * wb + COEF_ONE // 2) >> COEF_BITS
        b = <uint16_t>((lower[x] & 0xff) * wa + (lower[x] >> 8) * wb + COEF_ONE // 2) >> COEF_BITS
        out[x] = (<uint16_t>(a * wx + b * wy + COEF_ONE // 2) >> COEF_BITS) | masked[x]


cdef void _fold_row(const int16_t* small, const int16_t* average, int16_t* folded,
                    Py_ssize_t n, int16_t weight) noexcept nogil:
    cdef Py_ssize_t x
    for x in range(n):
        folded[x] = _accumulate(average[x], small[x], weight)


cdef uint8_t _threshold_row(const int16_t* small, const int16_t* average, int16_t* folded,
                            int16_t* avg_delta, uint8_t* thresh, Py_ssize_t n, int16_t limit,
                            int16_t delta_weight, int16_t frame_weight) noexcept nogil:
    """Mark pixels that differ from the background, now and on average; whether any does.

    Also folds the row into ``folded``: the background to use if this frame is taken in.
    """
    cdef Py_ssize_t x
    cdef int16_t delta, mean
    cdef uint8_t hit, any_hit = 0
    for x in range(n):
        delta = small[x] - _to_uint8(average[x])
        if delta < 0:
            delta = -delta
        mean = _accumulate(avg_delta[x], delta, delta_weight)
        avg_delta[x] = mean
        hit = (delta > limit) & (_to_uint8(mean) > limit)
        thresh[x] = hit
        any_hit |= hit
        folded[x] = _accumulate(average[x], small[x], frame_weight)
    return any_hit


cdef class MotionDetector:
    """Motion boxes of successive frames of one camera.

    ``width`` x ``height`` is the frame size; frames are resized to ``frame_height`` rows
    (and ``frame_height * width // height`` columns) before they are compared. ``mask`` is
    None or a ``(height, width)`` uint8 array: 0 = ignore the pixel, anything else = watch it.
    """

    cdef Py_ssize_t width, height, small_width, small_height, gathered, stride
    cdef int16_t threshold, delta_weight, frame_weight
    cdef int contour_area, frame_counter, motion_frame_count
    cdef int32_t[::1] col0, row0
    cdef uint16_t[::1] col_weight, row_weight
    cdef uint16_t[:, ::1] masked  # 255 where the resized mask is 0, else 0
    cdef uint16_t[::1] upper, lower  # pixel pairs of the samples in the rows above and below
    cdef int16_t[::1] small  # one row of the resized frame
    # avg_frame is backgrounds[current]; the other one receives the background with this
    # frame folded in, and becomes current if the frame is taken in.
    cdef int16_t[:, :, ::1] backgrounds
    cdef int current
    cdef int16_t[:, ::1] avg_delta
    cdef uint8_t[:, ::1] thresh  # PAD zero columns each side
    cdef uint8_t[:, ::1] wide  # thresh dilated along rows; PAD zero rows above and below
    cdef uint8_t[:, ::1] dilated  # rows of ``stride`` bytes, zero after the image columns
    # Runs of set pixels in ``dilated``; a component is measured at its first run:
    cdef Py_ssize_t runs
    cdef int32_t[::1] run_start, run_end, run_row, parent, count, left, right, bottom

    def __init__(self, int width, int height, *, int frame_height, int threshold=25,
                 int contour_area=100, double delta_alpha=0.2, double frame_alpha=0.2,
                 mask=None):
        if width < 2 or height < 1:
            raise ValueError(f"frame size must be at least 2x1, got {width}x{height}")
        if frame_height <= 0 or frame_height * <Py_ssize_t>width // height <= 0:
            raise ValueError(f"frame_height {frame_height} leaves no pixels "
                             f"for a {width}x{height} frame")
        if not 0 <= threshold <= 255:
            raise ValueError(f"threshold must be in 0..255, got {threshold}")
        if contour_area < 0:
            raise ValueError(f"contour_area must not be negative, got {contour_area}")
        for name, alpha in (("delta_alpha", delta_alpha), ("frame_alpha", frame_alpha)):
            if not 0.0 <= alpha <= 1.0:
                raise ValueError(f"{name} must be in 0..1, got {alpha}")

        cdef Py_ssize_t y, h = frame_height, w = frame_height * <Py_ssize_t>width // height
        self.width, self.height, self.small_width, self.small_height = width, height, w, h
        self.gathered = (w + 3) // 4 * 4  # _gather_row takes 4 samples at a time
        # Word-at-a-time run scanning reads up to 8 bytes past the last set pixel.
        self.stride = (w + 7) // 8 * 8 + 8
        self.threshold = threshold
        self.contour_area = contour_area
        self.delta_weight = _alpha_weight(delta_alpha)
        self.frame_weight = _alpha_weight(frame_alpha)

        self.col0, self.row0 = np.zeros(self.gathered, np.int32), np.empty(h, np.int32)
        self.col_weight, self.row_weight = np.empty(w, np.uint16), np.empty(h, np.uint16)
        _bilinear_table(width, w, self.col0, self.col_weight)
        _bilinear_table(height, h, self.row0, self.row_weight)
        self.upper, self.lower = (np.empty(self.gathered, np.uint16) for _ in range(2))
        self.small = np.empty(w, np.int16)

        self.masked = np.zeros((h, w), np.uint16)
        if mask is not None:
            mask = np.asarray(mask)
            if mask.dtype != np.uint8 or mask.shape != (height, width):
                raise ValueError(f"mask must be a uint8 array of shape ({height}, {width}), "
                                 f"got {mask.dtype} {mask.shape}")
            mask = np.ascontiguousarray(mask)
            small_mask = np.empty((h, w), np.int16)
            for y in range(h):
                self._resize_row(mask, y, small_mask[y])
            self.masked = np.where(small_mask == 0, 255, 0).astype(np.uint16)

        self.backgrounds = np.zeros((2, h, w), np.int16)
        self.current = 0
        self.avg_delta = np.zeros((h, w), np.int16)
        self.thresh = np.zeros((h, w + 2 * PAD), np.uint8)
        self.wide = np.zeros((h + 2 * PAD, w), np.uint8)
        self.dilated = np.zeros((h, self.stride), np.uint8)
        cdef Py_ssize_t most = h * ((w + 1) // 2)
        self.run_start, self.run_end, self.run_row, self.parent = (
            np.empty(most, np.int32) for _ in range(4))
        self.count, self.left, self.right, self.bottom = (
            np.empty(most, np.int32) for _ in range(4))
        self.frame_counter = 0
        self.motion_frame_count = 0

    def detect(self, const uint8_t[:, ::1] luma) -> list[tuple[int, int, int, int]]:
        """Motion boxes ``(x1, y1, x2, y2)`` (x2, y2 exclusive) of the next frame's Y plane."""
        if luma.shape[0] != self.height or luma.shape[1] != self.width:
            raise ValueError(f"expected a {self.height}x{self.width} luma plane, "
                             f"got {luma.shape[0]}x{luma.shape[1]}")
        cdef Py_ssize_t y, boxes = 0
        cdef bint fold = True
        self.runs = 0
        with nogil:
            if self.frame_counter < WARM_UP_FRAMES:
                self.frame_counter += 1
                for y in range(self.small_height):
                    self._resize_row(luma, y, self.small)
                    _fold_row(&self.small[0], &self.backgrounds[self.current, y, 0],
                              &self.backgrounds[1 - self.current, y, 0], self.small_width,
                              self.frame_weight)
            else:
                boxes = self._compare(luma)
            if boxes:
                self.motion_frame_count += 1
                fold = self.motion_frame_count >= MOTION_FRAMES_BEFORE_UPDATE
            else:
                self.motion_frame_count = 0
            if fold:
                self.current = 1 - self.current
        return self._boxes() if boxes else []

    cdef void _resize_row(self, const uint8_t[:, ::1] image, Py_ssize_t y,
                          int16_t[::1] out) noexcept nogil:
        """Row ``y`` of ``image`` resized, masked pixels set to 255, into ``out``."""
        cdef Py_ssize_t row = self.row0[y], below = min(row + 1, self.height - 1)
        # Source rows are far apart: the hardware prefetcher would start afresh on each.
        cdef Py_ssize_t ahead = self.row0[min(y + 1, self.small_height - 1)]
        _gather_row(&image[row, 0], &image[ahead, 0], &self.col0[0], &self.upper[0],
                    self.gathered)
        _gather_row(&image[below, 0], &image[min(ahead + 1, self.height - 1), 0], &self.col0[0],
                    &self.lower[0], self.gathered)
        _blend_row(&self.upper[0], &self.lower[0], &self.col_weight[0], self.row_weight[y],
                   &self.masked[y, 0], &out[0], self.small_width)

    cdef Py_ssize_t _compare(self, const uint8_t[:, ::1] luma) noexcept nogil:
        """Resize and threshold ``luma`` against the background; how many boxes it has."""
        cdef Py_ssize_t y, first = self.small_height, last = -1
        for y in range(self.small_height):
            self._resize_row(luma, y, self.small)
            if _threshold_row(&self.small[0], &self.backgrounds[self.current, y, 0],
                              &self.backgrounds[1 - self.current, y, 0], &self.avg_delta[y, 0],
                              &self.thresh[y, PAD], self.small_width, self.threshold,
                              self.delta_weight, self.frame_weight):
                first = min(first, y)
                last = y
        if last < 0:
            return 0
        first, last = self._dilate(first, last + 1)
        return self._label(first, last)

    cdef (Py_ssize_t, Py_ssize_t) _dilate(self, Py_ssize_t first, Py_ssize_t last) noexcept nogil:
        """Dilate ``thresh`` (set in rows first..last-1) twice by a 3x3 square: once by 5x5.

        Returns the range of rows of ``dilated`` that may be set.
        """
        cdef Py_ssize_t x, y, w = self.small_width
        cdef Py_ssize_t top = max(first - PAD, 0), bottom = min(last + PAD, self.small_height)
        cdef const uint8_t* t
        cdef uint8_t* out
        # Along rows; every row of ``wide`` read below is refreshed, as the rows it keeps
        # from other frames may be set.
        for y in range(max(top - PAD, 0), min(bottom + PAD, self.small_height)):
            t = &self.thresh[y, 0]
            out = &self.wide[y + PAD, 0]
            for x in range(w):
                out[x] = t[x] | t[x + 1] | t[x + 2] | t[x + 3] | t[x + 4]
        # Along columns: rows y - PAD .. y + PAD of the image are rows y .. y + 2 * PAD of wide.
        for y in range(top, bottom):
            t = &self.wide[y, 0]
            out = &self.dilated[y, 0]
            for x in range(w):
                out[x] = t[x] | t[x + w] | t[x + 2 * w] | t[x + 3 * w] | t[x + 4 * w]
        return top, bottom

    cdef Py_ssize_t _label(self, Py_ssize_t first, Py_ssize_t last) noexcept nogil:
        """Group the runs of ``dilated`` rows first..last-1 into 8-connected components.

        Returns how many components are boxes (more than ``contour_area`` pixels).
        """
        cdef Py_ssize_t x, y, start, runs = 0, previous = 0, previous_end = 0, above
        cdef Py_ssize_t w = self.small_width, boxes = 0
        cdef int32_t* parent = &self.parent[0]
        cdef int32_t s, r, root
        cdef uint64_t word
        cdef const uint8_t* row
        for y in range(first, last):
            row = &self.dilated[y, 0]
            above = previous
            x = 0
            while x < w:
                memcpy(&word, row + x, 8)
                if word == 0:
                    x += 8
                    continue
                while not row[x]:
                    x += 1
                start = x
                memcpy(&word, row + x, 8)
                while word == ALL_SET:
                    x += 8
                    memcpy(&word, row + x, 8)
                while row[x]:
                    x += 1
                self.run_start[runs], self.run_end[runs], self.run_row[runs] = start, x, y
                parent[runs] = runs
                # Runs of the row above touch this one (8-connected) if they overlap
                # columns start - 1 .. x; join their components, keeping the lowest root.
                while above < previous_end and self.run_end[above] < start:
                    above += 1
                s = above
                while s < previous_end and self.run_start[s] <= x:
                    r, root = find_root(parent, s), find_root(parent, runs)
                    if r < root:
                        parent[root] = r
                    elif root < r:
                        parent[r] = root
                    s += 1
                runs += 1
            previous, previous_end = previous_end, runs

        # A root is the first run of its component, so it is met before the others.
        for s in range(runs):
            root = find_root(parent, s)
            if root == s:
                self.count[s] = 0
                self.left[s], self.right[s] = self.run_start[s], self.run_end[s]
            self.count[root] += self.run_end[s] - self.run_start[s]
            self.left[root] = min(self.left[root], self.run_start[s])
            self.right[root] = max(self.right[root], self.run_end[s])
            self.bottom[root] = self.run_row[s] + 1
        for s in range(runs):
            boxes += parent[s] == s and self.count[s] > self.contour_area
        self.runs = runs
        return boxes

    cdef list _boxes(self):
        """The components larger than ``contour_area``, scaled to full resolution."""
        cdef list boxes = []
        cdef Py_ssize_t s
        cdef Py_ssize_t w = self.width, h = self.height
        cdef Py_ssize_t sw = self.small_width, sh = self.small_height
        for s in range(self.runs):
            if self.parent[s] == s and self.count[s] > self.contour_area:
                # Small pixel i covers [i * w / sw, (i + 1) * w / sw) of the frame.
                boxes.append((self.left[s] * w // sw, self.run_row[s] * h // sh,
                              (self.right[s] * w + sw - 1) // sw,
                              (self.bottom[s] * h + sh - 1) // sh))
        return boxes
