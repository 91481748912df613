# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Detection regions and the model-input kernel (reference §6.1-§6.3).

A box is a tuple ``(x1, y1, x2, y2)`` of ints in frame pixels, x2/y2 exclusive. A region is a
square box around what should be detected; the model sees it resized to its input size.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport floor
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t
from libc.stdlib cimport qsort

cdef enum:
    MIN_REGION = 300    # smallest region side (reference §6.1)
    MAX_SIDE = 1024     # largest model input side crop_to_tensor accepts
    MAX_SPAN = 2048     # source columns per row buffer (the buffers live on the stack)
    MAX_CHROMA_SPAN = 1025  # MAX_SPAN / 2 + 1
    WEIGHT_BITS = 11    # fixed-point bits of one interpolation weight
    COEFF_BITS = 20     # fixed-point bits of the colour coefficients

ctypedef struct Rect:
    Py_ssize_t x1, y1, x2, y2

ctypedef struct Tap:
    # Two source samples and their weights (1 << WEIGHT_BITS is 1.0).
    int32_t i0, i1, w0, w1

ctypedef struct Column:
    # The samples of one output column in the row buffers: luma at luma and luma + 1, U at
    # chroma and chroma + 2, V one after each (U and V are interleaved).
    int32_t luma, luma_w0, luma_w1, chroma, chroma_w0, chroma_w1


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
    # Both edges within 20% of the smaller extent, in integers so the reference agrees exactly.
    cdef Py_ssize_t tolerance = min(a2 - a1, b2 - b1)
    return 5 * _distance(a1, b1) <= tolerance and 5 * _distance(a2, b2) <= tolerance


cdef inline bint _similar(Rect* a, Rect* b) noexcept nogil:
    return _near(a.x1, a.x2, b.x1, b.x2) and _near(a.y1, a.y2, b.y1, b.y2)


cdef inline bint _contains(Rect* outer, Rect* inner) noexcept nogil:
    return (outer.x1 <= inner.x1 and outer.y1 <= inner.y1
            and inner.x2 <= outer.x2 and inner.y2 <= outer.y2)


cdef Py_ssize_t _root(Py_ssize_t* parent, Py_ssize_t i) noexcept nogil:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


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
                a, b = _root(parent, i), _root(parent, j)
                if a != b:
                    parent[b] = a
    for i in range(n):
        count[i] = 0
        total[4 * i] = total[4 * i + 1] = total[4 * i + 2] = total[4 * i + 3] = 0
    for i in range(n):
        a = _root(parent, i)
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
    """The square region to detect in around ``box`` (reference §6.1).

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
    """The regions to run detection in for one frame (reference §6.2), sorted and distinct.

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

cdef enum:
    # BT.601 limited range to RGB, times 2 ** COEFF_BITS: with Y' = (Y - 16) * 255/219 and
    # U', V' = (U, V - 128) * 255/224, R = Y' + 1.402 V', G = Y' - 0.344 U' - 0.714 V',
    # B = Y' + 1.772 U' (0.344 = 1.772 * 0.114 / 0.587, 0.714 = 1.402 * 0.299 / 0.587).
    COEFF_Y = 1220945
    COEFF_RV = 1673555
    COEFF_GU = 410793
    COEFF_GV = 852458
    COEFF_BU = 2115221
    SHIFT = 2 * WEIGHT_BITS + COEFF_BITS
    CLIP_OFFSET = 384   # converted values lie within -CLIP_OFFSET .. 1023 - CLIP_OFFSET

# _CLIP[CLIP_OFFSET + value] is value limited to 0..255.
cdef uint8_t[1024] _CLIP
for _value in range(1024):
    _CLIP[_value] = min(max(_value - CLIP_OFFSET, 0), 255)


cdef inline int32_t _weight(double fraction) noexcept nogil:
    return <int32_t>floor(fraction * (1 << WEIGHT_BITS) + 0.5)


cdef inline int32_t _clip(Py_ssize_t i, Py_ssize_t size) noexcept nogil:
    return <int32_t>(0 if i < 0 else (size - 1 if i >= size else i))


cdef Tap _luma_tap(double position, Py_ssize_t size) noexcept nogil:
    # Samples outside the plane get weight 0: the frame is black there.
    cdef Py_ssize_t i = <Py_ssize_t>floor(position)
    cdef Tap tap
    tap.w1 = _weight(position - i)
    tap.w0 = (1 << WEIGHT_BITS) - tap.w1
    if i < 0 or i >= size:
        tap.w0 = 0
    if i + 1 < 0 or i + 1 >= size:
        tap.w1 = 0
    tap.i0, tap.i1 = _clip(i, size), _clip(i + 1, size)
    return tap


cdef Tap _chroma_tap(double luma_position, Tap luma, Py_ssize_t size) noexcept nogil:
    # Chroma samples sit between luma pairs (centre siting, ffmpeg's default); the plane edge
    # is repeated inside the frame and faded out with the luma outside it.
    cdef double position = luma_position / 2 - 0.25
    cdef double inside = (luma.w0 + luma.w1) / <double>(1 << WEIGHT_BITS)
    cdef Py_ssize_t i = <Py_ssize_t>floor(position)
    cdef double fraction = position - i
    cdef Tap tap
    tap.w0 = _weight((1 - fraction) * inside)
    tap.w1 = _weight(fraction * inside)
    tap.i0, tap.i1 = _clip(i, size), _clip(i + 1, size)
    return tap


cdef inline Tap _adjacent(Tap tap) noexcept nogil:
    # The same samples as i0 and i0 + 1 (i0 + 1 may be one past the plane, with weight 0).
    if tap.i1 == tap.i0:
        tap.w0, tap.w1 = tap.w0 + tap.w1, 0
    return tap


cdef Column _column(double position, Py_ssize_t width, Py_ssize_t chroma_width) noexcept nogil:
    cdef Tap luma = _luma_tap(position, width)
    cdef Tap chroma = _adjacent(_chroma_tap(position, luma, chroma_width))
    luma = _adjacent(luma)
    cdef Column column
    column.luma, column.luma_w0, column.luma_w1 = luma.i0, luma.w0, luma.w1
    column.chroma, column.chroma_w0, column.chroma_w1 = chroma.i0, chroma.w0, chroma.w1
    return column


cdef Py_ssize_t _slice_end(const Column* columns, Py_ssize_t first,
                           Py_ssize_t count) noexcept nogil:
    """End of the output columns from ``first`` whose sources fit the row buffers."""
    cdef Py_ssize_t last = first + 1
    while last < count and (
            columns[last].luma + 2 - columns[first].luma <= MAX_SPAN
            and columns[last].chroma + 2 - columns[first].chroma <= MAX_CHROMA_SPAN):
        last += 1
    return last


cdef void _crop_slice(const uint8_t[:, ::1] y, const uint8_t[:, ::1] u,
                      const uint8_t[:, ::1] v, double top, double step, Column* columns,
                      Py_ssize_t count, uint8_t[:, :, ::1] out, Py_ssize_t first) noexcept nogil:
    """Output columns ``first`` .. ``first + count - 1`` of every row.

    Per output row, its two source rows are blended into row buffers (vectorised), then each
    output pixel interpolates between two buffer entries per plane. ``columns`` are rebased
    to index the buffers.
    """
    cdef int32_t luma[MAX_SPAN]
    cdef int32_t chroma[2 * MAX_CHROMA_SPAN]  # U and V interleaved
    cdef Py_ssize_t luma_first = columns[0].luma, chroma_first = columns[0].chroma
    cdef Py_ssize_t luma_count = columns[count - 1].luma + 2 - luma_first
    cdef Py_ssize_t chroma_count = columns[count - 1].chroma + 2 - chroma_first
    cdef Py_ssize_t luma_valid = min(luma_count, y.shape[1] - luma_first)
    cdef Py_ssize_t chroma_valid = min(chroma_count, u.shape[1] - chroma_first)
    cdef const uint8_t* clip = &_CLIP[CLIP_OFFSET]
    cdef const uint8_t* top0
    cdef const uint8_t* top1
    cdef const uint8_t* bottom0
    cdef const uint8_t* bottom1
    cdef const int32_t* at
    cdef const Column* column
    cdef uint8_t* pixel
    cdef int64_t yy, uu, vv
    cdef int64_t half = <int64_t>1 << (SHIFT - 1)
    cdef int16_t w0, w1  # 16-bit operands let the compiler use SIMD multiply-adds
    cdef double position
    cdef Tap row
    cdef Py_ssize_t i, j, x
    for j in range(count):
        columns[j].luma -= luma_first
        columns[j].chroma = 2 * (columns[j].chroma - chroma_first)
    for i in range(out.shape[0]):
        position = top + (i + 0.5) * step - 0.5
        row = _luma_tap(position, y.shape[0])
        top0, bottom0 = &y[row.i0, luma_first], &y[row.i1, luma_first]
        w0, w1 = row.w0, row.w1
        for x in range(luma_valid):  # relative to black, in units of 2 ** -WEIGHT_BITS
            luma[x] = (<int32_t>w0 * <int16_t>(top0[x] - 16)
                       + <int32_t>w1 * <int16_t>(bottom0[x] - 16))
        for x in range(luma_valid, luma_count):
            luma[x] = 0
        row = _chroma_tap(position, row, u.shape[0])
        top0, bottom0 = &u[row.i0, chroma_first], &u[row.i1, chroma_first]
        top1, bottom1 = &v[row.i0, chroma_first], &v[row.i1, chroma_first]
        w0, w1 = row.w0, row.w1
        for x in range(chroma_valid):
            chroma[2 * x] = (<int32_t>w0 * <int16_t>(top0[x] - 128)
                             + <int32_t>w1 * <int16_t>(bottom0[x] - 128))
            chroma[2 * x + 1] = (<int32_t>w0 * <int16_t>(top1[x] - 128)
                                 + <int32_t>w1 * <int16_t>(bottom1[x] - 128))
        for x in range(2 * chroma_valid, 2 * chroma_count):
            chroma[x] = 0

        pixel = &out[i, first, 0]
        for j in range(count):
            column = &columns[j]
            at = luma + column.luma
            yy = <int64_t>COEFF_Y * (column.luma_w0 * at[0] + column.luma_w1 * at[1]) + half
            at = chroma + column.chroma
            uu = column.chroma_w0 * at[0] + column.chroma_w1 * at[2]
            vv = column.chroma_w0 * at[1] + column.chroma_w1 * at[3]
            pixel[0] = clip[(yy + COEFF_RV * vv) >> SHIFT]
            pixel[1] = clip[(yy - COEFF_GU * uu - COEFF_GV * vv) >> SHIFT]
            pixel[2] = clip[(yy + COEFF_BU * uu) >> SHIFT]
            pixel += 3


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

    cdef Column columns[MAX_SIDE]
    cdef double step_x = (box.x2 - box.x1) / <double>side
    cdef double step_y = (box.y2 - box.y1) / <double>side
    cdef Py_ssize_t j, first, last
    with nogil:
        for j in range(side):
            columns[j] = _column(box.x1 + (j + 0.5) * step_x - 0.5, width, chroma_w)
        # Regions wider than the row buffers (frames over 2048 px) go in slices of columns.
        first = 0
        while first < side:
            last = _slice_end(columns, first, side)
            _crop_slice(y, u, v, box.y1, step_y, &columns[first], last - first, out, first)
            first = last
