"""Label files: class id -> name."""

from __future__ import annotations

import re
from pathlib import Path

_NUMBERED = re.compile(r"(\d+)\s+(\S.*)")


def load_labels(path: str | Path) -> dict[int, str]:
    """Read a label file in either of its two formats.

    * ``"<id>  <name>"`` on every non-blank line: ids as written, gaps allowed (blank lines are
      ignored, a repeated id is an error).
    * Plain names: the line index is the class id. Placeholder lines such as ``n/a`` or ``???``
      keep their place (and their text); trailing blank lines are ignored.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    stripped = [line.strip() for line in lines]
    while stripped and not stripped[-1]:
        stripped.pop()
    numbered = [_NUMBERED.fullmatch(line) for line in stripped if line]
    matches = [match for match in numbered if match is not None]
    if matches and len(matches) == len(numbered):
        labels: dict[int, str] = {}
        for match in matches:
            class_id, name = int(match[1]), match[2].strip()
            if class_id in labels:
                raise ValueError(f"{path}: class id {class_id} appears twice")
            labels[class_id] = name
        return labels
    return dict(enumerate(stripped))
