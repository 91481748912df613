"""The broker connection: paho-mqtt driven from the Trio loop, kept up for as long as nvr runs.

paho's external-loop API does the protocol; Trio waits on its socket (``loop_read`` when it is
readable, ``loop_write`` while paho has bytes to send, ``loop_misc`` every second for keepalive).
Only the TCP (and TLS) connect, which blocks, runs in a worker thread. A broker that is down,
refuses the credentials or goes away is retried with back-off (1 s doubling to 60 s), logged
once per change of state, and never holds anything else up: publishers only add to the
``Outbox``.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any, NoReturn

import paho.mqtt.client as paho
import trio
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from nvr.config.schema import MqttConfig
from nvr.mqtt.outbox import Message, Outbox
from nvr.tasks import Backoff

log = logging.getLogger(__name__)

KEEPALIVE = 60  # s, as Frigate 0.8
CONNECT_TIMEOUT = 10.0  # s for the TCP connect and the TLS handshake
MISC_INTERVAL = 1.0  # s between loop_misc calls (keepalive pings, timeouts)
QUEUE_LIMITS = {"events": 1000, "stats": 1}  # queued messages kept for the broker per kind

Handler = Callable[[str, bytes], None]


class MqttClient:
    """One broker connection with its outbox; ``run`` keeps it up until cancelled.

    ``will`` is published by the broker if nvr goes away without disconnecting. Handlers
    added with ``subscribe`` before ``run`` get the messages of their topic filter; they run
    on the event loop and must not block.
    """

    def __init__(self, config: MqttConfig, will: Message | None = None) -> None:
        self.config = config
        self.will = will
        self.outbox = Outbox(QUEUE_LIMITS)
        self.connected = False
        self.sent = 0
        self._handlers: list[tuple[str, Handler]] = []
        self._reported = ""
        self._refused: str | None = None
        self._lost: str | None = None
        self._session_scope = trio.CancelScope()
        self._connected_at = 0.0

    @property
    def address(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        self._handlers.append((topic_filter, handler))

    def stats(self) -> dict[str, Any]:
        """``service.mqtt`` of /api/stats."""
        return {"connected": self.connected, "sent": self.sent, "dropped": self.outbox.dropped}

    async def run(self) -> NoReturn:
        """Connect, publish, reconnect after every loss, until cancelled."""
        backoff = Backoff(1.0, 60.0)
        while True:
            connected_for = await self._session()
            self.connected = False
            # Back to 1 s after a connection that lasted; a broker that keeps dropping nvr
            # (another client with the same client id) is retried ever more slowly.
            await trio.sleep(backoff.next_delay(connected_for))

    def _report(self, level: int, line: str) -> None:
        """Log ``line`` unless it says what the last report said (a retry, not a change)."""
        if line != self._reported:
            self._reported = line
            log.log(level, "MQTT: %s", line)

    async def _session(self) -> float:
        """One connection, from connect to loss; how long the broker had it accepted."""
        client = self._new_client()
        self._refused = self._lost = None
        try:
            await trio.to_thread.run_sync(self._connect, client, abandon_on_cancel=True)
        except (OSError, ValueError) as error:  # refused, unreachable, timed out, TLS, DNS
            self._report(logging.WARNING, f"cannot connect to {self.address}: {error}; "
                                          "retrying with back-off")
            return 0.0
        sock = client.socket()
        assert sock is not None  # connect() raised otherwise
        connected = trio.Event()
        client.on_connect = lambda *args: self._on_connect(connected, *args)
        try:
            async with trio.open_nursery() as nursery:
                self._session_scope = nursery.cancel_scope
                nursery.start_soon(self._read, client, sock)
                nursery.start_soon(self._keep_alive, client)
                nursery.start_soon(self._publish, client, sock, connected)
        finally:
            if client.socket() is not None:  # nvr stops, or the broker never answered
                self._goodbye(client)
        if self.connected:
            self._report(logging.WARNING, f"lost the connection to {self.address}: "
                                          f"{self._lost}; reconnecting with back-off")
            return trio.current_time() - self._connected_at
        self._report(logging.WARNING, f"cannot connect to {self.address}: "
                                      f"{self._refused or self._lost}; retrying with back-off")
        return 0.0

    def _new_client(self) -> paho.Client:
        config = self.config
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=config.client_id,
            protocol=(MQTTProtocolVersion.MQTTv5 if config.protocol == "5"
                      else MQTTProtocolVersion.MQTTv311),
            reconnect_on_failure=False,  # paho would reconnect inside loop_read, blocking
        )
        client.connect_timeout = CONNECT_TIMEOUT
        if config.user is not None:
            client.username_pw_set(config.user, config.password)
        if self.will is not None:
            will = self.will
            client.will_set(will.topic, will.payload, will.qos, will.retain)
        if config.tls_ca_certs or config.tls_client_cert or config.tls_insecure:
            client.tls_set(ca_certs=config.tls_ca_certs, certfile=config.tls_client_cert,
                           keyfile=config.tls_client_key)
            client.tls_insecure_set(config.tls_insecure)
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_socket_close = _on_socket_close
        return client

    def _connect(self, client: paho.Client) -> None:
        """TCP connect, TLS handshake and the CONNECT packet (blocking: a worker thread)."""
        try:
            client.connect(self.config.host, self.config.port, KEEPALIVE)
        except ssl.SSLError as error:
            raise OSError(f"TLS: {error.reason or error}") from None

    def _on_connect(self, connected: trio.Event, client: paho.Client, userdata: object,
                    flags: object, reason: Any, properties: object) -> None:
        if reason.is_failure:
            self._refused = f"the broker refused the connection: {reason}"
        else:
            connected.set()

    def _on_disconnect(self, client: paho.Client, userdata: object, flags: Any, reason: Any,
                       properties: object) -> None:
        # An MQTT 5 broker says why it drops nvr (shutting down, session taken over); paho
        # closes the socket and still reports success to loop_read.
        if flags.is_disconnect_packet_from_server:
            self._end(f"the broker disconnected nvr: {reason}")

    def _on_publish(self, client: paho.Client, userdata: object, mid: int, reason: Any,
                    properties: object) -> None:
        self.sent += 1  # written to the socket (QoS 0) or acknowledged (QoS 1)

    def _on_message(self, client: paho.Client, userdata: object,
                    message: paho.MQTTMessage) -> None:
        for topic_filter, handler in self._handlers:
            if paho.topic_matches_sub(topic_filter, message.topic):
                handler(message.topic, bytes(message.payload))

    def _end(self, reason: str) -> None:
        """The connection is gone: end the session (the first reason is the one logged)."""
        if self._lost is None:
            self._lost = reason
        self._session_scope.cancel()

    def _check(self, rc: MQTTErrorCode) -> None:
        """End the session if paho reports the connection gone."""
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._end(paho.error_string(rc).rstrip("."))

    async def _wait(self, wait: Callable[[Any], Any], sock: Any) -> None:
        """``wait_readable``/``wait_writable``; paho closing the socket ends the session."""
        try:
            if sock.fileno() < 0:  # paho closed it without telling (a failed write)
                raise trio.ClosedResourceError
            await wait(sock)
        except trio.ClosedResourceError:
            self._end("the connection was closed")
            await trio.lowlevel.checkpoint()  # raises Cancelled

    async def _read(self, client: paho.Client, sock: Any) -> None:
        while self._lost is None:
            await self._wait(trio.lowlevel.wait_readable, sock)
            self._check(client.loop_read())
            # TLS may hold decrypted bytes that the socket no longer signals.
            while self._lost is None and isinstance(sock, ssl.SSLSocket) and sock.pending():
                self._check(client.loop_read())
            if client.want_write():
                self.outbox.nudge()

    async def _keep_alive(self, client: paho.Client) -> None:
        while self._lost is None:
            await trio.sleep(MISC_INTERVAL)
            self._check(client.loop_misc())
            if client.want_write():
                self.outbox.nudge()

    async def _publish(self, client: paho.Client, sock: Any, connected: trio.Event) -> None:
        """Once the broker accepted us: the states, then the subscriptions (so that retained
        commands are applied after the start-up states, as Frigate 0.8 does), then whatever
        the outbox gets, written as fast as the socket takes it."""
        await self._write(client, sock)
        with trio.move_on_after(CONNECT_TIMEOUT):
            await connected.wait()
        if not connected.is_set():
            self._end(f"no answer to CONNECT within {CONNECT_TIMEOUT:g} s")
            return
        self.connected = True
        self._connected_at = trio.current_time()
        self._report(logging.INFO, f"connected to {self.address}")
        self.outbox.reconnected()
        self._send(client, self.outbox.take())
        if self._handlers:
            self._check(client.subscribe([(topic, 0) for topic, _ in self._handlers])[0])
        while self._lost is None:
            await self._write(client, sock)
            await self.outbox.wait()
            self._send(client, self.outbox.take())

    def _send(self, client: paho.Client, messages: list[Message]) -> None:
        """Hand ``messages`` to paho; what a lost connection leaves unsent counts as dropped."""
        for index, message in enumerate(messages):
            try:
                info = client.publish(message.topic, message.payload, message.qos,
                                      message.retain)
            except ValueError as error:  # a topic MQTT refuses: never sendable
                log.warning("MQTT: cannot publish to %r: %s", message.topic, error)
                self.outbox.dropped += 1
                continue
            self._check(info.rc)
            if self._lost is not None:
                self.outbox.dropped += len(messages) - index
                return

    async def _write(self, client: paho.Client, sock: Any) -> None:
        while self._lost is None and client.want_write():
            await self._wait(trio.lowlevel.wait_writable, sock)
            self._check(client.loop_write())

    def _goodbye(self, client: paho.Client) -> None:
        """At shutdown, without waiting: tell the broker nvr is going (as the will would)."""
        if self.connected and self.will is not None:
            will = self.will
            client.publish(will.topic, will.payload, 0, will.retain)
        client.disconnect()


def _on_socket_close(client: paho.Client, userdata: object, sock: Any) -> None:
    """paho is closing ``sock``: wake the tasks waiting on it, as Trio requires."""
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        return  # in the connect thread: no task waits on it yet
    trio.lowlevel.notify_closing(sock)
