"""What a camera does right now: detection, clips and snapshots, each on or off.

The config sets them at start; MQTT commands (``<prefix>/<camera>/<switch>/set``) change them
while nvr runs, and ``/api/config`` shows the live values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from nvr.config.schema import CameraConfig

Switch = Literal["detect", "clips", "snapshots"]
SWITCHES: tuple[Switch, ...] = get_args(Switch)


@dataclass
class CameraSwitches:
    """A camera's live switches (read by the pipeline, the recorder and the clip builder)."""

    detect: bool
    clips: bool
    snapshots: bool

    @classmethod
    def of(cls, config: CameraConfig) -> CameraSwitches:
        return cls(config.detect.enabled, config.clips.enabled, config.snapshots.enabled)

    def get(self, switch: Switch) -> bool:
        return bool(getattr(self, switch))

    def set(self, switch: Switch, on: bool) -> None:
        setattr(self, switch, on)
