"""The running service: one Trio tree holding the HTTP server (and, later, the cameras)."""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import hypercorn.config
import hypercorn.trio
import trio

from nvr.camera import Camera
from nvr.config import ConfigError, NvrConfig
from nvr.config.schema import WebConfig
from nvr.version import version_string

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The service cannot start (for a reason other than the config file)."""


@dataclass
class Service:
    """What HTTP handlers read: the config and the live state of the service."""

    config: NvrConfig
    version: str = field(default_factory=version_string)
    started_at: float = field(default_factory=time.monotonic)
    cameras: dict[str, Camera] = field(init=False)

    def __post_init__(self) -> None:
        self.cameras = {
            name: Camera(name, camera, self.config.media, self.config.ffmpeg.stall_timeout)
            for name, camera in self.config.cameras.items()
        }


def prepare_media_folders(config: NvrConfig, source: str) -> None:
    """Create the media folders if missing; a folder that cannot be made is a config error."""
    problems = []
    for key in ("clips", "recordings", "cache"):
        folder = Path(getattr(config.media, key))
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            problems.append(f"media.{key}: cannot create {folder}: {error.strerror}")
    if problems:
        raise ConfigError(source, problems)


async def serve_http(app: object, web: WebConfig, *,
                     task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve ``app`` on ``web.host:web.port``; reports the bound URLs through ``task_status``."""
    config = hypercorn.config.Config()
    config.bind = [f"[{web.host}]:{web.port}" if ":" in web.host else f"{web.host}:{web.port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("nvr.http")
    try:
        await hypercorn.trio.serve(app, config, task_status=task_status)
    except* OSError as group:
        error = group.exceptions[0]
        raise StartupError(
            f"cannot listen on {config.bind[0]}: {getattr(error, 'strerror', None) or error}"
        ) from None


async def _cancel_on_signal(cancel_scope: trio.CancelScope, *,
                            task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for signum in signals:
            log.info("received %s, shutting down", signal.Signals(signum).name)
            cancel_scope.cancel()
            return


async def run(config: NvrConfig) -> None:
    """Run the service until SIGINT or SIGTERM, then cancel everything and return."""
    from nvr.web.app import create_app

    service = Service(config)
    app = create_app(service)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(_cancel_on_signal, nursery.cancel_scope)
            urls = await nursery.start(serve_http, app, config.web)
            log.info("nvr %s serving on %s", service.version, ", ".join(urls))
            for camera in service.cameras.values():
                nursery.start_soon(camera.run)
    except* StartupError as group:
        raise group.exceptions[0] from None
    log.info("stopped")
