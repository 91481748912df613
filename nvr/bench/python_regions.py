"""Region selection in plain Python, written for clarity, not speed.

The twin of ``nvr._fast.regions.select_regions`` (same boxes): the baseline ``nvr bench``
times it against, and the oracle of the kernel's tests.
"""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[int, int, int, int]

MIN_REGION = 300


def _start(low: int, high: int, size: int, limit: int) -> int:
    start = (low + high - size) // 2
    return max(0, min(start, limit - size))


def region_for_box(box: Box, frame_width: int, frame_height: int,
                   multiplier: float = 2.0) -> Box:
    """A square around ``box``, ``multiplier`` times its longer side (at least MIN_REGION),
    moved inside the frame where it fits."""
    x1, y1, x2, y2 = box
    size = max(int(max(x2 - x1, y2 - y1) // 4 * 4 * multiplier), MIN_REGION)
    x = _start(x1, x2, size, frame_width)
    y = _start(y1, y2, size, frame_height)
    return (x, y, x + size, y + size)


def _near(a1: int, a2: int, b1: int, b2: int) -> bool:
    tolerance = min(a2 - a1, b2 - b1)
    return 5 * abs(a1 - b1) <= tolerance and 5 * abs(a2 - b2) <= tolerance


def similar(a: Box, b: Box) -> bool:
    """Every edge within 20% of the smaller box's extent on that axis."""
    return _near(a[0], a[2], b[0], b[2]) and _near(a[1], a[3], b[1], b[3])


def contains(outer: Box, inner: Box) -> bool:
    """``inner`` lies within ``outer``, edges included."""
    return (outer[0] <= inner[0] and outer[1] <= inner[1]
            and inner[2] <= outer[2] and inner[3] <= outer[3])


def _groups(boxes: list[Box]) -> list[list[Box]]:
    """Connected components of the similarity graph, grown by search."""
    unseen = set(range(len(boxes)))
    groups = []
    while unseen:
        todo = [unseen.pop()]
        group = []
        while todo:
            i = todo.pop()
            group.append(boxes[i])
            linked = {j for j in unseen if similar(boxes[i], boxes[j])}
            unseen -= linked
            todo.extend(linked)
        groups.append(group)
    return groups


def _average(group: list[Box]) -> Box:
    n = len(group)
    # Round half up, in integers.
    x1, y1, x2, y2 = ((2 * sum(edge) + n) // (2 * n) for edge in zip(*group, strict=True))
    return (x1, y1, x2, y2)


def _as_box(box: Sequence[int]) -> Box:
    x1, y1, x2, y2 = box
    return (x1, y1, x2, y2)


def reduce_boxes(boxes: Sequence[Box]) -> list[Box]:
    """Groups of similar boxes averaged, then boxes inside another one dropped."""
    averaged = sorted({_average(group) for group in _groups([_as_box(b) for b in boxes])})
    return [box for box in averaged
            if not any(other != box and contains(other, box) for other in averaged)]


def touches(a: Box, b: Box) -> bool:
    """The boxes overlap or share an edge."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def select_regions(motion_boxes: Sequence[Box], tracked_boxes: Sequence[Box],
                   frame_width: int, frame_height: int) -> list[Box]:
    """The regions to run the detector on, for one frame's motion and tracked boxes."""
    moving = [_as_box(box) for box in motion_boxes]
    candidates = moving + [_as_box(box) for box in tracked_boxes
                           if any(touches(box, m) for m in moving)]
    regions = [region_for_box(box, frame_width, frame_height, 1.2)
               for box in reduce_boxes(candidates)]
    return sorted({region_for_box(box, frame_width, frame_height, 1.0)
                   for box in reduce_boxes(regions)})
