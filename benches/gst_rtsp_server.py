#!/usr/bin/python3
"""A GStreamer RTSP server (gst-rtsp-server) serving the H.264 stream of
an MP4 file on demand, as the peer `benches/serve_load.rs` measures mediatool
against. Each client gets its own pipeline (not shared), as mediatool gives
each client its own read position. (From an elementary stream, h264parse
gives frames no PTS and rtph264pay then stamps every packet alike: hence MP4.)

Usage: gst_rtsp_server.py FILE.mp4 PORT
Prints the stream's URL on stdout once listening. Needs Debian's
gir1.2-gst-rtsp-server-1.0 and python3-gi (run with /usr/bin/python3).
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    path, port = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( filesrc location="{path}" ! qtdemux ! h264parse ! '
        "rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    factory.set_shared(False)
    server.get_mount_points().add_factory("/bench.h264", factory)
    if server.attach(None) == 0:
        sys.exit(f"error: cannot listen on port {port}")
    print(f"rtsp://127.0.0.1:{port}/bench.h264", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
