# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Detection regions and the model-input kernel, as Frigate 0.8 chooses regions
(docs/compatibility.md#regions).

A box is a tuple ``(x1, y1, x2, y2)`` of ints in frame pixels, x2/y2 exclusive. A region is a
square box around what should be detected; the model sees it resized to its input size.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport floor
from libc.stdint cimport int16_t, int32_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport qsort

from nvr._fast.union_find cimport find_root

cdef enum:
    MIN_REGION = 300    # smallest region side, as Frigate 0.8 has it
    MAX_SIDE = 1024     # largest model input side crop_to_tensor accepts
    MAX_SPAN = 2048     # source columns per row buffer (the buffers live on the stack)
    MAX_CHROMA_SPAN = 1025  # MAX_SPAN / 2 + 1

ctypedef struct Rect:
    Py_ssize_t x1, y1, x2, y2

ctypedef struct Tap:
    # Two source samples and their weights.
    int32_t i0, i1
    double w0, w1

ctypedef struct Columns:
    # Per output column j, the samples of the row buffers it blends: luma[j] and luma[j] + 1,
    # chroma[j] and chroma[j] + 1 of the U and of the V buffer. Arrays, not an array of
    # structs, so that the loops over columns vectorise.
    int32_t luma[MAX_SIDE]
    int32_t chroma[MAX_SIDE]
    float luma_w0[MAX_SIDE]
    float luma_w1[MAX_SIDE]
    float chroma_w0[MAX_SIDE]
    float chroma_w1[MAX_SIDE]


# ---------------------------------------------------------------------------------------------
# Regions


cdef inline Py_ssize_t _floor_div(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    # cdivision truncates toward zero; boxes may have negative coordinates.
    cdef Py_ssize_t q = a // b
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef inline Py_ssize_t _start(Py_ssize_t low_plus_high, Py_ssize_t size,
                              Py_ssize_t limit) noexcept nogil:
    """Start of a ``size`` span centred on (low + high) / 2, inside [0, limit) if it fits."""
    cdef Py_ssize_t start = _floor_div(low_plus_high - size, 2)
    if start > limit - size:
        start = limit - size
    return start if start > 0 else 0


cdef Rect _region(Rect box, Py_ssize_t width, Py_ssize_t height, double multiplier) noexcept nogil:
    cdef Py_ssize_t side = max(box.x2 - box.x1, box.y2 - box.y1)
    cdef Py_ssize_t size = <Py_ssize_t>(<double>(side // 4 * 4) * multiplier)
    if size < MIN_REGION:
        size = MIN_REGION
    cdef Rect region
    region.x1 = _start(box.x1 + box.x2, size, width)
    region.y1 = _start(box.y1 + box.y2, size, height)
    region.x2 = region.x1 + size
    region.y2 = region.y1 + size
    return region


cdef inline Py_ssize_t _distance(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return a - b if a > b else b - a


cdef inline bint _near(Py_ssize_t a1, Py_ssize_t a2, Py_ssize_t b1, Py_ssize_t b2) noexcept nogil:
    # Both edges within 20% of the smaller extent, in integers so the Python twin agrees exactly.
    cdef Py_ssize_t tolerance = min(a2 - a1, b2 - b1)
    return 5 * _distance(a1, b1) <= tolerance and 5 * _distance(a2, b2) <= tolerance


cdef inline bint _similar(Rect* a, Rect* b) noexcept nogil:
    return _near(a.x1, a.x2, b.x1, b.x2) and _near(a.y1, a.y2, b.y1, b.y2)


cdef inline bint _contains(Rect* outer, Rect* inner) noexcept nogil:
    return (outer.x1 <= inner.x1 and outer.y1 <= inner.y1
            and inner.x2 <= outer.x2 and inner.y2 <= outer.y2)


cdef inline int _order(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return (a > b) - (a < b)


cdef int _compare(const void* a, const void* b) noexcept nogil:
    # qsort order of boxes: the order of their (x1, y1, x2, y2) tuples.
    cdef const Rect* p = <const Rect*>a
    cdef const Rect* q = <const Rect*>b
    return (_order(p.x1, q.x1) or _order(p.y1, q.y1) or _order(p.x2, q.x2)
            or _order(p.y2, q.y2))


cdef Py_ssize_t _sorted_unique(Rect* boxes, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, m = 0
    qsort(boxes, n, sizeof(Rect), _compare)
    for i in range(n):
        if m == 0 or _compare(&boxes[m - 1], &boxes[i]) != 0:
            boxes[m] = boxes[i]
            m += 1
    return m


cdef Py_ssize_t _reduce(Rect* boxes, Py_ssize_t n, Py_ssize_t* scratch) noexcept nogil:
    """Average groups of near-identical boxes, then drop boxes inside others; returns the count.

    ``boxes`` is rewritten with the sorted result; ``scratch`` holds 6 * n entries.
    """
    cdef Py_ssize_t* parent = scratch
    cdef Py_ssize_t* count = scratch + n
    cdef Py_ssize_t* total = scratch + 2 * n  # four sums per group
    cdef Py_ssize_t i, j, a, b, m, c
    for i in range(n):
        parent[i] = i
    for i in range(n):
        for j in range(i + 1, n):
            if _similar(&boxes[i], &boxes[j]):
                a, b = find_root(parent, i), find_root(parent, j)
                if a != b:
                    parent[b] = a
    for i in range(n):
        count[i] = 0
        total[4 * i] = total[4 * i + 1] = total[4 * i + 2] = total[4 * i + 3] = 0
    for i in range(n):
        a = find_root(parent, i)
        count[a] += 1
        total[4 * a] += boxes[i].x1
        total[4 * a + 1] += boxes[i].y1
        total[4 * a + 2] += boxes[i].x2
        total[4 * a + 3] += boxes[i].y2
    m = 0
    for i in range(n):
        c = count[i]
        if c:  # rounded half up, exactly in integers
            boxes[m].x1 = _floor_div(2 * total[4 * i] + c, 2 * c)
            boxes[m].y1 = _floor_div(2 * total[4 * i + 1] + c, 2 * c)
            boxes[m].x2 = _floor_div(2 * total[4 * i + 2] + c, 2 * c)
            boxes[m].y2 = _floor_div(2 * total[4 * i + 3] + c, 2 * c)
            m += 1
    m = _sorted_unique(boxes, m)
    n = 0
    for i in range(m):
        for j in range(m):
            if j != i and _contains(&boxes[j], &boxes[i]):
                break
        else:
            boxes[n] = boxes[i]
            n += 1
    return n


cdef Rect _as_rect(object box) except *:
    cdef Rect rect
    rect.x1, rect.y1, rect.x2, rect.y2 = box
    if rect.x2 < rect.x1 or rect.y2 < rect.y1:
        raise ValueError(f"a box is (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2, got {box!r}")
    return rect


cdef inline tuple _as_tuple(Rect rect):
    return (rect.x1, rect.y1, rect.x2, rect.y2)


cdef class _Boxes:
    """Boxes in a C array with scratch space for _reduce, freed with the object."""

    cdef Rect* rects
    cdef Py_ssize_t* scratch
    cdef Py_ssize_t n

    def __cinit__(self, Py_ssize_t capacity):
        capacity = max(capacity, 1)
        self.rects = <Rect*>PyMem_Malloc(capacity * sizeof(Rect))
        self.scratch = <Py_ssize_t*>PyMem_Malloc(6 * capacity * sizeof(Py_ssize_t))
        if self.rects == NULL or self.scratch == NULL:
            raise MemoryError()
        self.n = 0

    def __dealloc__(self):
        PyMem_Free(self.rects)
        PyMem_Free(self.scratch)

    cdef list to_list(self):
        return [_as_tuple(self.rects[i]) for i in range(self.n)]


cdef void _check_frame(Py_ssize_t width, Py_ssize_t height) except *:
    if width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")


def region_for_box(box, Py_ssize_t frame_width, Py_ssize_t frame_height,
                   double multiplier=2.0) -> tuple:
    """The square region to detect in around ``box`` (docs/compatibility.md#regions).

    Side: the box's longer side floored to a multiple of 4, times ``multiplier``, truncated,
    at least 300. Centred on the box, moved to lie inside the frame where the side allows;
    a side larger than the frame starts at 0 and extends past its end.
    """
    _check_frame(frame_width, frame_height)
    if not 0 < multiplier <= 100:
        raise ValueError(f"multiplier must be in (0, 100], got {multiplier}")
    return _as_tuple(_region(_as_rect(box), frame_width, frame_height, multiplier))


def reduce_boxes(boxes) -> list:
    """Merge near-identical boxes into their average, then drop boxes lying inside others.

    Boxes are near-identical when every edge is within 20% of the smaller box's extent on
    that axis; chains of such boxes form one group. The result is sorted.
    """
    boxes = list(boxes)
    cdef _Boxes found = _Boxes(len(boxes))
    for box in boxes:
        found.rects[found.n] = _as_rect(box)
        found.n += 1
    with nogil:
        found.n = _reduce(found.rects, found.n, found.scratch)
    return found.to_list()


cdef inline bint _touches(Rect* a, Rect* b) noexcept nogil:
    return a.x1 <= b.x2 and b.x1 <= a.x2 and a.y1 <= b.y2 and b.y1 <= a.y2


def select_regions(motion_boxes, tracked_boxes, Py_ssize_t frame_width,
                   Py_ssize_t frame_height) -> list:
    """The regions to run detection in for one frame (docs/compatibility.md#regions), sorted
    and distinct.

    Tracked boxes count only where they touch a motion box. The reduced boxes get regions at
    1.2x; those regions are reduced again and recomputed at 1.0x.
    """
    _check_frame(frame_width, frame_height)
    motion_boxes, tracked_boxes = list(motion_boxes), list(tracked_boxes)
    cdef Py_ssize_t n_motion = len(motion_boxes), i, j
    cdef _Boxes found = _Boxes(n_motion + len(tracked_boxes))
    cdef Rect rect
    for box in motion_boxes:
        found.rects[found.n] = _as_rect(box)
        found.n += 1
    for box in tracked_boxes:
        rect = _as_rect(box)
        for j in range(n_motion):
            if _touches(&rect, &found.rects[j]):
                found.rects[found.n] = rect
                found.n += 1
                break
    with nogil:
        found.n = _reduce(found.rects, found.n, found.scratch)
        for i in range(found.n):
            found.rects[i] = _region(found.rects[i], frame_width, frame_height, 1.2)
        found.n = _reduce(found.rects, found.n, found.scratch)
        for i in range(found.n):
            found.rects[i] = _region(found.rects[i], frame_width, frame_height, 1.0)
        found.n = _sorted_unique(found.rects, found.n)
    return found.to_list()


# ---------------------------------------------------------------------------------------------
# Model input

cdef inline int32_t _clip(Py_ssize_t i, Py_ssize_t size) noexcept nogil:
    return <int32_t>(0 if i < 0 else (size - 1 if i >= size else i))


cdef Tap _luma_tap(double position, Py_ssize_t size) noexcept nogil:
    # Samples outside the plane get weight 0: the frame is black there.
    cdef Py_ssize_t i = <Py_ssize_t>floor(position)
    cdef Tap tap
    tap.w1 = position - i if 0 <= i + 1 < size else 0
    tap.w0 = 1 - (position - i) if 0 <= i < size else 0
    tap.i0, tap.i1 = _clip(i, size), _clip(i + 1, size)
    return tap


cdef Tap _chroma_tap(double luma_position, Tap luma, Py_ssize_t size) noexcept nogil:
    # Chroma samples sit between luma pairs (centre siting, ffmpeg's default); the plane edge
    # is repeated inside the frame and faded out with the luma outside it.
    cdef double position = luma_position / 2 - 0.25
    cdef double inside = luma.w0 + luma.w1
    cdef Py_ssize_t i = <Py_ssize_t>floor(position)
    cdef Tap tap
    tap.w0 = (1 - (position - i)) * inside
    tap.w1 = (position - i) * inside
    tap.i0, tap.i1 = _clip(i, size), _clip(i + 1, size)
    return tap


cdef inline Tap _adjacent(Tap tap) noexcept nogil:
    # The same samples as i0 and i0 + 1 (i0 + 1 may be one past the plane, with weight 0).
    if tap.i1 == tap.i0:
        tap.w0, tap.w1 = tap.w0 + tap.w1, 0
    return tap


cdef void _set_column(Columns* columns, Py_ssize_t j, double position, Py_ssize_t width,
                      Py_ssize_t chroma_width) noexcept nogil:
    cdef Tap luma = _luma_tap(position, width)
    cdef Tap chroma = _adjacent(_chroma_tap(position, luma, chroma_width))
    luma = _adjacent(luma)
    columns.luma[j], columns.luma_w0[j], columns.luma_w1[j] = luma.i0, luma.w0, luma.w1
    columns.chroma[j], columns.chroma_w0[j], columns.chroma_w1[j] = chroma.i0, chroma.w0, chroma.w1


cdef Py_ssize_t _slice_end(const Columns* columns, Py_ssize_t first,
                           Py_ssize_t count) noexcept nogil:
    """End of the output columns from ``first`` whose sources fit the row buffers."""
    cdef Py_ssize_t last = first + 1
    while last < count and (
            columns.luma[last] + 2 - columns.luma[first] <= MAX_SPAN
            and columns.chroma[last] + 2 - columns.chroma[first] <= MAX_CHROMA_SPAN):
        last += 1
    return last


cdef inline void _blend(const uint8_t* top, const uint8_t* bottom, float w0, float w1,
                        float black, Py_ssize_t count, float* out) noexcept nogil:
    """Two source rows blended, relative to ``black``."""
    cdef float bias = black * (w0 + w1)
    cdef Py_ssize_t x
    for x in range(count):
        out[x] = w0 * top[x] + w1 * bottom[x] - bias


cdef inline void _upsample(const float* chroma, Py_ssize_t pairs, float* out) noexcept nogil:
    """out[2m] and out[2m + 1]: the luma columns either side of chroma sample m + 1.

    Each lies a quarter of a chroma sample from it, towards sample m or m + 2 (centre siting).
    """
    cdef float near = 0.75, far = 0.25
    cdef Py_ssize_t m
    for m in range(pairs):
        out[2 * m] = far * chroma[m] + near * chroma[m + 1]
        out[2 * m + 1] = near * chroma[m + 1] + far * chroma[m + 2]


cdef inline uint32_t _level(float value) noexcept nogil:
    # Given the value + 0.5, truncation rounds half up like the Python twin wherever the result
    # is not limited to 0. Limited in int16 so that the loop vectorises (float comparisons
    # would not); typed bounds, as literals would give long temporaries, which do not.
    cdef int16_t level = <int16_t><int32_t>value, low = 0, high = 255
    level = level if level > low else low
    return <uint32_t>(level if level < high else high)


cdef void _to_rgb(const float* ys, const float* us, const float* vs, Py_ssize_t count,
                  uint8_t* pixel) noexcept nogil:
    """One output row from its Y (relative to 16) and U, V (relative to 128) rows.

    BT.601 limited range: Y' = (Y - 16) * 255/219 and U', V' = (U, V - 128) * 255/224, then
    R = Y' + 1.402 V', G = Y' - 0.344 U' - 0.714 V', B = Y' + 1.772 U' (0.344 = 1.772 *
    0.114 / 0.587, 0.714 = 1.402 * 0.299 / 0.587).
    """
    cdef float ky = 255 / 219.0, kc = 255 / 224.0
    cdef float krv = kc * 1.402, kgu = kc * 1.772 * 0.114 / 0.587
    cdef float kgv = kc * 1.402 * 0.299 / 0.587, kbu = kc * 1.772
    cdef float half = 0.5, yy, uu, vv
    cdef uint32_t rgb[MAX_SIDE]  # R | G << 8 | B << 16
    cdef uint64_t low
    cdef uint32_t high
    cdef Py_ssize_t j, end = count - count % 4
    # Converting into words vectorises; the words are then written four pixels at a time.
    for j in range(count):
        yy, uu, vv = ky * ys[j] + half, us[j], vs[j]
        rgb[j] = (_level(yy + krv * vv) | _level(yy - kgu * uu - kgv * vv) << 8
                  | _level(yy + kbu * uu) << 16)
    for j in range(0, end, 4):
        low = rgb[j] | <uint64_t>rgb[j + 1] << 24 | <uint64_t>rgb[j + 2] << 48
        high = rgb[j + 2] >> 16 | rgb[j + 3] << 8
        # Byte by byte, endian-neutral: the compiler merges these into two stores.
        pixel[0], pixel[1], pixel[2], pixel[3] = low, low >> 8, low >> 16, low >> 24
        pixel[4], pixel[5], pixel[6], pixel[7] = low >> 32, low >> 40, low >> 48, low >> 56
        pixel[8], pixel[9], pixel[10], pixel[11] = high, high >> 8, high >> 16, high >> 24
        pixel += 12
    for j in range(end, count):
        pixel[0], pixel[1], pixel[2] = rgb[j], rgb[j] >> 8, rgb[j] >> 16
        pixel += 3


cdef void _crop_slice(const uint8_t[:, ::1] y, const uint8_t[:, ::1] u,
                      const uint8_t[:, ::1] v, double top, double step, Columns* columns,
                      Py_ssize_t first, Py_ssize_t count, uint8_t[:, :, ::1] out) noexcept nogil:
    """Output columns ``first`` .. ``first + count - 1`` of every row.

    Per output row, its two source rows are blended into row buffers, each output column
    blends two buffer entries per plane, and the row is converted to RGB. ``columns`` are
    rebased to index the buffers.
    """
    cdef float luma[MAX_SPAN]
    cdef float chroma_u[MAX_CHROMA_SPAN]
    cdef float chroma_v[MAX_CHROMA_SPAN]
    cdef float ys[MAX_SIDE]
    cdef float us[MAX_SIDE]
    cdef float vs[MAX_SIDE]
    cdef int32_t* luma_index = columns.luma + first
    cdef int32_t* chroma_index = columns.chroma + first
    cdef const float* luma_w0 = columns.luma_w0 + first
    cdef const float* luma_w1 = columns.luma_w1 + first
    cdef const float* chroma_w0 = columns.chroma_w0 + first
    cdef const float* chroma_w1 = columns.chroma_w1 + first
    # after[k] rather than buffer[k + 1]: the compiler then computes one address, not two.
    cdef const float* luma_after = luma + 1
    cdef const float* chroma_u_after = chroma_u + 1
    cdef const float* chroma_v_after = chroma_v + 1
    cdef Py_ssize_t luma_first = luma_index[0], chroma_first = chroma_index[0]
    cdef Py_ssize_t luma_count = luma_index[count - 1] + 2 - luma_first
    cdef Py_ssize_t chroma_count = chroma_index[count - 1] + 2 - chroma_first
    cdef Py_ssize_t luma_valid = min(luma_count, y.shape[1] - luma_first)
    cdef Py_ssize_t chroma_valid = min(chroma_count, u.shape[1] - chroma_first)
    cdef double position
    cdef Tap row
    cdef Py_ssize_t i, j, x
    cdef int32_t k
    for j in range(count):
        luma_index[j] -= luma_first
        chroma_index[j] -= chroma_first
    for x in range(luma_valid, luma_count):  # past the plane: black
        luma[x] = 0
    for x in range(chroma_valid, chroma_count):
        chroma_u[x] = chroma_v[x] = 0
    for i in range(out.shape[0]):
        position = top + (i + 0.5) * step - 0.5
        row = _luma_tap(position, y.shape[0])
        _blend(&y[row.i0, luma_first], &y[row.i1, luma_first], row.w0, row.w1, 16, luma_valid,
               luma)
        for j in range(count):
            k = luma_index[j]
            ys[j] = luma_w0[j] * luma[k] + luma_w1[j] * luma_after[k]
        row = _chroma_tap(position, row, u.shape[0])
        _blend(&u[row.i0, chroma_first], &u[row.i1, chroma_first], row.w0, row.w1, 128,
               chroma_valid, chroma_u)
        _blend(&v[row.i0, chroma_first], &v[row.i1, chroma_first], row.w0, row.w1, 128,
               chroma_valid, chroma_v)
        for j in range(count):  # U and V in one loop: each index is loaded once
            k = chroma_index[j]
            us[j] = chroma_w0[j] * chroma_u[k] + chroma_w1[j] * chroma_u_after[k]
            vs[j] = chroma_w0[j] * chroma_v[k] + chroma_w1[j] * chroma_v_after[k]
        _to_rgb(ys, us, vs, count, &out[i, first, 0])


cdef void _crop_exact(const uint8_t[:, ::1] y, const uint8_t[:, ::1] u,
                      const uint8_t[:, ::1] v, Py_ssize_t left, Py_ssize_t top,
                      uint8_t[:, :, ::1] out) noexcept nogil:
    """``out`` from the region of its own size at (left, top), which lies inside the frame.

    Output pixels are luma samples, so only chroma is interpolated: the same taps as the
    general path, which here have fixed weights, computed without gathers.
    """
    cdef float ys[MAX_SIDE]
    cdef float chroma_u[MAX_SIDE / 2 + 3]
    cdef float chroma_v[MAX_SIDE / 2 + 3]
    cdef float us[MAX_SIDE + 2]
    cdef float vs[MAX_SIDE + 2]
    cdef Py_ssize_t side = out.shape[0], last = u.shape[1] - 1
    # The output's columns pair up on chroma samples pair .. pair + pairs - 1 (the first and
    # last pair may be half outside the region); the buffers add one sample either side,
    # which at the plane's edges repeats the edge.
    cdef Py_ssize_t pair = left >> 1, pairs = ((left + side - 1) >> 1) - pair + 1
    cdef Py_ssize_t start = max(pair - 1, 0), offset = start - (pair - 1)
    cdef Py_ssize_t count = min(pair + pairs, last) + 1 - start
    cdef Py_ssize_t i, j, end = offset + count
    cdef const uint8_t* source
    cdef Tap row
    for i in range(side):
        source = &y[top + i, left]
        for j in range(side):
            ys[j] = source[j] - 16
        row = _chroma_tap(top + i, _luma_tap(top + i, y.shape[0]), u.shape[0])
        _blend(&u[row.i0, start], &u[row.i1, start], row.w0, row.w1, 128, count,
               chroma_u + offset)
        _blend(&v[row.i0, start], &v[row.i1, start], row.w0, row.w1, 128, count,
               chroma_v + offset)
        if offset:
            chroma_u[0], chroma_v[0] = chroma_u[1], chroma_v[1]
        if end < pairs + 2:
            chroma_u[end], chroma_v[end] = chroma_u[end - 1], chroma_v[end - 1]
        _upsample(chroma_u, pairs, us)
        _upsample(chroma_v, pairs, vs)
        _to_rgb(ys, us + (left & 1), vs + (left & 1), side, &out[i, 0, 0])


def crop_to_tensor(const uint8_t[:, ::1] y, const uint8_t[:, ::1] u, const uint8_t[:, ::1] v,
                   region, uint8_t[:, :, ::1] out) -> None:
    """Write ``region`` of an I420 frame, resized to ``out`` (S x S x 3), as RGB into ``out``.

    Bilinear samples of Y and of U/V (half resolution, centre-sited), BT.601 limited range to
    RGB, in one pass over the output. Parts of the region outside the frame are black (Y=16,
    U=V=128). Releases the GIL.
    """
    cdef Py_ssize_t height = y.shape[0], width = y.shape[1]
    cdef Py_ssize_t chroma_h = (height + 1) // 2, chroma_w = (width + 1) // 2
    cdef Py_ssize_t side = out.shape[0]
    if height == 0 or width == 0:
        raise ValueError("the frame is empty")
    if (u.shape[0], u.shape[1]) != (chroma_h, chroma_w) or (v.shape[0], v.shape[1]) != (
            chroma_h, chroma_w):
        raise ValueError(
            f"a {width}x{height} frame has {chroma_w}x{chroma_h} chroma planes, got "
            f"u={u.shape[1]}x{u.shape[0]} v={v.shape[1]}x{v.shape[0]}")
    if out.shape[1] != side or out.shape[2] != 3 or not 0 < side <= MAX_SIDE:
        raise ValueError(f"out must be (S, S, 3) with 0 < S <= {MAX_SIDE}, "
                         f"got ({out.shape[0]}, {out.shape[1]}, {out.shape[2]})")
    cdef Rect box = _as_rect(region)
    if box.x2 == box.x1 or box.y2 == box.y1:
        raise ValueError(f"the region is empty: {region!r}")

    # The common case: a region of the model's size, inside the frame.
    if (box.x2 - box.x1 == side and box.y2 - box.y1 == side and box.x1 >= 0 and box.y1 >= 0
            and box.x2 <= width and box.y2 <= height):
        with nogil:
            _crop_exact(y, u, v, box.x1, box.y1, out)
        return

    cdef Columns columns
    cdef double step_x = (box.x2 - box.x1) / <double>side
    cdef double step_y = (box.y2 - box.y1) / <double>side
    cdef Py_ssize_t j, first, last
    with nogil:
        for j in range(side):
            _set_column(&columns, j, box.x1 + (j + 0.5) * step_x - 0.5, width, chroma_w)
        # Regions wider than the row buffers (frames over 2048 px) go in slices of columns.
        first = 0
        while first < side:
            last = _slice_end(&columns, first, side)
            _crop_slice(y, u, v, box.y1, step_y, &columns, first, last - first, out)
            first = last
