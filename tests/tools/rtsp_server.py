"""A real RTSP server for tests: serves an H.264 mp4 file at rtsp://127.0.0.1:PORT/camera.

Runs under Debian's python3 with GStreamer's RTSP server (python3-gi,
gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-{good,bad}); it does not import nvr.
Prints "ready" once it listens. Stop it with SIGTERM.

    /usr/bin/python3 tests/tools/rtsp_server.py PORT FILE.mp4
"""

import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    port, path = sys.argv[1], sys.argv[2]
    Gst.init(None)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( filesrc location="{path}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 )'
    )
    factory.set_shared(True)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    server.get_mount_points().add_factory("/camera", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on port {port}")
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    print("ready", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
