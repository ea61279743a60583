"""What a call's webhook must carry before anything is looked up or stored.

A valid signature proves a request came from whoever holds the auth token, not that it makes
sense. Every voice request Twilio sends names its call (``CallSid``, ``CA`` + 32 hex digits);
a request without one, or with a CallSid no carrier would send, answers 400 and changes
nothing. Other parameters are read defensively where they are used (``ivr.calls``).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, request

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")


def names_a_call(view: F) -> F:
    """Refuse (400) a webhook whose ``CallSid`` is missing or malformed."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not CALL_SID.fullmatch(request.form.get("CallSid", "")):
            log.warning("webhook %s without a valid CallSid; refused", request.path)
            abort(400)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
