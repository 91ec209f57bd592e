"""The fleet test's local peers: a webhook receiver and a feed site, real HTTP on 127.0.0.1."""

import hashlib
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

_EMPTY_RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title>'
    b"<link>https://news.example.org/</link><description>Nothing said</description>"
    b"<item><title>Weather</title><link>https://news.example.org/w</link>"
    b"<description>Sunny spells.</description></item></channel></rss>"
)


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None


class Receiver:
    """Keeps every webhook it receives, per subscription path, and answers 204."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ids: dict[str, set[str]] = defaultdict(set)  # webhook-id -> digests of its bodies
        receiver = self

        class Handler(_Quiet):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    receiver.ids[self.headers.get("webhook-id", "")].add(
                        hashlib.sha256(body).hexdigest()
                    )
                    receiver.bodies[self.path].append(orjson.loads(body))
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def seen(self, path: str) -> set[tuple[int, str, str]]:
        """(position, actor, topic) of every message received at ``path``."""
        with self.lock:
            return {
                (b["data"]["position"], b["data"]["actor"], b["data"]["topic"])
                for b in self.bodies[path]
            }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FeedSite:
    """Serves quiet RSS feeds at ``/feed/<n>`` and notes when each was fetched."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fetches: dict[str, list[float]] = defaultdict(list)
        site = self

        class Handler(_Quiet):
            def do_GET(self) -> None:
                with site.lock:
                    site.fetches[self.path].append(time.time())
                self.send_response(200)
                self.send_header("content-type", "application/rss+xml")
                self.send_header("content-length", str(len(_EMPTY_RSS)))
                self.end_headers()
                self.wfile.write(_EMPTY_RSS)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
