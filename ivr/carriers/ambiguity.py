"""Did a failed HTTP request reach the server? Only a connection that never opened says no.

A read timeout or a connection dropped while waiting for the answer leaves the outcome unknown:
the server may have acted on the request (created the message, posted to the group) and only
its answer was lost. Retrying such a request blindly is how one alert became 30 chat posts.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import requests
from urllib3.exceptions import NewConnectionError

_NEVER_SENT = (requests.ConnectTimeout, NewConnectionError, ConnectionRefusedError, socket.gaierror)


def may_have_arrived(exc: BaseException) -> bool:
    """True unless ``exc`` (or what it wraps) shows that no request left this machine."""
    return not any(isinstance(e, _NEVER_SENT) for e in _causes(exc))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        todo += [a for a in current.args if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError
        if isinstance(reason, BaseException):
            todo.append(reason)
