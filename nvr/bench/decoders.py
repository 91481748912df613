"""ffmpeg per camera: decode CPU and memory of each ffmpeg binary at one and at auto threads.

Each binary nvr can run (``nvr.config.ffmpeg.ffmpeg_candidates``: the imageio-ffmpeg
wheel's, the one on PATH) runs the detect command nvr builds for a camera reading the video
in real time at ``FPS`` fps, with ``-threads 1`` and with ffmpeg's automatic thread count, as
``COPIES`` cameras at once; the variants take turns, round after round. Figures per camera:
CPU seconds per second of its ffmpeg and its anonymous resident memory (heap and frame
buffers, not the shared libraries), each against what nvr runs by default.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
from functools import partial
from pathlib import Path

import trio

from nvr.bench.footage import FPS, service_config
from nvr.bench.model import BenchInputs, Figure, Progress, Stat
from nvr.bench.procfs import anon_bytes, cpu_seconds
from nvr.bench.workload import probe
from nvr.config.ffmpeg import camera_commands, default_ffmpeg, ffmpeg_candidates, with_threads

GROUP = "ffmpeg"
WARM_UP = 2.0  # s after start before measuring: ffmpeg has opened the file and filled buffers
COPIES = 4  # cameras per variant, run at once


async def _drain(stream: trio.abc.ReceiveStream) -> None:
    while await stream.receive_some(1 << 20):
        pass


async def decode_cost(argv: list[str], copies: int, seconds: float) -> tuple[float, float]:
    """CPU seconds per second and anonymous resident MB per ffmpeg, of ``copies`` ffmpeg
    processes running ``argv`` at once (their output read and dropped) for ``seconds`` after
    a warm-up (several: /proc counts CPU time in 10 ms ticks)."""
    async with trio.open_nursery() as nursery:
        processes = []
        for _ in range(copies):
            process = await nursery.start(partial(
                trio.run_process, argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                check=False))
            assert process.stdout is not None
            nursery.start_soon(_drain, process.stdout)
            processes.append(process)
        await trio.sleep(WARM_UP)
        pids = [process.pid for process in processes]
        start_cpu, start = sum(map(cpu_seconds, pids)), trio.current_time()
        await trio.sleep(seconds)
        cpu = (sum(map(cpu_seconds, pids)) - start_cpu) / (trio.current_time() - start)
        memory = sum(map(anon_bytes, pids)) / 1e6
        for process in processes:
            process.terminate()
    return cpu / copies, memory / copies


def _without_threads(argv: list[str]) -> list[str]:
    if "-threads" not in argv:
        return argv
    index = argv.index("-threads")
    return argv[:index] + argv[index + 2:]


def _variants(argv: list[str]) -> tuple[dict[str, list[str]], str]:
    """The argument vectors measured, by name (each binary at auto and one thread), and the
    name of the one nvr runs by default."""
    variants, default = {}, ""
    for binary in ffmpeg_candidates():
        auto = [binary.path, *_without_threads(argv)[1:]]
        for name, command in ((f"{binary.label} ffmpeg, auto threads", auto),
                              (f"{binary.label} ffmpeg, -threads 1", with_threads(auto, 1))):
            variants[name] = command
            if binary == default_ffmpeg() and command[1:] == argv[1:]:
                default = name
    return variants, default


async def _measure(inputs: BenchInputs, seconds: float, rounds: int,
                   progress: Progress) -> list[Figure]:
    video = probe(inputs.video)
    with tempfile.TemporaryDirectory(prefix="nvr-bench-ffmpeg-") as folder:
        config = service_config(Path(folder), inputs.video, video, inputs.model, inputs.labels,
                                1, detect=False, offsets=[0.0])
        [(name, camera)] = config.cameras.items()
        [command] = camera_commands(name, camera, config.media)
    variants, default = _variants(list(command.detect_argv))
    progress(f"ffmpeg: {COPIES} cameras decoding {video.size} at {video.fps:g} fps to {FPS} "
             f"fps, {len(variants)} variants x {rounds} rounds")
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, argv in variants.items():
            runs[name].append(await decode_cost(argv, COPIES, seconds))
    reference_cpu = Stat.of([cpu for cpu, _ in runs[default]])
    reference_memory = Stat.of([memory for _, memory in runs[default]])
    reference_name = f"nvr's default ({default})"
    figures = []
    for name, values in runs.items():
        cpu, memory = Stat.of([cpu for cpu, _ in values]), Stat.of([mb for _, mb in values])
        other = name != default
        figures += [
            Figure(GROUP, f"decode CPU per camera, {name}", "CPU s/s", cpu,
                   reference_cpu if other else None, reference_name if other else None),
            Figure(GROUP, f"decode memory per camera (anon RSS), {name}", "MB", memory,
                   reference_memory if other else None, reference_name if other else None),
        ]
    progress("ffmpeg: " + ", ".join(
        f"{name} {statistics.median(c for c, _ in values):.4f} CPU s/s"
        for name, values in runs.items()))
    return figures


def run(inputs: BenchInputs, progress: Progress) -> list[Figure]:
    """Decode cost per camera of each ffmpeg binary at one and at auto threads."""
    seconds, rounds = (4.0, 2) if inputs.quick else (10.0, 5)
    return trio.run(_measure, inputs, seconds, rounds, progress)
