"""``nvr run`` with a real mosquitto broker on loopback and the real footage: every topic of
Frigate 0.8's MQTT contract as Home Assistant's integration and users' automations read it
(docs/compatibility.md#mqtt), the switches, and a broker that is down, restarted, refuses the
credentials or speaks TLS."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
import simplejpeg

from broker import Broker, CertificateAuthority, Watcher
from support import FOOTAGE, camera, events, poll, service_config, shared_file, start, stop

pytestmark = pytest.mark.slow

ZONE = "    zones:\n      porch: {coordinates: '0,0,768,0,768,432,0,432'}\n"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    running = Broker(tmp_path)
    running.start()
    yield running
    running.stop()


def stats(url: str) -> dict:
    return httpx.get(f"{url}/api/stats", timeout=10).json()


def test_the_topics_of_one_person_walking_through(broker: Broker,
                                                  write_config: Callable[..., Path]) -> None:
    # One person from 74.5 s to 86.5 s of the footage, then nobody; read at twice real time.
    cameras = camera("door", shared_file(FOOTAGE), "-readrate 2 -ss 72 -t 20", 768, 432, ZONE)
    config, _ = service_config(write_config, cameras,
                               broker.mqtt_yaml(extra=", stats_interval: 3"))
    watcher = Watcher(broker)
    started = time.monotonic()
    process = start(config)
    try:
        poll(process, lambda: watcher.last("frigate/events") is not None
             and json.loads(watcher.last("frigate/events"))["type"] == "end", 90,
             "the end of the person's event")
        poll(process, lambda: len(watcher.on("frigate/stats")) >= 2, 30, "two stats messages")
        # The will: a SIGKILL leaves "offline" with the broker, retained.
        process.kill()
        process.wait(10)
        watcher.wait(lambda: watcher.last("frigate/available") == b"offline", 10,
                     "the will")
    finally:
        if process.poll() is None:
            process.kill()
    watcher.close()

    assert watcher.on("frigate/available")[0].payload == b"online"
    # The switches as the config sets them (this camera makes no clips).
    assert [watcher.last(f"frigate/door/{switch}/state")
            for switch in ("detect", "clips", "snapshots")] == [b"ON", b"OFF", b"ON"]
    # The footage starts again once read: what came up to the first person's end.
    [ended] = [message for message in watcher.on("frigate/events")
               if json.loads(message.payload)["type"] == "end"][:1]
    # Counts: from 0 at start, 1 while the person is there, 0 after; the zone alike.
    for topic in ("frigate/door/person", "frigate/porch/person"):
        counts = [message.payload for message in watcher.on(topic) if message.at <= ended.at]
        assert counts[0] == b"0" and b"1" in counts and counts[-1] == b"0", (topic, counts)
    # The best snapshot: a JPEG of the camera's mqtt height (270), retained.
    snapshots = watcher.on("frigate/door/person/snapshot")
    assert snapshots
    assert simplejpeg.decode_jpeg(snapshots[-1].payload).shape[0] == 270
    # Events: new, then updates, then end, all of the same object, each "before" the last
    # "after".
    sent = [json.loads(message.payload) for message in watcher.on("frigate/events")
            if message.at <= ended.at]
    assert sent[0]["type"] == "new" and sent[-1]["type"] == "end"
    assert len({event["after"]["id"] for event in sent}) == 1
    assert all(later["before"] == earlier["after"] for earlier, later in pairwise(sent))
    end = sent[-1]["after"]
    assert end["label"] == "person" and end["camera"] == "door"
    assert end["entered_zones"] == ["porch"] and end["end_time"] > end["start_time"]
    # Stats: the /api/stats document, first 10 s after start, then every stats_interval.
    first, second = watcher.on("frigate/stats")[:2]
    assert first.at - started >= 10
    assert 2 <= second.at - first.at <= 4.5
    document = json.loads(second.payload)
    assert list(document) == ["door", "detection_fps", "detectors", "service"]
    assert document["service"]["mqtt"]["connected"] is True

    # Retained: what a client connecting now gets.
    retained = {"frigate/available", "frigate/door/person/snapshot",
                "frigate/door/detect/state", "frigate/door/clips/state",
                "frigate/door/snapshots/state"}
    late = Watcher(broker)
    late.wait(lambda: {message.topic for message in late.messages} >= retained, 10,
              "the retained messages")
    time.sleep(0.5)  # nothing else comes
    assert all(message.retain for message in late.messages)
    assert {message.topic for message in late.messages} == retained
    assert late.last("frigate/available") == b"offline"
    late.close()


def test_switches_obey_commands_and_retained_ones_are_reapplied_at_start(
        broker: Broker, write_config: Callable[..., Path]) -> None:
    # Home Assistant publishes its commands retained: this one is there before nvr starts.
    broker.publish("frigate/door/detect/set", "OFF", retain=True)
    cameras = camera("door", shared_file(FOOTAGE), "-readrate 2 -stream_loop -1", 768, 432)
    config, url = service_config(write_config, cameras, broker.mqtt_yaml())
    watcher = Watcher(broker)
    process = start(config)
    try:
        poll(process, lambda: watcher.last("frigate/door/detect/state") == b"OFF"
             and stats(url)["door"]["camera_fps"] > 0, 60, "detection switched off")
        time.sleep(11)  # past the 10 s rate window; people walk through, nothing is detected
        assert stats(url)["door"]["detection_fps"] == 0
        assert httpx.get(f"{url}/api/config").json()["cameras"]["door"]["detect"]["enabled"] \
            is False

        broker.publish("frigate/door/detect/set", "maybe")  # not ON or OFF: nothing changes
        broker.publish("frigate/door/snapshots/set", "OFF")
        broker.publish("frigate/door/detect/set", "ON", retain=True)
        poll(process, lambda: watcher.last("frigate/door/detect/state") == b"ON"
             and stats(url)["door"]["detection_fps"] > 0, 30, "detection switched on")
        view = httpx.get(f"{url}/api/config").json()["cameras"]["door"]
        assert view["detect"]["enabled"] is True and view["snapshots"]["enabled"] is False
        assert watcher.last("frigate/door/snapshots/state") == b"OFF"
        # With snapshots off, the next event ends without one.
        poll(process, lambda: bool(events(url, camera="door")), 90, "an ended event")
        assert events(url, camera="door")[0]["has_snapshot"] is False
    finally:
        output = stop(process)
    assert "frigate/door/detect/set: unsupported payload b'maybe'" in output
    # A clean stop says so itself, as the will would.
    watcher.wait(lambda: watcher.last("frigate/available") == b"offline", 10, "offline")
    assert watcher.on("frigate/door/detect/state")[-1].payload == b"ON"
    watcher.close()


def test_a_broker_down_at_start_and_restarted_later_never_stops_nvr(
        tmp_path: Path, write_config: Callable[..., Path]) -> None:
    broker = Broker(tmp_path)  # not started yet
    cameras = camera("door", shared_file(FOOTAGE), "-readrate 2 -stream_loop -1", 768, 432)
    config, url = service_config(write_config, cameras, broker.mqtt_yaml())
    process = start(config)
    try:
        poll(process, lambda: stats(url)["door"]["detection_fps"] > 0, 60, "detection")
        assert stats(url)["service"]["mqtt"]["connected"] is False
        time.sleep(4)  # several retries (1 s, 2 s...): still one log line
        broker.start()
        watcher = Watcher(broker)
        poll(process, lambda: stats(url)["service"]["mqtt"]["connected"], 30, "a connection")
        watcher.wait(lambda: watcher.last("frigate/available") == b"online", 10, "online")
        # The broker goes away (killed) while events go on, and comes back.
        broker.stop()
        watcher.close()
        poll(process, lambda: not stats(url)["service"]["mqtt"]["connected"], 30, "the loss")
        ended_before = len(events(url, camera="door"))
        poll(process, lambda: len(events(url, camera="door")) > ended_before, 120,
             "an event ended while the broker was away")
        broker.start()
        watcher = Watcher(broker)
        poll(process, lambda: stats(url)["service"]["mqtt"]["connected"], 90, "a reconnection")
        # Availability, switch states and counts are published again.
        watcher.wait(lambda: watcher.last("frigate/available") == b"online"
                     and watcher.last("frigate/door/detect/state") == b"ON"
                     and watcher.last("frigate/door/person") is not None, 10, "the states")
        watcher.close()
    finally:
        output = stop(process)
        broker.stop()
    # One line per change of state, not per retry: down at start (retried several times),
    # connected, lost, perhaps down again (if a retry came before the broker was back),
    # connected.
    assert 1 <= output.count("MQTT: cannot connect to") <= 2, output
    assert output.count("MQTT: connected to") == 2
    assert output.count("MQTT: lost the connection") == 1


def test_a_stalled_broker_holds_nothing_up(broker: Broker,
                                           write_config: Callable[..., Path]) -> None:
    cameras = camera("door", shared_file(FOOTAGE), "-readrate 2 -stream_loop -1", 768, 432)
    config, url = service_config(write_config, cameras, broker.mqtt_yaml())
    watcher = Watcher(broker)
    process = start(config)
    try:
        poll(process, lambda: stats(url)["service"]["mqtt"]["connected"]
             and stats(url)["door"]["detection_fps"] > 0, 60, "detection and MQTT")
        ended_before = len(events(url, camera="door"))
        broker.pause()  # the broker reads nothing: what nvr sends waits in the socket
        poll(process, lambda: len(events(url, camera="door")) > ended_before, 120,
             "an event ended while the broker was stalled")
        assert stats(url)["door"]["camera_fps"] > 0
        resumed = time.monotonic()
        broker.resume()
        watcher.wait(lambda: any(json.loads(message.payload)["type"] == "end"
                                 for message in watcher.on("frigate/events")
                                 if message.at > resumed), 30,
                     "the end sent while the broker was stalled")
        assert stats(url)["service"]["mqtt"]["connected"] is True
    finally:
        broker.resume()
        stop(process)
    watcher.close()


def test_wrong_credentials_are_logged_once_and_nvr_serves_on(
        tmp_path: Path, write_config: Callable[..., Path]) -> None:
    broker = Broker(tmp_path, password="right")
    broker.start()
    cameras = camera("door", shared_file(FOOTAGE), "-readrate 2 -stream_loop -1", 768, 432)
    config, url = service_config(write_config, cameras, broker.mqtt_yaml(password="wrong"))
    process = start(config)
    try:
        poll(process, lambda: stats(url)["door"]["camera_fps"] > 0, 60, "frames")
        time.sleep(4)  # a few retries
        assert stats(url)["service"]["mqtt"]["connected"] is False
    finally:
        output = stop(process)
        broker.stop()
    refused = [line for line in output.splitlines() if "MQTT:" in line]
    assert len(refused) == 1, output
    assert "refused the connection: Not authorized" in refused[0]


def test_mqtt_5_over_tls_with_client_certificates(
        tmp_path: Path, write_config: Callable[..., Path]) -> None:
    ca = CertificateAuthority(tmp_path)
    broker = Broker(tmp_path, tls=ca)
    broker.start()
    cameras = camera("door", shared_file(FOOTAGE), "-readrate 2 -stream_loop -1", 768, 432)
    config, url = service_config(write_config, cameras,
                                 broker.mqtt_yaml(extra=f", protocol: 5, tls_ca_certs: '{ca.ca}', "
                                                  f"tls_client_cert: '{ca.client_cert}', "
                                                  f"tls_client_key: '{ca.client_key}'"))
    watcher = Watcher(broker)
    process = start(config)
    try:
        watcher.wait(lambda: watcher.last("frigate/available") == b"online", 60,
                     "online over TLS")
        assert stats(url)["service"]["mqtt"]["connected"] is True
        # Another client with nvr's client id takes the session over; nvr comes back once the
        # other has gone (ever more slowly while they take turns).
        intruder = Watcher(broker, client_id="frigate", protocol=5)
        poll(process, lambda: not stats(url)["service"]["mqtt"]["connected"], 30, "the take-over")
        intruder.close()
        poll(process, lambda: stats(url)["service"]["mqtt"]["connected"], 90, "a reconnection")
        # A clean broker restart.
        broker.stop(graceful=True)
        poll(process, lambda: not stats(url)["service"]["mqtt"]["connected"], 30, "the loss")
        broker.start()
        poll(process, lambda: stats(url)["service"]["mqtt"]["connected"], 90, "a reconnection")
    finally:
        output = stop(process)
        broker.stop()
    watcher.close()
    assert "Traceback" not in output and "MQTT: lost the connection" in output, output
