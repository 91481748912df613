"""``nvr bench``: run the suites in order with a progress line, then report and save the run."""

from __future__ import annotations

import importlib
import shutil
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from nvr.bench import report
from nvr.bench.model import BenchInputs, Figure

SUITES = ("stages", "detectors", "capacity", "api")
"""The suites, in the order they run: ``nvr.bench.<name>.run(inputs, progress)``."""


class ProgressLine:
    """One line on a terminal: ``[#####     ] 2/4 detectors  step 17  0:42  cpu, 1 thread``.

    The bar counts suites (their number is known); within a suite only the step count and
    the elapsed time move, since a suite does not say in advance how many steps it has. When
    the stream is not a terminal (a log file), each step gets its own line instead.
    """

    def __init__(self, suites: int, out: IO[str] | None = None) -> None:
        self.out = out or sys.stderr
        self.suites = suites
        self.done = 0
        self.suite = ""
        self.steps = 0
        self.started = time.monotonic()
        self._width = 0
        self._live = bool(getattr(self.out, "isatty", lambda: False)())

    def start_suite(self, name: str) -> None:
        """The next suite begins."""
        self.suite = name
        self.step(f"starting {name}", count=False)

    def end_suite(self) -> None:
        """The current suite has finished (or failed)."""
        self.done += 1

    def step(self, description: str, count: bool = True) -> None:
        """A suite's progress callback (``Progress``): it starts ``description``."""
        if count:
            self.steps += 1
        elapsed = int(time.monotonic() - self.started)
        filled = 10 * self.done // max(1, self.suites)
        line = (f"[{'#' * filled}{' ' * (10 - filled)}] {self.done + 1}/{self.suites} "
                f"{self.suite}  step {self.steps}  {elapsed // 60}:{elapsed % 60:02d}  "
                f"{description}")
        if self._live:
            columns = shutil.get_terminal_size((100, 20)).columns - 1
            line = line[:columns]
            self.out.write("\r" + line + " " * max(0, self._width - len(line)))
            self._width = len(line)
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def message(self, text: str) -> None:
        """A line of its own (a failure), leaving the progress line below it."""
        self.clear()
        self.out.write(text + "\n")
        self.out.flush()

    def clear(self) -> None:
        """Erase the progress line (on a terminal) before other output."""
        if self._live and self._width:
            self.out.write("\r" + " " * self._width + "\r")
            self.out.flush()
            self._width = 0


def describe_delegates(inputs: BenchInputs) -> dict[str, str]:
    """What each detector kind of ``inputs`` runs on (the detectors suite knows)."""
    try:
        from nvr.bench.detectors import active_delegates

        return active_delegates(inputs)
    except Exception as error:  # described, not fatal: the suite reports its own failure
        return dict.fromkeys(inputs.detectors, f"unknown ({error})")


def _timestamp(started: float) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(started))


def run_suites(inputs: BenchInputs, suites: Sequence[str],
               progress: ProgressLine) -> tuple[list[Figure], list[str]]:
    """The figures of ``suites`` run in order, and one line per suite that raised."""
    figures: list[Figure] = []
    failures: list[str] = []
    for name in suites:
        progress.start_suite(name)
        try:
            module = importlib.import_module(f"nvr.bench.{name}")
            result = list(module.run(inputs, progress.step))
            wrong = [item for item in result if not isinstance(item, Figure)]
            if wrong:
                raise TypeError(f"returned {type(wrong[0]).__name__}, not Figure")
            figures.extend(result)
        except Exception as error:  # one suite's failure must not stop the rest
            where = traceback.extract_tb(error.__traceback__)[-1]
            failure = (f"{name}: {type(error).__name__}: {error} "
                       f"({Path(where.filename).name}:{where.lineno})")
            failures.append(failure)
            progress.message(f"nvr bench: suite {failure}")
        progress.end_suite()
    progress.clear()
    return figures, failures


def run_bench(inputs: BenchInputs, *, out_dir: Path, suites: Sequence[str] | None = None,
              out: IO[str] | None = None, err: IO[str] | None = None) -> dict[str, Any]:
    """Run ``suites`` (all of ``SUITES`` by default, in that order) on ``inputs``, print the
    table, write ``bench-<timestamp>.json`` and ``.png`` into ``out_dir``; returns the run's
    document (its ``failures`` list names the suites that raised)."""
    out = out or sys.stdout
    chosen = [name for name in SUITES if suites is None or name in suites]
    unknown = sorted(set(suites or ()) - set(SUITES))
    if unknown:
        raise ValueError(f"unknown suite {', '.join(unknown)}: expected {', '.join(SUITES)}")
    started, clock = time.time(), time.monotonic()
    progress = ProgressLine(len(chosen), err)
    figures, failures = run_suites(inputs, chosen, progress)
    seconds = time.monotonic() - clock
    delegates = describe_delegates(inputs) if "detectors" in chosen else {}
    machine = report.machine_description(delegates)
    document = report.run_document(figures, machine, inputs, started, seconds, failures)
    report.print_table(figures, out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"bench-{_timestamp(started)}"
    for suffix in range(2, 100):  # two runs within a second keep both files
        if not stem.with_suffix(".json").exists():
            break
        stem = out_dir / f"bench-{_timestamp(started)}-{suffix}"
    json_path = report.write_json(document, stem.with_suffix(".json"))
    chart_path = report.write_chart(figures, stem.with_suffix(".png"), machine=machine)
    for failure in failures:
        print(f"failed: {failure}", file=out)
    print(f"\n{len(figures)} figures in {seconds:.0f} s on {machine['cpu']}\n"
          f"wrote {json_path} and {chart_path}", file=out)
    return document
