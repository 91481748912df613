"""The running service: one Trio tree holding the HTTP server, the event store, the detector
workers and the cameras."""

from __future__ import annotations

import errno
import logging
import os
import resource
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import hypercorn.config
import trio
from hypercorn.trio.run import worker_serve
from hypercorn.typing import ASGIFramework
from hypercorn.utils import wrap_app

from nvr.camera import Camera
from nvr.camera_tasks import run_camera
from nvr.config import ConfigError, NvrConfig
from nvr.config.ffmpeg import (
    decode_note,
    default_ffmpeg,
    ffmpeg_executable,
    ffmpeg_version,
    use_ffmpeg,
)
from nvr.config.schema import WebConfig
from nvr.config.secrets import Redactor
from nvr.detection.frame import FrameDetector
from nvr.detection.labels import load_labels
from nvr.detection.setup import DetectorSetup, detector_setup, detects, model_files
from nvr.detection.workers import DetectorError, DetectorPool
from nvr.events.retention import run_retention
from nvr.events.store import EventStore, EventStoreError
from nvr.mqtt.service import MqttService
from nvr.recording.disk_guard import guard_disk
from nvr.recording.maintenance import maintain_cache
from nvr.recording.recordings import run_recordings
from nvr.render.event_images import RGB, LiveEvent
from nvr.render.overlays import TAB10, label_colors
from nvr.stats import stats_document
from nvr.tasks import restart_forever
from nvr.version import version_string
from nvr.web import connections
from nvr.web.app import create_app

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The service cannot start (for a reason other than the config file)."""


@dataclass
class Service:
    """What HTTP handlers read: the config and the live state of the service.

    ``store`` and ``detectors`` are set while ``run_pipelines`` runs, ``mqtt`` while it runs
    with an ``mqtt:`` block; ``source`` names the config file in errors.
    """

    config: NvrConfig
    source: str = "config"
    version: str = field(default_factory=version_string)
    started_at: float = field(default_factory=time.monotonic)
    cameras: dict[str, Camera] = field(init=False)
    database_path: str = field(init=False)
    redactor: Redactor = field(init=False)
    store: EventStore | None = None
    detectors: DetectorPool | None = None
    mqtt: MqttService | None = None
    # Where in a frame the detectors are called; ``nvr bench`` gives its baselines here.
    frame_detector: type[FrameDetector] = FrameDetector

    def __post_init__(self) -> None:
        self.redactor = Redactor.of(self.config, os.environ)
        colors = _label_colors(self.config)
        assert self.config.database.path is not None  # the resolved config has one
        self.database_path = self.config.database.path
        best_images = Path(self.database_path).parent / "best"
        self.cameras = {
            name: Camera(name, camera, self.config.media, self.config.ffmpeg.stall_timeout,
                         label_color=colors, best_folder=best_images / name,
                         clips_max_seconds=self.config.clips.max_seconds,
                         can_detect=detects(self.config))
            for name, camera in self.config.cameras.items()
        }

    def tracked_object(self, event_id: str) -> LiveEvent | None:
        """The event ``event_id`` while its object is still tracked on some camera."""
        for camera in self.cameras.values():
            if (live := camera.live_event(event_id)) is not None:
                return live
        return None

    def switches(self) -> dict[str, dict[str, bool]]:
        """Each camera's live detect, clips and snapshots switches."""
        return {name: asdict(camera.switches) for name, camera in self.cameras.items()}

    async def stats(self) -> dict[str, Any]:
        """The /api/stats document (also published over MQTT)."""
        cameras = {name: camera.stats() for name, camera in self.cameras.items()}
        detectors = None if self.detectors is None else self.detectors.stats()
        # statvfs can hang on a network share: keep it off the event loop.
        document = await trio.to_thread.run_sync(
            stats_document, self.config, cameras, self.started_at, self.version, detectors)
        if self.mqtt is not None:
            document["service"]["mqtt"] = self.mqtt.stats()
        return document

    async def run_pipelines(self, *, cameras: bool = True,
                            task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the event store, start the detectors and run the cameras until cancelled."""
        detectors = None
        if cameras and detects(self.config):
            # Loads the model once to check it: a missing or broken one stops start-up here.
            detectors = await trio.to_thread.run_sync(detector_setup, self.config, self.source)
        try:
            async with EventStore.open(self.database_path) as store:
                await self._run_with_store(store, detectors, cameras, task_status)
        except EventStoreError as error:  # raised by open(), before any task started
            raise StartupError(str(error)) from None

    async def _maintain_cache(self) -> None:
        caches = [camera.cache for camera in self.cameras.values() if camera.cache is not None]
        if not caches:
            return
        max_seconds = self.config.clips.max_seconds
        await maintain_cache(
            caches, folder=self.config.media.cache, max_bytes=None,
            min_free_bytes=CACHE_MIN_FREE, interval=5.0,
            keep_from=lambda name: self.cameras[name].segments_needed_from(time.time(),
                                                                           max_seconds),
        )

    async def _run_with_store(self, store: EventStore, detectors: DetectorSetup | None,
                              cameras: bool, task_status: trio.TaskStatus[None]) -> None:
        """Every long-running task is started through ``restart_forever``: a failure is logged
        and that task alone restarted (``nvr.tasks``); only cancellation ends them."""
        self.store = store
        config = self.config

        def supervised(what: str, run: Callable[..., Awaitable[object]], *args: object) -> None:
            nursery.start_soon(partial(restart_forever, what, partial(run, *args), logger=log))

        try:
            async with trio.open_nursery() as nursery:
                supervised("retention", run_retention, config, store)
                supervised("disk guard", guard_disk, config, store)
                if cameras:
                    supervised("recordings", run_recordings, config)
                    supervised("cache maintenance", self._maintain_cache)
                if detectors is not None:
                    pool = DetectorPool(detectors.factories, detectors.input_size)
                    try:
                        await nursery.start(pool.run)
                    except DetectorError as error:
                        raise StartupError(f"cannot start the detectors: {error}") from None
                    self.detectors = pool
                if cameras:
                    for name, camera in self.cameras.items():
                        supervised(f"camera {name}", run_camera, camera, self.detectors, store,
                                   self.frame_detector)
                if cameras and config.mqtt is not None:
                    self.mqtt = MqttService(config.mqtt, self.cameras, self.stats)
                    supervised("mqtt", self.mqtt.run)
                task_status.started()
        finally:
            self.store = self.detectors = self.mqtt = None


CACHE_MIN_FREE = 200_000_000  # bytes left free on the cache's filesystem (as Frigate 0.8)


def _label_colors(config: NvrConfig) -> Callable[[str], RGB]:
    """Box colours by label, from the model's label file when there is one."""
    try:
        colors = label_colors(load_labels(model_files(config)[1]))
    except (OSError, ValueError, ConfigError):
        colors = {}
    return lambda label: colors.get(label, TAB10[0])


def prepare_media_folders(config: NvrConfig, source: str, *, create: bool = True) -> None:
    """Create the media folders if missing (``create`` False: only check that they could be);
    a folder that cannot be made or written is a config error."""
    problems = []
    for key in ("clips", "recordings", "cache"):
        folder = Path(getattr(config.media, key))
        try:
            if create:
                folder.mkdir(parents=True, exist_ok=True)
            else:
                _check_creatable(folder)
        except OSError as error:
            problems.append(f"media.{key}: cannot create {folder}: {error.strerror}")
    if problems:
        raise ConfigError(source, problems)


def _check_creatable(folder: Path) -> None:
    """Raise the OSError that making ``folder`` (and writing in it) would raise."""
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not existing.is_dir():
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))


HTTP_BACKLOG = 100


def raise_open_file_limit() -> None:
    """Let nvr open as many descriptors as the system allows it (the soft limit, often 1024,
    raised to the hard one): connections, segments and ffmpeg pipes all need them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def bind_http(web: WebConfig) -> socket.socket:
    """A socket listening on ``web.host:web.port``, bound before anything slow starts so that a
    port in use stops start-up at once. Raises StartupError naming the keys."""
    address = f"[{web.host}]:{web.port}" if ":" in web.host else f"{web.host}:{web.port}"
    listener = socket.socket(socket.AF_INET6 if ":" in web.host else socket.AF_INET)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        listener.bind((web.host, web.port))
        listener.listen(HTTP_BACKLOG)
    except OSError as error:
        listener.close()
        raise StartupError(f"cannot listen on {address} (web.host, web.port): "
                           f"{error.strerror or error}") from None
    return listener


async def serve_http(app: ASGIFramework, listener: socket.socket, web: WebConfig, *,
                     task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve ``app`` on ``listener`` (from ``bind_http``) until cancelled; reports the bound
    URLs through ``task_status``. The caller closes ``listener`` when this returns. An idle
    keep-alive connection is closed after ``web.keep_alive_timeout`` s; connections are capped
    (``nvr.web.connections``)."""
    connections.install(web)
    config = hypercorn.config.Config()
    config.keep_alive_timeout = web.keep_alive_timeout
    config.accesslog = None
    config.errorlog = logging.getLogger("nvr.http")
    # hypercorn.trio.serve binds sockets of its own; its worker serves ready ones.
    sockets = hypercorn.config.Sockets(secure_sockets=[], insecure_sockets=[listener],
                                       quic_sockets=[])
    await worker_serve(wrap_app(app, config.wsgi_max_body_size, None), config,
                       sockets=sockets, task_status=task_status)


async def _cancel_on_signal(cancel_scope: trio.CancelScope, *,
                            task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for signum in signals:
            log.info("received %s, shutting down", signal.Signals(signum).name)
            cancel_scope.cancel()
            return


async def run(config: NvrConfig, source: str = "config") -> None:
    """Run the service until SIGINT or SIGTERM, then cancel everything and return.

    ``source`` names the config file in errors."""
    raise_open_file_limit()
    listener = bind_http(config.web)
    try:
        use_ffmpeg(config.ffmpeg.path)
        executable = ffmpeg_executable()
        log.info("ffmpeg %s: %s (%s)", await trio.to_thread.run_sync(ffmpeg_version, executable),
                 executable, "ffmpeg.path" if config.ffmpeg.path else default_ffmpeg().label)
        for name, camera in config.cameras.items():
            log.info("%s: %s", name, decode_note(camera))
        service = Service(config, source)
        app = create_app(service)
        async with trio.open_nursery() as nursery:
            await nursery.start(_cancel_on_signal, nursery.cancel_scope)
            # A missing model or a broken detector stops start-up here, before serving.
            await nursery.start(service.run_pipelines)
            urls = await nursery.start(serve_http, app, listener, config.web)
            log.info("nvr %s serving on %s", service.version, ", ".join(urls))
    except* (StartupError, ConfigError) as group:
        error: BaseException = group
        while isinstance(error, BaseExceptionGroup):
            error = error.exceptions[0]
        raise error from None
    finally:
        listener.close()
    log.info("stopped")
