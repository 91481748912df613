"""The MQTT client against a broker that says DISCONNECT (MQTT 5), which mosquitto 2.0 does
not send on a restart or a take-over but other brokers do: a minimal peer on loopback plays
that broker."""

from __future__ import annotations

import logging
from functools import partial

import pytest
import trio

from nvr.config.schema import MqttConfig
from nvr.mqtt.client import MqttClient

CONNACK = b"\x20\x03\x00\x00\x00"  # MQTT 5: no session, success, no properties
DISCONNECT = b"\xe0\x02\x8b\x00"  # MQTT 5: reason 0x8b, server shutting down


async def test_a_disconnect_from_an_mqtt_5_broker_is_a_loss_and_nvr_comes_back(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="nvr.mqtt")
    connections = 0
    connected_again = trio.Event()

    async def broker(stream: trio.SocketStream) -> None:
        nonlocal connections
        connections += 1
        await stream.receive_some(4096)  # CONNECT
        await stream.send_all(CONNACK + (DISCONNECT if connections == 1 else b""))
        if connections > 1:
            connected_again.set()
        while await stream.receive_some(4096):  # whatever nvr sends, until it goes
            pass

    async with trio.open_nursery() as nursery:
        [listener] = await nursery.start(partial(trio.serve_tcp, broker, 0, host="127.0.0.1"))
        port = listener.socket.getsockname()[1]
        client = MqttClient(MqttConfig(host="127.0.0.1", port=port, protocol="5"))
        nursery.start_soon(client.run)
        with trio.fail_after(15):
            await connected_again.wait()
            while not client.connected:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    lines = [record.getMessage() for record in caplog.records if record.name == "nvr.mqtt.client"]
    assert any("the broker disconnected nvr: Server shutting down" in line for line in lines), lines
    assert not [record for record in caplog.records if record.exc_info]
