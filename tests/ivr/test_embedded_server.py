"""The embedded web server that serves the webhooks to the simulated carrier in `pingan demo`."""

from __future__ import annotations

import time
import urllib.request

from flask import Flask

from ivr.web.server import EmbeddedServer


def _tiny_app() -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/ping", "ping", lambda: "pong")
    return app


def test_it_answers_over_http_and_stops_cleanly() -> None:
    server = EmbeddedServer(_tiny_app())
    with urllib.request.urlopen(f"{server.url}/ping", timeout=5) as reply:
        assert reply.read() == b"pong"
    server.close()
    assert not server._thread.is_alive()


def test_closing_after_the_loop_already_stopped_on_its_own_does_not_raise() -> None:
    # CI once saw EBADF here: the loop woke on its own timeout, saw the stop flag and closed its
    # wake-up pipe before close() wrote to it.
    server = EmbeddedServer(_tiny_app())
    server._stopping.set()
    server._thread.join(timeout=10)
    assert not server._thread.is_alive()
    server.close()


def test_closing_twice_is_harmless() -> None:
    server = EmbeddedServer(_tiny_app())
    server.close()
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 1
