"""A real mosquitto broker on a loopback port, and a client that records what it receives."""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt import publish as mqtt_publish

from support import free_port, unavailable

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Broker:
    """mosquitto on 127.0.0.1: anonymous, or with one user (``password``), or TLS with the
    certificates of ``tls`` (clients need one too); it can be stopped and started again on
    the same port."""

    def __init__(self, folder: Path, *, password: str | None = None,
                 tls: CertificateAuthority | None = None) -> None:
        if not Path(MOSQUITTO).exists():
            unavailable("mosquitto is not installed (Debian's package mosquitto)")
        self.port = free_port()
        self.folder = folder
        self.password = password
        # As root, mosquitto would switch to its own user, who cannot read the test's files.
        lines = [f"listener {self.port} 127.0.0.1", "persistence false",
                 f"user {getpass.getuser()}"]
        if password is None:
            lines.append("allow_anonymous true")
        else:
            passwords = folder / "passwords"
            passwords.touch(mode=0o600)
            subprocess.run(["mosquitto_passwd", "-b", str(passwords), "nvr", password],
                           check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        if tls is not None:
            lines += [f"cafile {tls.ca}", f"certfile {tls.server_cert}",
                      f"keyfile {tls.server_key}", "require_certificate true"]
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self._process: subprocess.Popen[bytes] | None = None
        self.tls = tls

    def start(self) -> None:
        self._process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self, *, graceful: bool = False) -> None:
        """Kill the broker, or with ``graceful`` stop it as its service manager would."""
        if self._process is not None:
            if graceful:
                self._process.terminate()
            else:
                self._process.kill()
            self._process.wait(10)
            self._process = None

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open but nothing is read."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        auth = None if self.password is None else {"username": "nvr", "password": self.password}
        mqtt_publish.single(topic, payload, retain=retain, hostname="127.0.0.1",
                                 port=self.port, auth=auth)

    def mqtt_yaml(self, password: str | None = None, extra: str = "") -> str:
        """The ``mqtt:`` block of an nvr config for this broker."""
        credentials = f", user: nvr, password: {password}" if password is not None else ""
        return f"mqtt: {{host: 127.0.0.1, port: {self.port}{credentials}{extra}}}\n"


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float  # time.monotonic() on arrival


class Watcher:
    """A client subscribed to ``<prefix>/#`` that keeps every message (its own thread)."""

    def __init__(self, broker: Broker, prefix: str = "frigate", client_id: str = "watcher",
                 protocol: int = 4) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=client_id,
            protocol=paho.MQTTv5 if protocol == 5 else paho.MQTTv311)
        if broker.password is not None:
            self._client.username_pw_set("nvr", broker.password)
        if broker.tls is not None:
            tls = broker.tls
            self._client.tls_set(ca_certs=str(tls.ca), certfile=str(tls.client_cert),
                                 keyfile=str(tls.client_key))
        self._client.on_message = self._received
        self._client.on_connect = lambda client, *_: client.subscribe(f"{prefix}/#")
        self._client.connect("127.0.0.1", broker.port)
        self._client.loop_start()

    def _received(self, client: paho.Client, userdata: object,
                  message: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(message.topic, bytes(message.payload),
                                          bool(message.retain), time.monotonic()))

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [message for message in self.messages if message.topic == topic]

    def last(self, topic: str) -> bytes | None:
        received = self.on(topic)
        return received[-1].payload if received else None

    def wait(self, condition: Callable[[], object], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        topics = sorted({message.topic for message in self.messages})
        pytest.fail(f"timed out after {timeout} s waiting for {what}; topics seen: {topics}")

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


class CertificateAuthority:
    """A certificate authority made with openssl for one run, with a server certificate for
    127.0.0.1 and a client certificate signed by it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca, self.ca_key = folder / "ca.crt", folder / "ca.key"
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", "/CN=nvr test CA", "-keyout", str(self.ca_key), "-out", str(self.ca))
        extensions = folder / "san.ext"
        extensions.write_text("subjectAltName=IP:127.0.0.1\n")
        self.server_cert, self.server_key = self._signed("server", "127.0.0.1", extensions)
        self.client_cert, self.client_key = self._signed("client", "nvr")

    def _signed(self, name: str, common_name: str,
                extensions: Path | None = None) -> tuple[Path, Path]:
        cert, key = self.folder / f"{name}.crt", self.folder / f"{name}.key"
        request = self.folder / f"{name}.csr"
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={common_name}",
                 "-keyout", str(key), "-out", str(request))
        _openssl("x509", "-req", "-in", str(request), "-CA", str(self.ca), "-CAkey",
                 str(self.ca_key), "-CAcreateserial", "-days", "2", "-out", str(cert),
                 *(["-extfile", str(extensions)] if extensions else []))
        return cert, key


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)
