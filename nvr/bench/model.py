"""The figures a benchmark run produces, and what every suite is given."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

NOISY_SPREAD = 0.2
"""(max - min) / median above this marks a figure as measured on a busy machine."""


@dataclass(frozen=True)
class Stat:
    """A measured quantity over repeated runs: median, min, max and how many runs."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stat:
        """The median, min and max of ``samples`` (at least one)."""
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))

    @property
    def spread(self) -> float:
        """(max - min) / median; 0 for a single run."""
        return (self.high - self.low) / self.median if self.median else 0.0

    @property
    def noisy(self) -> bool:
        return self.spread > NOISY_SPREAD


@dataclass(frozen=True)
class Figure:
    """One figure of a run: ours, the baseline measured in the same run, and the unit.

    ``group`` is the suite (``decode``, ``motion``, ``regions``, ``model_input``,
    ``overlays``, ``detector``, ``capacity``, ``api``); ``name`` says what was measured
    (unique within the run). ``higher_is_better``: fps and cameras yes, ms no.
    """

    group: str
    name: str
    unit: str
    ours: Stat
    reference: Stat | None = None
    reference_name: str | None = None
    higher_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        """How many times better ours is than the baseline (> 1: better); None without one."""
        if self.reference is None or not self.reference.median or not self.ours.median:
            return None
        if self.higher_is_better:
            return self.ours.median / self.reference.median
        return self.reference.median / self.ours.median

    @property
    def noisy(self) -> bool:
        return self.ours.noisy or (self.reference is not None and self.reference.noisy)


@dataclass(frozen=True)
class BenchInputs:
    """What a run measures with: a video, a detector model, the detector kinds to try."""

    video: Path
    model: Path
    labels: Path
    detectors: tuple[str, ...] = ("cpu",)  # kinds: cpu, edgetpu, onnx
    onnx_model: Path | None = None  # a YOLOX model for the onnx kind
    onnx_labels: Path | None = None
    quick: bool = False  # fewer rounds and frames: a smoke run of about a minute


Progress = Callable[[str], None]
"""Called by a suite with a short description each time it starts a step."""
