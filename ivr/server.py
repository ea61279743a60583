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

from flask import Flask
from waitress.server import create_server

from ivr import settings_of
from ivr.config import ConfigError

log = logging.getLogger(__name__)


class EmbeddedServer:
    """The app on a loopback port in a background thread (waitress, a production server)."""

    def __init__(
        self, app: Flask, host: str = "127.0.0.1", port: int = 0, threads: int = 16
    ) -> None:
        self._server: Any = create_server(
            app, host=host, port=port, threads=threads, clear_untrusted_proxy_headers=True
        )
        self.url = f"http://{host}:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, name="pingan-web", daemon=True)
        self._thread.start()

    def close(self) -> None:
        # Request threads first: one still finishing a reply after the server closed would
        # write to its closed wake-up pipe (OSError in a waitress thread).
        self._server.task_dispatcher.shutdown()
        self._server.close()
        self._thread.join(timeout=5)


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

        def load(self) -> Flask:
            from ivr import create_app

            return create_app()

    PinganServer().run()
