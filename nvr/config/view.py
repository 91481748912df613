"""The resolved config as clients see it: the JSON shape of Frigate 0.8's
(docs/compatibility.md#api), no secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nvr.config.ffmpeg import camera_commands
from nvr.config.schema import CameraConfig, MediaConfig, MqttConfig, NvrConfig
from nvr.config.secrets import REDACTED, Redactor


def _mask_list(mask: str | list[str] | None) -> list[str]:
    if mask is None:
        return []
    return [mask] if isinstance(mask, str) else list(mask)


def _camera_view(name: str, camera: CameraConfig, media: MediaConfig) -> dict[str, Any]:
    objects = camera.objects.model_dump()
    for label, label_filter in camera.objects.filters.items():
        objects["filters"][label]["mask"] = _mask_list(label_filter.mask)
    zones = {
        zone_name: {
            "coordinates": zone.coordinates,
            "filters": {label: {**zone_filter.model_dump(), "mask": []}
                        for label, zone_filter in zone.filters.items()},
        }
        for zone_name, zone in camera.zones.items()
    }
    return {
        "name": name,
        "width": camera.width,
        "height": camera.height,
        "fps": camera.fps,
        "best_image_timeout": camera.best_image_timeout,
        "zones": zones,
        **camera.model_dump(include={"clips", "record", "rtmp", "snapshots", "mqtt",
                                     "motion", "detect"}),
        "objects": objects,
        "frame_shape": [camera.height, camera.width],
        "ffmpeg_cmds": [
            {"roles": list(command.roles), "cmd": command.line}
            for command in camera_commands(name, camera, media)
        ],
    }


def config_view(config: NvrConfig, redactor: Redactor,
                switches: Mapping[str, Mapping[str, bool]] | None = None) -> dict[str, Any]:
    """The resolved config for /api/config and ``nvr check-config``, every string passed
    through ``redactor`` and every ``environment_vars`` value hidden; ``switches`` (camera ->
    block -> on) are the live ``enabled`` values of blocks that MQTT commands switch."""
    if config.mqtt is None:
        mqtt = {name: field.default for name, field in MqttConfig.model_fields.items()
                if name != "password"} | {"host": None}
    else:
        mqtt = config.mqtt.model_dump(exclude={"password"})
    cameras = {name: _camera_view(name, camera, config.media)
               for name, camera in config.cameras.items()}
    for name, live in (switches or {}).items():
        for block, on in live.items():
            cameras[name][block]["enabled"] = on
    return _redacted({
        "database": {"path": config.database.path},
        "model": config.model.model_dump(),
        "detectors": {name: detector.model_dump() for name, detector in config.detectors.items()},
        "mqtt": mqtt,
        "clips": config.clips.model_dump(),
        "snapshots": config.snapshots.model_dump(),
        "cameras": cameras,
        "logger": {
            "default": config.logger.default.upper(),
            "logs": {name: level.upper() for name, level in config.logger.logs.items()},
        },
        "environment_vars": dict.fromkeys(config.environment_vars, REDACTED),
        "web": config.web.model_dump(),
        "media": config.media.model_dump(),
    }, redactor)


def _redacted(value: Any, redactor: Redactor) -> Any:
    """``value`` with every string in it (keys too) passed through ``redactor``."""
    if isinstance(value, str):
        return redactor(value)
    if isinstance(value, dict):
        return {_redacted(key, redactor): _redacted(item, redactor)
                for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item, redactor) for item in value]
    return value
