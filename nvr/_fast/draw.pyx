# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Drawing in place on the planes of an I420 frame.

Every function takes the Y plane (H x W) and the U and V planes (ceil(H/2) x ceil(W/2)) of one
frame; colours are (Y, U, V) tuples. Everything is clipped to the image. A chroma sample takes
the colour when any of the four luma pixels it covers is painted, so painted pixels show
exactly the colour, and unpainted neighbours in the same 2 x 2 block may pick up its chroma.
"""

from libc.math cimport INFINITY, ceil, floor, isfinite, sqrt
from libc.stdint cimport uint8_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memchr, memset

cdef struct Canvas:
    uint8_t* y
    uint8_t* u
    uint8_t* v
    Py_ssize_t width, height, y_stride, c_stride

cdef struct Colour:
    uint8_t y, u, v


cdef Canvas _canvas(uint8_t[:, ::1] y, uint8_t[:, ::1] u, uint8_t[:, ::1] v) except *:
    cdef Py_ssize_t chroma_h = (y.shape[0] + 1) // 2, chroma_w = (y.shape[1] + 1) // 2
    if (u.shape[0] != chroma_h or u.shape[1] != chroma_w or v.shape[0] != chroma_h
            or v.shape[1] != chroma_w or u.strides[0] != v.strides[0]):
        raise ValueError(
            f"a {y.shape[1]}x{y.shape[0]} Y plane needs {chroma_w}x{chroma_h} U and V planes"
        )
    cdef Canvas canvas
    canvas.y, canvas.u, canvas.v = &y[0, 0], &u[0, 0], &v[0, 0]
    canvas.width, canvas.height = y.shape[1], y.shape[0]
    canvas.y_stride, canvas.c_stride = y.strides[0], u.strides[0]
    return canvas


cdef Colour _colour(color) except *:
    cdef Colour colour
    colour.y, colour.u, colour.v = color
    return colour


cdef void _fill(Canvas* c, Colour colour, Py_ssize_t x1, Py_ssize_t y1,
                Py_ssize_t x2, Py_ssize_t y2) noexcept nogil:
    """Fill the rectangle [x1, x2) x [y1, y2), clipped to the image."""
    cdef Py_ssize_t row
    x1, y1 = max(x1, 0), max(y1, 0)
    x2, y2 = min(x2, c.width), min(y2, c.height)
    if x1 >= x2 or y1 >= y2:
        return
    for row in range(y1, y2):
        memset(c.y + row * c.y_stride + x1, colour.y, x2 - x1)
    for row in range(y1 // 2, (y2 + 1) // 2):
        memset(c.u + row * c.c_stride + x1 // 2, colour.u, (x2 + 1) // 2 - x1 // 2)
        memset(c.v + row * c.c_stride + x1 // 2, colour.v, (x2 + 1) // 2 - x1 // 2)


def draw_rectangle(uint8_t[:, ::1] y, uint8_t[:, ::1] u, uint8_t[:, ::1] v, box, color,
                   int thickness) -> None:
    """Outline ``box`` = (x1, y1, x2, y2) (x2, y2 exclusive); the lines grow inward."""
    cdef Canvas c = _canvas(y, u, v)
    cdef Colour colour = _colour(color)
    cdef Py_ssize_t x1, y1, x2, y2
    x1, y1, x2, y2 = box
    if thickness < 1:
        raise ValueError(f"thickness must be at least 1, got {thickness}")
    if x1 >= x2 or y1 >= y2:
        return
    with nogil:
        _fill(&c, colour, x1, y1, x2, min(y1 + thickness, y2))
        _fill(&c, colour, x1, max(y2 - thickness, y1), x2, y2)
        _fill(&c, colour, x1, y1, min(x1 + thickness, x2), y2)
        _fill(&c, colour, max(x2 - thickness, x1), y1, x2, y2)


cdef inline void _solve(double k, double m, double low, double high,
                        double* lo, double* hi) noexcept nogil:
    """Narrow [lo, hi] to the x where low <= k * x + m <= high."""
    if k == 0.0:
        if m < low or m > high:
            lo[0], hi[0] = INFINITY, -INFINITY
        return
    cdef double a = (low - m) / k, b = (high - m) / k
    if a > b:
        a, b = b, a
    lo[0], hi[0] = max(lo[0], a), min(hi[0], b)


cdef inline void _disk(double cx, double cy, double r, double row,
                       double* lo, double* hi) noexcept nogil:
    """Widen [lo, hi] by the chord of the disk (cx, cy, r) at height ``row``."""
    cdef double h = r * r - (row - cy) * (row - cy)
    if h >= 0.0:
        h = sqrt(h)
        lo[0], hi[0] = min(lo[0], cx - h), max(hi[0], cx + h)


cdef void _segment(Canvas* c, Colour colour, double ax, double ay, double bx, double by,
                   double r) noexcept nogil:
    """Paint the pixels whose centre lies within ``r`` of the segment from a to b."""
    cdef double dx = bx - ax, dy = by - ay
    cdef double reach = r * sqrt(dx * dx + dy * dy)
    cdef double centre, lo, hi, body_lo, body_hi
    cdef Py_ssize_t row
    cdef Py_ssize_t first = <Py_ssize_t>ceil(_clamp(min(ay, by) - r - 0.5, -1, c.height))
    cdef Py_ssize_t last = <Py_ssize_t>floor(_clamp(max(ay, by) + r - 0.5, -1, c.height))
    for row in range(max(first, 0), min(last, c.height - 1) + 1):
        # The capsule is convex, so its cut by a row is one interval: the union of the cuts
        # of the two end disks and of the rectangle along the segment.
        centre = row + 0.5
        lo, hi = INFINITY, -INFINITY
        _disk(ax, ay, r, centre, &lo, &hi)
        _disk(bx, by, r, centre, &lo, &hi)
        if reach > 0.0:
            body_lo, body_hi = -INFINITY, INFINITY
            _solve(dx, (centre - ay) * dy - ax * dx, 0.0, dx * dx + dy * dy, &body_lo, &body_hi)
            _solve(-dy, (centre - ay) * dx + dy * ax, -reach, reach,
                   &body_lo, &body_hi)
            if body_lo <= body_hi:
                lo, hi = min(lo, body_lo), max(hi, body_hi)
        if lo <= hi:
            _fill(c, colour, <Py_ssize_t>ceil(_clamp(lo - 0.5, -1, c.width)), row,
                  <Py_ssize_t>floor(_clamp(hi - 0.5, -1, c.width)) + 1, row + 1)


cdef inline double _clamp(double value, double low, double high) noexcept nogil:
    return min(max(value, low), high)


def draw_polygon(uint8_t[:, ::1] y, uint8_t[:, ::1] u, uint8_t[:, ::1] v, points, color,
                 int thickness) -> None:
    """Outline the closed polygon through ``points`` [(x, y), ...] in pixel coordinates.

    A pixel is painted when its centre lies within thickness / 2 of an edge (round joins).
    """
    cdef Canvas c = _canvas(y, u, v)
    cdef Colour colour = _colour(color)
    cdef Py_ssize_t i, n = len(points)
    # Odd lines run through pixel centres and even ones along pixel edges, so that
    # axis-aligned lines are exactly `thickness` pixels wide.
    cdef double offset = 0.5 if thickness % 2 else 0.0
    cdef double* xy
    if thickness < 1:
        raise ValueError(f"thickness must be at least 1, got {thickness}")
    if n == 0:
        return
    xy = <double*>malloc(2 * n * sizeof(double))
    if xy == NULL:
        raise MemoryError()
    try:
        for i, (px, py) in enumerate(points):
            xy[2 * i], xy[2 * i + 1] = px + offset, py + offset
            if not (isfinite(xy[2 * i]) and isfinite(xy[2 * i + 1])):
                raise ValueError(f"polygon points must be finite, got {(px, py)}")
        with nogil:
            for i in range(n):
                _segment(&c, colour, xy[2 * i], xy[2 * i + 1],
                         xy[2 * ((i + 1) % n)], xy[2 * ((i + 1) % n) + 1], thickness / 2.0)
    finally:
        free(xy)


def black_out(uint8_t[:, ::1] y, uint8_t[:, ::1] u, uint8_t[:, ::1] v,
              const uint8_t[:, ::1] mask, color=(16, 128, 128)) -> None:
    """Paint ``color`` (by default limited-range black) every pixel where ``mask`` is 0.

    A mask of another size than the image is sampled under the centre of every pixel.
    """
    cdef Canvas c = _canvas(y, u, v)
    cdef Colour black = _colour(color)
    cdef Py_ssize_t row, col, start, stop, mask_h = mask.shape[0], mask_w = mask.shape[1]
    cdef Py_ssize_t* starts
    cdef const uint8_t* keep
    cdef const void* found
    if mask_h == 0 or mask_w == 0:
        raise ValueError("the mask is empty")
    # starts[j]: the first image column whose centre falls on mask column j or after it, so
    # the mask columns [a, b) cover the image columns [starts[a], starts[b]).
    starts = <Py_ssize_t*>malloc((mask_w + 1) * sizeof(Py_ssize_t))
    if starts == NULL:
        raise MemoryError()
    col = 0
    for start in range(mask_w + 1):
        while col < c.width and <Py_ssize_t>((col + 0.5) * mask_w / c.width) < start:
            col += 1
        starts[start] = col
    with nogil:
        for row in range(c.height):
            keep = &mask[<Py_ssize_t>((row + 0.5) * mask_h / c.height), 0]
            # Masks are mostly open: memchr skips to the next run of zeros quickly.
            stop = 0
            while True:
                found = memchr(keep + stop, 0, mask_w - stop)
                if found == NULL:
                    break
                start = stop = <const uint8_t*>found - keep
                while stop < mask_w and keep[stop] == 0:
                    stop += 1
                _fill(&c, black, starts[start], row, starts[stop], row + 1)
    free(starts)


# A 5 x 7 font with two rows of descenders, one glyph per line for the printable ASCII
# characters from ' ' (32) to '~' (126): nine rows, the leftmost column in bit 4.
cdef enum:
    GLYPH_W = 5
    GLYPH_H = 9
    FIRST = 32
    LAST = 126
cdef uint8_t[(LAST - FIRST + 1) * GLYPH_H] FONT = [
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  # ' '
    0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04, 0x00, 0x00,  # '!'
    0x0a, 0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  # '"'
    0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a, 0x00, 0x00,  # '#'
    0x04, 0x0f, 0x14, 0x0e, 0x05, 0x1e, 0x04, 0x00, 0x00,  # '$'
    0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03, 0x00, 0x00,  # '%'
    0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d, 0x00, 0x00,  # '&'
    0x04, 0x04, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  # "'"
    0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02, 0x00, 0x00,  # '('
    0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08, 0x00, 0x00,  # ')'
    0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00, 0x00, 0x00,  # '*'
    0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00, 0x00, 0x00,  # '+'
    0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x04, 0x08, 0x00,  # ','
    0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00,  # '-'
    0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c, 0x00, 0x00,  # '.'
    0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00, 0x00, 0x00,  # '/'
    0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e, 0x00, 0x00,  # '0'
    0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00, 0x00,  # '1'
    0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f, 0x00, 0x00,  # '2'
    0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e, 0x00, 0x00,  # '3'
    0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02, 0x00, 0x00,  # '4'
    0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e, 0x00, 0x00,  # '5'
    0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e, 0x00, 0x00,  # '6'
    0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, 0x00, 0x00,  # '7'
    0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e, 0x00, 0x00,  # '8'
    0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c, 0x00, 0x00,  # '9'
    0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00, 0x00, 0x00,  # ':'
    0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x04, 0x08, 0x00,  # ';'
    0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02, 0x00, 0x00,  # '<'
    0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00,  # '='
    0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08, 0x00, 0x00,  # '>'
    0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00, 0x00,  # '?'
    0x0e, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0e, 0x00, 0x00,  # '@'
    0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11, 0x00, 0x00,  # 'A'
    0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e, 0x00, 0x00,  # 'B'
    0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e, 0x00, 0x00,  # 'C'
    0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e, 0x00, 0x00,  # 'D'
    0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f, 0x00, 0x00,  # 'E'
    0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10, 0x00, 0x00,  # 'F'
    0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f, 0x00, 0x00,  # 'G'
    0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11, 0x00, 0x00,  # 'H'
    0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00, 0x00,  # 'I'
    0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c, 0x00, 0x00,  # 'J'
    0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11, 0x00, 0x00,  # 'K'
    0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f, 0x00, 0x00,  # 'L'
    0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11, 0x00, 0x00,  # 'M'
    0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x00, 0x00,  # 'N'
    0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e, 0x00, 0x00,  # 'O'
    0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10, 0x00, 0x00,  # 'P'
    0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d, 0x00, 0x00,  # 'Q'
    0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11, 0x00, 0x00,  # 'R'
    0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e, 0x00, 0x00,  # 'S'
    0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00,  # 'T'
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e, 0x00, 0x00,  # 'U'
    0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04, 0x00, 0x00,  # 'V'
    0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a, 0x00, 0x00,  # 'W'
    0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11, 0x00, 0x00,  # 'X'
    0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00,  # 'Y'
    0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f, 0x00, 0x00,  # 'Z'
    0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e, 0x00, 0x00,  # '['
    0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00, 0x00, 0x00,  # backslash
    0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e, 0x00, 0x00,  # ']'
    0x04, 0x0a, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  # '^'
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x00,  # '_'
    0x08, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  # '`'
    0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f, 0x00, 0x00,  # 'a'
    0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1e, 0x00, 0x00,  # 'b'
    0x00, 0x00, 0x0e, 0x10, 0x10, 0x11, 0x0e, 0x00, 0x00,  # 'c'
    0x01, 0x01, 0x0d, 0x13, 0x11, 0x11, 0x0f, 0x00, 0x00,  # 'd'
    0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e, 0x00, 0x00,  # 'e'
    0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08, 0x00, 0x00,  # 'f'
    0x00, 0x00, 0x0f, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x0e,  # 'g'
    0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00,  # 'h'
    0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e, 0x00, 0x00,  # 'i'
    0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c,  # 'j'
    0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00, 0x00,  # 'k'
    0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00, 0x00,  # 'l'
    0x00, 0x00, 0x1a, 0x15, 0x15, 0x15, 0x15, 0x00, 0x00,  # 'm'
    0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00,  # 'n'
    0x00, 0x00, 0x0e, 0x11, 0x11, 0x11, 0x0e, 0x00, 0x00,  # 'o'
    0x00, 0x00, 0x1e, 0x11, 0x11, 0x11, 0x1e, 0x10, 0x10,  # 'p'
    0x00, 0x00, 0x0f, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x01,  # 'q'
    0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10, 0x00, 0x00,  # 'r'
    0x00, 0x00, 0x0f, 0x10, 0x0e, 0x01, 0x1e, 0x00, 0x00,  # 's'
    0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06, 0x00, 0x00,  # 't'
    0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0d, 0x00, 0x00,  # 'u'
    0x00, 0x00, 0x11, 0x11, 0x11, 0x0a, 0x04, 0x00, 0x00,  # 'v'
    0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0a, 0x00, 0x00,  # 'w'
    0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x00, 0x00,  # 'x'
    0x00, 0x00, 0x11, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x0e,  # 'y'
    0x00, 0x00, 0x1f, 0x02, 0x04, 0x08, 0x1f, 0x00, 0x00,  # 'z'
    0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02, 0x00, 0x00,  # '{'
    0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00,  # '|'
    0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08, 0x00, 0x00,  # '}'
    0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00, 0x00, 0x00,  # '~'
]


def text_size(str text, int scale) -> tuple:
    """(width, height) of ``text`` as draw_text draws it at ``scale``, padding included."""
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    if not text:
        return 0, 0
    # One pixel of padding around the glyphs and one between them.
    return ((GLYPH_W + 1) * len(text) + 1) * scale, (GLYPH_H + 2) * scale


def draw_text(uint8_t[:, ::1] y, uint8_t[:, ::1] u, uint8_t[:, ::1] v, int x, int top,
              str text, color, background, int scale) -> tuple:
    """Draw ``text`` with its top-left corner at (x, top); returns its (width, height).

    ``background`` None leaves the pixels between the glyphs alone; a (Y, U, V) colour fills
    the whole box first. Characters outside printable ASCII are drawn as '?'.
    """
    cdef Canvas c = _canvas(y, u, v)
    cdef Colour colour = _colour(color), fill
    cdef Py_ssize_t width, height, i, row, col, left
    cdef uint8_t bits
    cdef bytes codes = text.encode("ascii", "replace")
    cdef const unsigned char* chars = codes
    cdef Py_ssize_t count = len(codes)
    width, height = text_size(text, scale)
    if background is not None:
        fill = _colour(background)
        _fill(&c, fill, x, top, x + width, top + height)
    with nogil:
        for i in range(count):
            left = x + (1 + i * (GLYPH_W + 1)) * scale
            for row in range(GLYPH_H):
                bits = FONT[(_glyph(chars[i]) - FIRST) * GLYPH_H + row]
                for col in range(GLYPH_W):
                    if bits & (1 << (GLYPH_W - 1 - col)):
                        _fill(&c, colour, left + col * scale, top + (1 + row) * scale,
                              left + (col + 1) * scale, top + (2 + row) * scale)
    return width, height


cdef inline Py_ssize_t _glyph(unsigned char code) noexcept nogil:
    return code if FIRST <= code <= LAST else 63  # '?'


cdef struct Taps:
    Py_ssize_t count        # source samples blended into each target sample
    Py_ssize_t* first       # per target sample: the first of `count` consecutive samples
    float* weight           # per target sample: `count` weights (unused ones are 0)


cdef int _taps(Py_ssize_t source, Py_ssize_t target, Taps* taps) except -1:
    """Source samples and weights of every target sample along one axis.

    Shrinking averages the source samples each target sample covers, weighted by how much
    of them it covers; enlarging interpolates linearly between the two nearest ones.
    """
    cdef double ratio = <double>source / target, start, end, at
    cdef Py_ssize_t i, j, first, row
    if target > source:
        taps.count = min(2, source)
    else:
        taps.count = 1
        for i in range(target):
            taps.count = max(taps.count, _area_stop(i, ratio, source) - <Py_ssize_t>(i * ratio))
    taps.first = <Py_ssize_t*>malloc(target * sizeof(Py_ssize_t))
    taps.weight = <float*>calloc(target * taps.count, sizeof(float))
    if taps.first == NULL or taps.weight == NULL:
        raise MemoryError()
    for i in range(target):
        row = i * taps.count
        if target > source:
            at = _clamp((i + 0.5) * ratio - 0.5, 0.0, source - 1)
            first = min(<Py_ssize_t>at, source - taps.count)
            taps.weight[row] = 1.0 - (at - first)
            if taps.count == 2:
                taps.weight[row + 1] = at - first
        else:
            start, end = i * ratio, (i + 1) * ratio
            # Near the end, start early so that all `count` samples exist (with weight 0).
            first = min(<Py_ssize_t>start, source - taps.count)
            for j in range(<Py_ssize_t>start, _area_stop(i, ratio, source)):
                taps.weight[row + j - first] = (min(end, j + 1.0) - max(start, <double>j)) / ratio
        taps.first[i] = first
    return 0


cdef inline Py_ssize_t _area_stop(Py_ssize_t i, double ratio, Py_ssize_t source) noexcept:
    """One past the last source sample that target sample ``i`` covers."""
    return min(<Py_ssize_t>ceil((i + 1) * ratio), source)


def resize_plane(const uint8_t[:, ::1] src, uint8_t[:, ::1] dst) -> None:
    """Resize the plane ``src`` into ``dst`` (area average to shrink, bilinear to enlarge)."""
    cdef Taps rows = Taps(0, NULL, NULL), cols = Taps(0, NULL, NULL)
    cdef Py_ssize_t x, out_x, out_y, k, width = src.shape[1]
    cdef float total
    cdef const float* weight
    cdef const float* blend
    cdef float* line = NULL
    cdef const uint8_t* source
    if src.shape[0] == 0 or src.shape[1] == 0 or dst.shape[0] == 0 or dst.shape[1] == 0:
        raise ValueError("cannot resize an empty plane")
    try:
        line = <float*>malloc(width * sizeof(float))
        if line == NULL:
            raise MemoryError()
        _taps(src.shape[0], dst.shape[0], &rows)
        _taps(width, dst.shape[1], &cols)
        with nogil:
            for out_y in range(dst.shape[0]):
                # Blend the source rows into one line, then blend along the line.
                weight = rows.weight + out_y * rows.count
                source = &src[rows.first[out_y], 0]
                for x in range(width):
                    line[x] = weight[0] * source[x]
                for k in range(1, rows.count):
                    source = &src[rows.first[out_y] + k, 0]
                    for x in range(width):
                        line[x] += weight[k] * source[x]
                for out_x in range(dst.shape[1]):
                    weight, blend = cols.weight + out_x * cols.count, line + cols.first[out_x]
                    total = 0.5
                    for k in range(cols.count):
                        total += weight[k] * blend[k]
                    dst[out_y, out_x] = <uint8_t>min(total, 255.0)
    finally:
        free(line)
        free(rows.first)
        free(rows.weight)
        free(cols.first)
        free(cols.weight)
