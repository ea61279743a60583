"""A TCP proxy a test controls, to make a server (PostgreSQL) unreachable and bring it back.

``pause()`` cuts every open connection and then lets new ones connect without forwarding a
byte (as a hung server or a lost route does: only the client's connect timeout ends the wait);
``pause(refuse=True)`` closes new connections at once instead (as a server restarting does).
``resume()`` forwards again. Nothing else changes, so the client sees a real outage.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._paused = False
        self._refuse = False
        self._open: list[socket.socket] = []  # every socket we hold, to cut them on pause
        self._closed = False
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    def pause(self, refuse: bool = False) -> None:
        with self._lock:
            self._paused, self._refuse = True, refuse
            cut, self._open = self._open, []
        for sock in cut:
            _close(sock)

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            held, self._open = self._open, []
        for sock in held:  # connections that waited through the outage: long given up on
            _close(sock)

    @property
    def paused(self) -> bool:
        return self._paused

    def close(self) -> None:
        self._closed = True
        _close(self._listener)
        self.pause()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                paused, refuse = self._paused, self._refuse
                if paused and not refuse:
                    self._open.append(client)  # held: connected, but nothing answers
            if paused:
                if refuse:
                    _close(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        """Copy bytes both ways until either side closes (or ``pause`` cuts both)."""
        peers = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            try:
                while client.fileno() != -1 and upstream.fileno() != -1:
                    for key, _ in selector.select(timeout=0.2):
                        source: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = source.recv(65536)
                        if not data:
                            return
                        peers[source].sendall(data)
            except (OSError, ValueError):  # cut by pause(): closed under our feet
                return
            finally:
                for sock in peers:
                    _close(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
