"""nvr on MQTT: availability, the cameras' topics, stats and the switch commands
(Frigate 0.8: docs/compatibility.md#mqtt)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

import trio

from nvr.camera import Camera
from nvr.config.schema import MqttConfig
from nvr.mqtt.client import MqttClient
from nvr.mqtt.outbox import Message
from nvr.mqtt.topics import CameraTopics, ZoneCounts
from nvr.switches import SWITCHES, Switch
from nvr.tasks import run_every

log = logging.getLogger(__name__)

STATS_FIRST_AFTER = 10.0  # s after start of the first stats message, as Frigate 0.8


class MqttService:
    """What nvr publishes and obeys on the broker of ``config``."""

    def __init__(self, config: MqttConfig, cameras: Mapping[str, Camera],
                 stats: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self.prefix = prefix = config.topic_prefix
        self.config, self.cameras, self._stats = config, cameras, stats
        available = f"{prefix}/available"
        self.client = MqttClient(config, will=Message(available, b"offline", True, 1))
        self.outbox = self.client.outbox
        self.outbox.set_state(Message(available, b"online", True, 1))
        for switch in SWITCHES:
            self.client.subscribe(f"{prefix}/+/{switch}/set", self._command)

    def stats(self) -> dict[str, Any]:
        """``service.mqtt`` of /api/stats: connected, messages sent and dropped."""
        return self.client.stats()

    async def run(self) -> None:
        """Publish and obey until cancelled; the cameras' topics stop with it."""
        zones = ZoneCounts()
        publishers = {
            name: CameraTopics(self.prefix, name, camera.config, self.outbox, zones,
                               camera.label_color)
            for name, camera in self.cameras.items()
        }
        for name, camera in self.cameras.items():
            for switch in SWITCHES:
                self._publish_switch(name, switch)
            camera.frame_observers.append(publishers[name])
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.client.run)
                for publisher in publishers.values():
                    nursery.start_soon(publisher.run)
                nursery.start_soon(partial(run_every, "MQTT stats", self.config.stats_interval,
                                           self._publish_stats, first_after=STATS_FIRST_AFTER))
        finally:
            for name, camera in self.cameras.items():
                camera.frame_observers.remove(publishers[name])

    async def _publish_stats(self) -> None:
        document = json.dumps(await self._stats(), separators=(",", ":"))
        self.outbox.queue("stats", Message(f"{self.prefix}/stats", document.encode()))

    def _publish_switch(self, camera: str, switch: Switch) -> None:
        on = self.cameras[camera].switches.get(switch)
        self.outbox.set_state(Message(f"{self.prefix}/{camera}/{switch}/state",
                                      b"ON" if on else b"OFF", retain=True))

    def _command(self, topic: str, payload: bytes) -> None:
        """``<prefix>/<camera>/<switch>/set`` ON or OFF: switch it and echo the state."""
        name, switch = topic[len(self.prefix) + 1:].split("/")[:2]
        camera = self.cameras.get(name)
        if camera is None:
            log.warning("MQTT: %s: no camera named %r", topic, name)
            return
        assert switch in SWITCHES  # the subscriptions are for these only
        if payload not in (b"ON", b"OFF"):
            log.warning("MQTT: %s: unsupported payload %r (ON or OFF); nothing changed", topic,
                        payload[:40])
            return
        on = payload == b"ON"
        if on and not camera.supports(switch):
            log.warning("MQTT: %s: cannot turn %s on: %s", topic, switch,
                        "no detector runs (no camera has detect enabled in the config)"
                        if switch == "detect" else "no input of the camera has the clips role")
        elif camera.switches.get(switch) != on:
            camera.switches.set(switch, on)
            log.info("MQTT: camera %s: %s turned %s", name, switch, "on" if on else "off")
        self._publish_switch(name, switch)
