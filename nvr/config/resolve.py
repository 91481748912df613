"""Resolve a validated config: inheritance, defaults that depend on other keys,
environment substitution, absolute paths and checks across blocks."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from nvr.config.errors import ConfigError
from nvr.config.ffmpeg import default_input_args
from nvr.config.schema import (
    CameraConfig,
    CameraInputConfig,
    FilterConfig,
    MqttConfig,
    NvrConfig,
    ObjectsConfig,
)
from nvr.data import DATA_DIR

M = TypeVar("M", bound=BaseModel)

# Routes that win over /api/<camera>: a camera with one of these names could not be reached.
RESERVED_CAMERA_NAMES = frozenset({"events", "stats", "config", "version", "logs"})
ENV_PLACEHOLDER = re.compile(r"\{(FRIGATE_[A-Za-z0-9_]*|NVR_DATA)\}")


def inherit(base: M, override: M) -> M:
    """``override`` where the user wrote a key, ``base`` everywhere else."""
    written = override.model_fields_set
    return base.model_copy(update={key: getattr(override, key) for key in written})


def substitute_env(text: str, env: Mapping[str, str], where: str, problems: list[str]) -> str:
    """Replace ``{FRIGATE_*}`` (and ``{NVR_DATA}``) placeholders; an unset variable is a
    problem at ``where``."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            problems.append(f"{where}: environment variable {name} is not set")
            return match.group(0)
        return env[name]

    return ENV_PLACEHOLDER.sub(replace, text)


def _objects(global_objects: ObjectsConfig, camera_objects: ObjectsConfig) -> ObjectsConfig:
    merged = inherit(global_objects, camera_objects)
    labels = dict.fromkeys([*merged.track, *camera_objects.filters])
    filters = {
        label: inherit(
            global_objects.filters.get(label, FilterConfig()),
            camera_objects.filters.get(label, FilterConfig()),
        )
        for label in labels
    }
    return merged.model_copy(update={"filters": filters})


def _first_set(key: str, *levels: BaseModel) -> list[str] | None:
    return next((getattr(level, key) for level in levels if getattr(level, key) is not None), None)


def _inputs(config: NvrConfig, name: str, camera: CameraConfig, env: Mapping[str, str],
            problems: list[str]) -> list[CameraInputConfig]:
    """Inputs with their path substituted and args taken from input, camera or global."""
    resolved = []
    for index, camera_input in enumerate(camera.ffmpeg.inputs):
        where = f"cameras.{name}.ffmpeg.inputs[{index}].path"
        path = substitute_env(camera_input.path, env, where, problems)
        levels = (camera_input, camera.ffmpeg, config.ffmpeg)
        input_args = _first_set("input_args", *levels)
        resolved.append(camera_input.model_copy(update={
            "path": path,
            "global_args": _first_set("global_args", *levels),
            "hwaccel_args": _first_set("hwaccel_args", *levels),
            "input_args": default_input_args(path) if input_args is None else input_args,
        }))
    return resolved


def _camera(config: NvrConfig, name: str, camera: CameraConfig, env: Mapping[str, str],
            problems: list[str]) -> CameraConfig:
    motion = inherit(config.motion, camera.motion)
    detect = inherit(config.detect, camera.detect)
    ffmpeg = camera.ffmpeg
    if "output_args" not in ffmpeg.model_fields_set:
        ffmpeg = ffmpeg.model_copy(update={"output_args": config.ffmpeg.output_args})
    ffmpeg = ffmpeg.model_copy(update={"inputs": _inputs(config, name, camera, env, problems)})
    return camera.model_copy(update={
        "ffmpeg": ffmpeg,
        "objects": _objects(config.objects, camera.objects),
        "motion": motion.model_copy(update={
            "frame_height": motion.frame_height or max(camera.height // 6, 1),
        }),
        "detect": detect.model_copy(update={
            "max_disappeared": detect.max_disappeared or 5 * (camera.fps or 5),
        }),
        "record": inherit(config.record, camera.record),
        "clips": camera.clips.model_copy(update={
            "retain": inherit(config.clips.retain, camera.clips.retain),
        }),
        "snapshots": camera.snapshots.model_copy(update={
            "retain": inherit(config.snapshots.retain, camera.snapshots.retain),
        }),
    })


def _cross_checks(config: NvrConfig) -> list[str]:
    problems = []
    for name, camera in config.cameras.items():
        where = f"cameras.{name}"
        if name in RESERVED_CAMERA_NAMES:
            problems.append(f"{where}: '{name}' is reserved by the API (/api/{name})")
        for zone in camera.zones:
            if zone in config.cameras:
                problems.append(f"{where}.zones.{zone}: zone name '{zone}' is also a camera name")
        if config.mqtt is not None:  # each is a level of an MQTT topic
            names = [(f"{where}.zones.{zone}", zone) for zone in camera.zones]
            names += [(f"{where}.objects.track[{index}]", label)
                      for index, label in enumerate(camera.objects.track)]
            problems += [f"{key}: '{name}' cannot be part of an MQTT topic (no '+', '#' or '/')"
                         for key, name in names if set(name) & set("+#/\0")]
        for block in ("clips", "snapshots", "mqtt"):
            for index, zone in enumerate(getattr(camera, block).required_zones):
                if zone not in camera.zones:
                    problems.append(
                        f"{where}.{block}.required_zones[{index}]: no zone named '{zone}' "
                        "on this camera"
                    )
    return problems


def _absolute(path: str, base_dir: Path) -> str:
    return str((base_dir / Path(path).expanduser()).resolve())


def _mqtt(mqtt: MqttConfig, env: Mapping[str, str], base_dir: Path,
          problems: list[str]) -> MqttConfig:
    """The password with its placeholders filled; TLS files as absolute paths that exist."""
    update: dict[str, str] = {}
    if mqtt.password is not None:
        update["password"] = substitute_env(mqtt.password, env, "mqtt.password", problems)
    for key in ("tls_ca_certs", "tls_client_cert", "tls_client_key"):
        if (value := getattr(mqtt, key)) is not None:
            update[key] = _absolute(value, base_dir)
            if not Path(update[key]).is_file():
                problems.append(f"mqtt.{key}: no file at {update[key]}")
    return mqtt.model_copy(update=update)


def _ffmpeg_path(path: str | None, base_dir: Path, problems: list[str]) -> str | None:
    """``ffmpeg.path`` as an absolute file: a path is taken from ``base_dir``, a bare name is
    looked up on PATH."""
    if path is None:
        return None
    given = os.path.abspath(base_dir / Path(path).expanduser()) if "/" in path else path
    found = shutil.which(given)
    if found is None:
        problems.append(f"ffmpeg.path: no executable ffmpeg at {path}")
        return None
    return os.path.abspath(found)


def resolve(config: NvrConfig, source: str, base_dir: Path,
            environ: Mapping[str, str]) -> NvrConfig:
    """The config as the service uses it; raises ConfigError naming every problem.

    Relative paths are taken from ``base_dir`` (the config file's folder). Placeholders
    ``{FRIGATE_*}`` in input paths and the MQTT password come from ``environ`` and the
    config's own ``environment_vars``; the real environment wins. ``{NVR_DATA}`` is the folder
    of the files shipped with nvr (``nvr.data``: the default model, the demo's photo).
    """
    problems = _cross_checks(config)
    env = {key: value for key, value in {**config.environment_vars, **environ}.items()
           if key.startswith("FRIGATE_")}
    env["NVR_DATA"] = str(DATA_DIR)
    cameras = {name: _camera(config, name, camera, env, problems)
               for name, camera in config.cameras.items()}
    mqtt = None if config.mqtt is None else _mqtt(config.mqtt, env, base_dir, problems)
    ffmpeg = config.ffmpeg.model_copy(update={
        "path": _ffmpeg_path(config.ffmpeg.path, base_dir, problems)})
    if problems:
        raise ConfigError(source, problems)

    media = config.media.model_copy(update={
        key: _absolute(getattr(config.media, key), base_dir)
        for key in ("clips", "recordings", "cache")
    })
    database_path = config.database.path or str(Path(media.clips) / "frigate.db")
    model = config.model.model_copy(update={
        key: _absolute(value, base_dir)
        for key in ("path", "labelmap_path")
        if (value := getattr(config.model, key)) is not None
    })
    return config.model_copy(update={
        "cameras": cameras,
        "ffmpeg": ffmpeg,
        "mqtt": mqtt,
        "media": media,
        "model": model,
        "database": config.database.model_copy(
            update={"path": _absolute(database_path, base_dir)}
        ),
    })


def config_warnings(config: NvrConfig) -> list[str]:
    """What start-up warns about: roles that feed nothing, features no input feeds, and, in one
    line, the keys accepted for Frigate 0.8 compatibility that nvr ignores."""
    warnings = []
    for name, camera in config.cameras.items():
        roles = {role for camera_input in camera.ffmpeg.inputs for role in camera_input.roles}
        where = f"cameras.{name}"
        if "record" in roles and not camera.record.enabled:
            warnings.append(f"{where}: an input has the record role but record is disabled")
        for feature in ("clips", "record"):
            if getattr(camera, feature).enabled and feature not in roles:
                warnings.append(f"{where}: {feature} is enabled but no input has that role")
    ignored = ignored_keys(config)
    if ignored:
        warnings.append(f"ignored (nvr runs no RTMP server and caches segments in media.cache): "
                        f"{', '.join(ignored)}")
    return warnings


def ignored_keys(config: NvrConfig) -> list[str]:
    """The key paths the config sets that nvr accepts from Frigate 0.8 but does nothing with."""
    keys = []
    if config.clips.tmpfs_cache_size:
        keys.append("clips.tmpfs_cache_size")
    if "rtmp" in config.ffmpeg.output_args.model_fields_set:
        keys.append("ffmpeg.output_args.rtmp")
    for name, camera in config.cameras.items():
        where = f"cameras.{name}"
        output_args = camera.ffmpeg.output_args
        if output_args != config.ffmpeg.output_args and "rtmp" in output_args.model_fields_set:
            keys.append(f"{where}.ffmpeg.output_args.rtmp")
        keys += [f"{where}.ffmpeg.inputs[{index}].roles: rtmp"
                 for index, camera_input in enumerate(camera.ffmpeg.inputs)
                 if "rtmp" in camera_input.roles]
        if camera.rtmp.enabled:
            keys.append(f"{where}.rtmp.enabled")
    return keys
