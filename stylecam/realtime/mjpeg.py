"""MJPEG over HTTP: the stylized feed for browsers, OBS (Browser source: the page; Media source: the stream
URL) and anything that reads ``multipart/x-mixed-replace`` streams.

Routes: ``/`` a page showing the stream full-window, ``/stream.mjpg`` the stream, ``/snapshot.jpg`` the latest
frame, ``/stats.json`` the live statistics. One encoder thread compresses each new frame once, and only while a
client is watching; every client thread sends the newest JPEG (a slow client skips frames, it never delays the
others). Built on :mod:`http.server` (threaded), no dependencies.
"""

from __future__ import annotations

import errno
import html
import json
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from stylecam.errors import OutputError, UsageError

BOUNDARY = "stylecamframe"
JPEG_QUALITY = 85
CLIENT_WAIT_S = 1.0

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>html,body{{margin:0;height:100%;background:#000;overflow:hidden}}
img{{width:100%;height:100%;object-fit:contain;display:block}}</style></head>
<body><img src="/stream.mjpg" alt="{title}"></body></html>
"""


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host 127.0.0.1), ``[::1]:PORT`` → (host, port)."""
    text = text.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "", text
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise UsageError(f"--serve takes HOST:PORT or PORT, e.g. 127.0.0.1:8080, not '{text}'") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"--serve {text}: port must be 0..65535")
    return host, port


def encode_jpeg(frame: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """An RGB uint8 frame as JPEG bytes."""
    import cv2

    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # a restarted stylecam may bind while old connections linger in TIME_WAIT
    owner: MjpegServer


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "stylecam"
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        try:
            if path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, PAGE.format(title=html.escape(owner.title)).encode(), "text/html; charset=utf-8")
            elif path == "/stream.mjpg":
                self._stream(owner)
            elif path == "/snapshot.jpg":
                jpeg = owner.latest_jpeg(CLIENT_WAIT_S * 5)
                if jpeg is None:
                    self._send(HTTPStatus.SERVICE_UNAVAILABLE, b"no frame yet\n", "text/plain")
                else:
                    self._send(HTTPStatus.OK, jpeg[1], "image/jpeg")
            elif path == "/stats.json":
                self._send(HTTPStatus.OK, json.dumps(owner.stats()).encode(), "application/json")
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found: try / or /stream.mjpg\n", "text/plain")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            pass

    def _stream(self, owner: MjpegServer) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Pragma", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        owner.client_joined()
        try:
            seen = 0
            while not owner.closed:
                item = owner.wait_frame(seen, CLIENT_WAIT_S)
                if item is None:
                    continue
                seen, jpeg = item
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                                 .encode() + jpeg + b"\r\n")
                self.wfile.flush()
        finally:
            owner.client_left()


class MjpegServer:
    """Serves published frames on ``host:port`` (port 0: the OS picks one; see ``port``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8080, title: str = "stylecam",
                 quality: int = JPEG_QUALITY, stats: Callable[[], dict[str, Any]] | None = None) -> None:
        self.title = title
        self.quality = quality
        self.stats = stats or dict
        self.closed = False
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._frame_seq = 0
        self._jpeg: tuple[int, bytes] | None = None
        self._clients = 0
        self._wanted = 0
        server_class = _Server6 if ":" in host else _Server
        try:
            self._server = server_class((host, port), _Handler, bind_and_activate=True)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OutputError(f"--serve {host}:{port}: the port is in use (another stylecam?); pick another "
                                  "port, e.g. --serve {0}:{1}, or 0 to let the system choose".format(host, port + 1)
                                  ) from None
            if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
                raise OutputError(f"--serve {host}:{port}: no such address on this machine "
                                  "(use 127.0.0.1, 0.0.0.0 for every interface, or one of this machine's)") from None
            if exc.errno == errno.EACCES:
                raise OutputError(f"--serve {host}:{port}: permission denied (ports below 1024 need privileges; "
                                  "use 8080 or another above 1023)") from None
            raise OutputError(f"--serve {host}:{port}: cannot listen ({exc.strerror or exc})") from None
        self._server.owner = self
        self.host = host
        self.port = int(self._server.server_address[1])
        self._threads = [
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                             name="stylecam-mjpeg-server", daemon=True),
            threading.Thread(target=self._encode_loop, name="stylecam-mjpeg-encoder", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1" if host != "::" else "::1"
        return f"http://[{host}]:{self.port}/" if ":" in host else f"http://{host}:{self.port}/"

    @property
    def clients(self) -> int:
        with self._cond:
            return self._clients

    def client_joined(self) -> None:
        with self._cond:
            self._clients += 1
            self._cond.notify_all()

    def client_left(self) -> None:
        with self._cond:
            self._clients -= 1

    def publish(self, frame: np.ndarray) -> None:
        """Offer the newest frame (RGB uint8); it is only compressed if someone is watching or asked for it."""
        with self._cond:
            self._frame = frame
            self._frame_seq += 1
            self._cond.notify_all()

    def _encode_loop(self) -> None:
        encoded_seq = 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda done=encoded_seq: self.closed or (self._frame_seq != done and (
                    self._clients > 0 or self._wanted > 0)), timeout=1.0)
                if self.closed:
                    return
                if self._frame_seq == encoded_seq or self._frame is None:
                    continue
                frame, seq = self._frame, self._frame_seq
            jpeg = encode_jpeg(frame, self.quality)
            encoded_seq = seq
            with self._cond:
                self._jpeg = (seq, jpeg)
                self._cond.notify_all()

    def latest_jpeg(self, timeout: float) -> tuple[int, bytes] | None:
        """A JPEG of the newest frame published so far (compressed now if need be); None if none comes."""
        with self._cond:
            target = max(1, self._frame_seq)
            self._wanted += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: self.closed or (self._jpeg is not None and self._jpeg[0] >= target),
                                    timeout)
            finally:
                self._wanted -= 1
            return self._jpeg if self._jpeg is not None and self._jpeg[0] >= target else None

    def wait_frame(self, after: int, timeout: float) -> tuple[int, bytes] | None:
        """The newest JPEG if it is newer than sequence number ``after`` (waits up to ``timeout``)."""
        with self._cond:
            self._cond.wait_for(lambda: self.closed or (self._jpeg is not None and self._jpeg[0] > after), timeout)
            if self._jpeg is not None and self._jpeg[0] > after:
                return self._jpeg
            return None

    def close(self) -> None:
        """Stop serving and drop the clients."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(2.0)
