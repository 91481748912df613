"""Detector workers: one OS thread per configured detector, fed by the Trio tasks of all cameras.

A detector (its interpreter) is created in, and only ever used by, its own thread (an
:class:`~nvr.owned_thread.OwnedThread`: requests go in through a queue, results come back
through the Trio token). A detector that raises is logged and replaced; one stuck in an
inference for longer than ``stuck_timeout`` is abandoned to its thread and replaced, like
Frigate 0.8's watchdog does.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import trio

from nvr.detection.detector import MIN_SCORE, Detection, Detector
from nvr.owned_thread import OwnedThread

log = logging.getLogger(__name__)

INITIAL_INFERENCE_SPEED = 10.0
"""ms: the starting value of the moving average, as in Frigate 0.8."""
RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 60.0
WATCHDOG_INTERVAL = 1.0
JOIN_TIMEOUT = 1.0
"""s: how long shutdown waits for a thread to finish its inference before leaving it."""

DetectorFactory = Callable[[], Detector]


class DetectorError(Exception):
    """A detection request failed: its detector raised, hung, stopped, or none is available."""


class _Request:
    """One ``detect`` call; finished exactly once, on the Trio thread."""

    __slots__ = ("cancelled", "done", "error", "min_score", "result", "tensor", "worker")

    def __init__(self, tensor: np.ndarray, min_score: float) -> None:
        self.tensor = tensor
        self.min_score = min_score
        self.done = trio.Event()
        self.result: list[Detection] = []
        self.error: DetectorError | None = None
        self.worker: DetectorWorker | None = None
        self.cancelled = False  # written by the caller, read by the thread: skip it

    def finish(self, result: list[Detection] | None, error: DetectorError | None = None) -> bool:
        """Complete the request; False (and nothing done) if it already was."""
        if self.done.is_set():
            return False
        if self.worker is not None:
            self.worker.pending -= 1
        self.result, self.error = result or [], error
        self.done.set()
        return True


class _Runner:
    """One thread and the detector it owns; replaced as a whole when either fails or hangs.

    The lock orders the thread's start and end of an inference against the watchdog retiring
    the runner, so a request is never lost between the two.
    """

    def __init__(self, worker: DetectorWorker, factory: DetectorFactory) -> None:
        self.worker = worker
        self.ready = trio.Event()
        self.exited = trio.Event()
        self.creation_error: Exception | None = None
        self.lost = trio.Event()
        self.retired = False
        self.current: _Request | None = None
        self.detection_start = 0.0
        self.began = 0.0  # monotonic twin of detection_start, for the watchdog
        self._lock = threading.Lock()
        self._factory = factory
        self.thread: OwnedThread[_Request] = OwnedThread(f"detector-{worker.name}", self._main)

    def _main(self, requests: Iterator[_Request]) -> None:
        try:
            try:
                detector = self._factory()
            except Exception as error:
                self.thread.answer(self._created, error.with_traceback(None))
                return
            self.thread.answer(self._created, None)
            self._serve(detector, requests)
            del detector  # released here, in the thread that used it
        finally:
            self.thread.answer(self.exited.set)

    def _created(self, error: Exception | None) -> None:
        self.creation_error = error
        self.ready.set()

    def _serve(self, detector: Detector, requests: Iterator[_Request]) -> None:
        for request in requests:
            with self._lock:
                if self.retired:
                    self.thread.answer(self.worker.hand_back, request)
                    return
                if request.cancelled:
                    self.thread.answer(request.finish, None)
                    continue
                self.current = request
                self.began = time.monotonic()
                self.detection_start = time.time()
            try:
                result = detector.detect(request.tensor, request.min_score)
                error = None
            except Exception as raised:
                log.exception("detector %r failed; restarting it", self.worker.name)
                result, error = None, raised.with_traceback(None)
            seconds = time.monotonic() - self.began
            with self._lock:
                self.current = None
                self.detection_start = 0.0
                retired = self.retired
            self.thread.answer(self.worker.delivered, self, request, result, error, seconds)
            if error is not None or retired:
                return

    def retire(self) -> _Request | None:
        """Stop the thread taking more requests; returns the one it is running, if any."""
        with self._lock:
            self.retired = True
            return self.current

    def stuck_request(self, timeout: float) -> _Request | None:
        """The request running for more than ``timeout`` s, after retiring the runner."""
        with self._lock:
            if self.current is None or time.monotonic() - self.began <= timeout:
                return None
            self.retired = True
            return self.current

    def drain(self) -> list[_Request]:
        """Requests still queued (the thread no longer takes any once retired)."""
        return self.thread.drain()


class DetectorWorker:
    """A configured detector: its current thread and the figures ``/api/stats`` reports.

    ``inference_speed`` is the moving average of the detect duration in ms, ``pending`` the
    requests queued or running, ``detection_start`` the epoch time the running inference
    began (0.0 when idle).
    """

    def __init__(self, name: str, factory: DetectorFactory,
                 redispatch: Callable[[_Request], None]) -> None:
        self.name = name
        self.inference_speed = INITIAL_INFERENCE_SPEED
        self.pending = 0
        self.completed = 0
        self.available = False
        self._factory = factory
        self._redispatch = redispatch
        self._runner: _Runner | None = None

    @property
    def detection_start(self) -> float:
        runner = self._runner
        return runner.detection_start if runner is not None and not runner.retired else 0.0

    def launch(self) -> _Runner:
        """Start a new thread, which creates the detector."""
        runner = _Runner(self, self._factory)
        self._runner = runner
        runner.thread.start()
        return runner

    async def ready(self) -> None:
        """Wait until the current thread's detector exists; DetectorError if it failed."""
        runner = self._runner
        assert runner is not None
        await runner.ready.wait()
        if runner.creation_error is not None:
            raise DetectorError(f"detector {self.name!r} could not be created: "
                                f"{runner.creation_error}") from runner.creation_error
        if runner is self._runner and not runner.retired:
            self.available = True

    def submit(self, request: _Request) -> None:
        """Queue ``request`` for the current thread (the pool checked ``available``)."""
        assert self._runner is not None
        request.worker = self
        self.pending += 1
        self._runner.thread.put(request)

    def delivered(self, runner: _Runner, request: _Request, result: list[Detection] | None,
                  error: Exception | None, seconds: float) -> None:
        """The thread's answer (run on the Trio thread). Late answers of a replaced thread
        find their request already failed and are dropped."""
        if error is not None:
            request.finish(None, DetectorError(f"detector {self.name!r} failed: {error}"))
            self._lose(runner)
            return
        if request.finish(result):
            self.completed += 1
            self.inference_speed = 0.9 * self.inference_speed + 0.1 * seconds * 1000

    def hand_back(self, request: _Request) -> None:
        """A request a retired thread took from its queue: send it elsewhere."""
        if not request.done.is_set():
            self.pending -= 1
            self._redispatch(request)

    def check_stuck(self, timeout: float) -> None:
        """Replace the thread if one inference has taken more than ``timeout`` s."""
        runner = self._runner
        if runner is None or runner.retired:
            return
        request = runner.stuck_request(timeout)
        if request is None:
            return
        log.error("detector %r stuck in one inference for more than %g s; abandoning its "
                  "thread and starting a new detector", self.name, timeout)
        request.finish(None, DetectorError(
            f"detector {self.name!r} did not answer within {timeout:g} s"))
        self._lose(runner)

    def _lose(self, runner: _Runner) -> None:
        if runner is not self._runner or runner.lost.is_set():
            return
        self.available = False
        runner.retire()
        for request in runner.drain():
            self.hand_back(request)
        runner.thread.close()  # wakes a thread still waiting for work
        runner.lost.set()

    async def supervise(self) -> None:
        """Start a fresh thread and detector whenever the current one is lost; a detector
        that cannot be created is retried with a doubling delay."""
        while True:
            assert self._runner is not None
            await self._runner.lost.wait()
            delay = RESTART_DELAY
            while True:
                self.launch()
                try:
                    await self.ready()
                    break
                except DetectorError as error:
                    log.error("%s; retrying in %g s", error, delay)
                    await trio.sleep(delay)
                    delay = min(2 * delay, MAX_RESTART_DELAY)
            log.info("detector %r restarted", self.name)

    def stop(self) -> _Runner | None:
        """Fail what is queued or running and let the thread end; returns the runner to wait
        for (None if there is none, or it was already abandoned)."""
        self.available = False
        runner = self._runner
        if runner is None or runner.lost.is_set():
            return None
        running = runner.retire()
        stopped = DetectorError(f"detector {self.name!r} stopped")
        if running is not None:
            running.finish(None, stopped)
        for request in runner.drain():
            request.finish(None, stopped)
        runner.thread.close()
        runner.lost.set()
        return runner


class DetectorPool:
    """The configured detectors, shared by all cameras: ``detect`` goes to the least busy.

    ``factories`` maps detector names to functions creating their ``Detector``; each is called
    in the detector's own thread. ``input_size`` is the ``(width, height)`` of the tensors.
    """

    def __init__(self, factories: dict[str, DetectorFactory], input_size: tuple[int, int], *,
                 stuck_timeout: float = 10.0) -> None:
        if not factories:
            raise ValueError("a detector pool needs at least one detector")
        self.input_size = input_size
        self.stuck_timeout = stuck_timeout
        self.workers = {name: DetectorWorker(name, factory, self._dispatch)
                        for name, factory in factories.items()}

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Create every detector (in parallel, each in its thread), report started once all
        are ready, then restart failed ones and watch for hung ones until cancelled.

        Raises DetectorError, before reporting started, if a detector cannot be created.
        """
        try:
            for worker in self.workers.values():
                worker.launch()
            for worker in self.workers.values():
                await worker.ready()
            log.info("detectors ready: %s", ", ".join(self.workers))
            async with trio.open_nursery() as nursery:
                for worker in self.workers.values():
                    nursery.start_soon(worker.supervise)
                nursery.start_soon(self._watchdog)
                task_status.started()
        finally:
            with trio.CancelScope(shield=True):
                await self._stop()

    async def detect(self, tensor: np.ndarray, min_score: float = MIN_SCORE) -> list[Detection]:
        """Objects in ``tensor`` (RGB uint8 of ``input_size``) scoring at least ``min_score``.

        The caller keeps ``tensor``: it is not used once this returns, except by a detector
        already abandoned or running for a cancelled caller, whose result is dropped.
        Raises DetectorError if the detector fails or hangs, or if none is available.
        """
        width, height = self.input_size
        if tensor.shape != (height, width, 3) or tensor.dtype != np.uint8:
            raise ValueError(f"detector input must be uint8 of shape ({height}, {width}, 3), "
                             f"got {tensor.dtype} of shape {tensor.shape}")
        worker = self._least_busy()
        if worker is None:
            raise DetectorError("no detector is available")
        request = _Request(tensor, min_score)
        worker.submit(request)
        try:
            await request.done.wait()
        finally:
            request.cancelled = not request.done.is_set()
        if request.error is not None:
            raise request.error
        return request.result

    def stats(self) -> dict[str, dict[str, Any]]:
        """The ``detectors`` block of ``/api/stats``."""
        pid = os.getpid()
        return {name: {"inference_speed": round(worker.inference_speed, 2),
                       "detection_start": worker.detection_start, "pid": pid}
                for name, worker in self.workers.items()}

    def _least_busy(self) -> DetectorWorker | None:
        available = [worker for worker in self.workers.values() if worker.available]
        return min(available, key=lambda worker: (worker.pending, worker.inference_speed),
                   default=None)

    def _dispatch(self, request: _Request) -> None:
        if request.cancelled:
            request.worker = None
            request.finish(None)
            return
        worker = self._least_busy()
        if worker is None:
            request.worker = None
            request.finish(None, DetectorError("no detector is available"))
        else:
            worker.submit(request)

    async def _watchdog(self) -> None:
        interval = min(WATCHDOG_INTERVAL, self.stuck_timeout / 5)
        while True:
            await trio.sleep(interval)
            for worker in self.workers.values():
                worker.check_stuck(self.stuck_timeout)

    async def _stop(self) -> None:
        runners = [runner for worker in self.workers.values()
                   if (runner := worker.stop()) is not None]
        with trio.move_on_after(JOIN_TIMEOUT):
            for runner in runners:
                await runner.exited.wait()
        for runner in runners:
            if runner.thread.is_alive():
                log.warning("detector %r still busy at shutdown; leaving its thread",
                            runner.worker.name)

