"""What every simulated Alibaba Cloud API endpoint shares: the OpenAPI gateway's checks of the
SDK's ``ACS3-HMAC-SHA256`` signature, and the two shapes of an answer.

A gateway refusal (unknown AccessKey, bad signature) is an HTTP error; a business answer is
HTTP 200 with the outcome in ``Code`` (``OK`` or an ``isv.*`` code) (docs/carriers.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Iterable
from urllib.parse import quote

from flask import Response, request

SIGNATURE = "ACS3-HMAC-SHA256"


def refuse_unsigned(access_key_id: str, access_key_secret: str) -> Response | None:
    """The gateway's checks of the current request: a known AccessKey, and an ACS3 signature
    over it; None when it passes."""
    auth = request.headers.get("Authorization", "")
    match = re.fullmatch(
        rf"{SIGNATURE} Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)", auth
    )
    if match is None:
        return error(400, "MissingAuthorization", "Authorization is mandatory.")
    key_id, signed, signature = match.groups()
    if not hmac.compare_digest(key_id, access_key_id):
        return error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    expected = _signature(access_key_secret, signed)
    payload = hashlib.sha256(request.get_data()).hexdigest()
    if payload != request.headers.get("x-acs-content-sha256") or not hmac.compare_digest(
        expected, signature
    ):
        return error(
            400,
            "SignatureDoesNotMatch",
            "Specified signature does not match our calculation.",
        )
    return None


def refuse_listing(access_key_id: str, access_key_secret: str) -> Response | None:
    """A simulator's own listing for tests in other processes (not an Alibaba Cloud API):
    basic auth with the AccessKey; None when it passes."""
    auth = request.authorization
    if auth is None or (auth.username, auth.password) != (access_key_id, access_key_secret):
        return error(401, "Unauthorized", "basic auth with the AccessKey")
    return None


def wait_for_threads(
    lock: threading.Lock, running: Iterable[threading.Thread], timeout_s: float
) -> bool:
    """Whether every thread a simulator started (callback and report pushes) has finished
    within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with lock:
            alive = [t for t in running if t.is_alive()]
        if not alive:
            return True
        alive[0].join(0.05)
    return False


def action() -> str:
    return request.headers.get("x-acs-action") or request.args.get("Action", "")


def params() -> dict[str, str]:
    """The request's fields: the SDK puts them in the query string, a form is read as well."""
    return {**request.args.to_dict(), **request.form.to_dict()}


def _signature(secret: str, signed_headers: str) -> str:
    query = "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(request.args.to_dict().items()))
    names = signed_headers.split(";")
    headers = "".join(f"{n}:{request.headers.get(n, '').strip()}\n" for n in names)
    canonical = "\n".join(
        [
            request.method,
            request.path or "/",
            query,
            headers,
            signed_headers,
            request.headers.get("x-acs-content-sha256", ""),
        ]
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = f"{SIGNATURE}\n{digest}"
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def body(code: str, message: str, **extra: object) -> Response:
    """A business answer: HTTP 200, the outcome in ``Code``."""
    answer = {"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": message, **extra}
    return Response(json.dumps(answer, ensure_ascii=False), mimetype="application/json")


def error(status: int, code: str, message: str) -> Response:
    """A gateway refusal: an HTTP error with the platform's error body."""
    answer = {"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": message}
    return Response(json.dumps(answer), status=status, mimetype="application/json")
