"""Serving the app: gunicorn for ``pingan serve``, an in-process server for the embedded default.

With the simulated carrier and no ``PINGAN_PUBLIC_URL``, ``pingan call`` and ``pingan demo``
start the webhooks on a loopback port in a thread, so the simulator drives them over real HTTP.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from flask import Flask
from waitress.server import create_server

from ivr import settings_of
from ivr.config import ConfigError
from ivr.domain.health import LIVE_PATH, LIVE_REPLY

log = logging.getLogger(__name__)


class EmbeddedServer:
    """The app on a loopback port in a background thread (waitress, a production server).

    The event loop runs in our own thread and everything it polls is closed in that same
    thread: closing sockets from another thread while ``select`` waits on them raised EBADF in
    the server thread now and then (a flaky "Exception in thread pingan-web" in the tests).
    The loop also wakes on its own timeout, so it may see the stop flag and close the wake-up
    pipe before ``close`` writes to it (EBADF in ``close``, seen once in CI): the lock makes
    "wake the loop" and "close the pipe" exclusive.
    """

    def __init__(
        self, app: Flask, host: str = "127.0.0.1", port: int = 0, threads: int = 16
    ) -> None:
        self._server: Any = create_server(
            app, host=host, port=port, threads=threads, clear_untrusted_proxy_headers=True
        )
        self.url = f"http://{host}:{self._server.effective_port}"
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="pingan-web", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        server = self._server
        try:
            while not self._stopping.is_set():
                server.asyncore.loop(
                    timeout=server.adj.asyncore_loop_timeout,
                    map=server._map,
                    use_poll=server.adj.asyncore_use_poll,
                    count=1,
                )
        finally:
            # Request threads first: one still finishing a reply must not write to a closed
            # channel or wake-up pipe.
            server.task_dispatcher.shutdown()
            with self._lock:
                for channel in list(server._map.values()):
                    if channel is not server and channel is not server.trigger:
                        channel.close()
                server.close()
                self._closed = True

    def close(self) -> None:
        with self._lock:
            self._stopping.set()
            if not self._closed:
                self._server.pull_trigger()  # wake the loop out of its poll
        self._thread.join(timeout=10)


@contextmanager
def webhooks_reachable(app: Flask) -> Iterator[str]:
    """The base URL the carrier will call; starts an embedded server when none is configured."""
    settings = settings_of(app)
    if settings.public_url:
        app.extensions["pingan.public_url"] = settings.public_url
        yield settings.public_url
        return
    if settings.carrier == "twilio":
        raise ConfigError("PINGAN_PUBLIC_URL must be set so that Twilio can reach the webhooks.")
    server = EmbeddedServer(app)
    app.extensions["pingan.public_url"] = server.url
    log.info("webhooks served at %s for the simulated carrier", server.url)
    try:
        yield server.url
    finally:
        server.close()
        app.extensions["pingan.public_url"] = None


PROBE_TIMEOUT_S = 5


def public_url_problem(app: Flask) -> str | None:
    """One sentence saying why the carrier cannot reach the webhooks, or None if it can
    (PINGAN_PUBLIC_URL answers as Pingan; or no URL is needed: the embedded server)."""
    settings = settings_of(app)
    url = settings.public_url
    if not url:
        if settings.carrier == "twilio":
            return "PINGAN_PUBLIC_URL is not set, so Twilio cannot reach the webhooks"
        return None
    reason = _probe(url.rstrip("/") + LIVE_PATH)
    if reason is None:
        return None
    return (
        f"PINGAN_PUBLIC_URL {url} does not answer ({reason}), so the carrier could not reach "
        f"the webhooks: start `pingan serve` there or fix the URL"
    )


def _probe(url: str) -> str | None:
    try:
        reply = requests.get(url, timeout=PROBE_TIMEOUT_S, allow_redirects=False)
    except requests.ConnectionError:
        return "connection refused or host unknown"
    except requests.Timeout:
        return f"no reply within {PROBE_TIMEOUT_S} s"
    except requests.RequestException as exc:
        return type(exc).__name__
    if reply.status_code != 200:
        return f"HTTP {reply.status_code} from {url}"
    try:
        answered = reply.json()
    except ValueError:
        answered = None
    return None if answered == LIVE_REPLY else f"something other than Pingan answers at {url}"


def run_gunicorn(host: str, port: int, workers: int) -> None:
    """``pingan serve``: gunicorn, each worker building its own app (no state shared)."""
    from gunicorn.app.base import BaseApplication

    class PinganServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 8)
            self.cfg.set("timeout", 30)
            self.cfg.set("accesslog", "-")
            # Which worker process served a request: webhooks of one call land on any of them.
            self.cfg.set("access_log_format", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms worker %(p)s')

        def load(self) -> Flask:
            from ivr import create_app

            return create_app()

    PinganServer().run()
