"""Signed HTTP requests to the app, made the way Twilio makes them.

Every request carries an ``X-Twilio-Signature`` computed over the exact URL put on the wire, so
an app that validates signatures (as Pingan must) is exercised for real. Redirects are followed
by hand because each hop needs its own signature, and a failed connection is retried once with
the same idempotency token, as Twilio's default connection policy does.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

import requests
from twilio.request_validator import RequestValidator

USER_AGENT = "TwilioProxy/1.1"
TIMEOUT_S = 15.0  # Twilio's total budget for one webhook answer
MAX_REDIRECTS = 10
CONNECT_ATTEMPTS = 2  # Twilio retries a failed connection once (connection override rc=1)

HTTP_RETRIEVAL_FAILURE = 11200
CONNECTION_FAILURE = 11205
TOO_MANY_REDIRECTS = 11215
INVALID_URL = 11100

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_REDIRECTS_TO_GET = frozenset({301, 302, 303})


class WebhookError(Exception):
    """The app could not be reached or answered unusably; ``code`` is Twilio's error code."""

    def __init__(self, code: int, message: str, url: str | None = None) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.url = url


@dataclass(frozen=True)
class WebhookReply:
    url: str  # after redirects: the base for relative URLs in the answer
    status: int
    content_type: str  # bare media type, lower case ("" when missing)
    body: bytes
    elapsed_s: float = 0.0  # until the answer's headers arrived (the last hop)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class WebhookClient:
    """Sends signed, form-encoded requests for one call (the session is its cookie jar)."""

    def __init__(
        self, session: requests.Session, auth_token: str, timeout_s: float = TIMEOUT_S
    ) -> None:
        self._session = session
        self._validator = RequestValidator(auth_token)
        self._timeout_s = timeout_s

    def send(
        self, method: str, url: str, params: Mapping[str, str], token: str | None = None
    ) -> WebhookReply:
        """Request ``url`` and follow redirects; raises ``WebhookError`` if no answer arrives.

        ``token`` is the I-Twilio-Idempotency-Token; pass the same one to deliver a duplicate.
        The URL fragment holds Twilio connection overrides and is neither sent nor signed.
        """
        token = token or str(uuid.uuid4())
        url = urldefrag(url).url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._exchange(method, url, params, token)
            if response.status_code not in _REDIRECTS or "Location" not in response.headers:
                return _reply(url, response)
            url = urljoin(url, response.headers["Location"])
            if response.status_code in _REDIRECTS_TO_GET:
                method, params = "GET", {}  # like any HTTP client: a 302 after POST loses Digits
        raise WebhookError(TOO_MANY_REDIRECTS, f"more than {MAX_REDIRECTS} redirects", url)

    def _exchange(
        self, method: str, url: str, params: Mapping[str, str], token: str
    ) -> requests.Response:
        prepared = self._prepare(method, url, params, token)
        settings = self._session.merge_environment_settings(prepared.url, {}, None, None, None)
        failure: Exception | None = None
        for _ in range(CONNECT_ATTEMPTS):
            try:
                return self._session.send(
                    prepared, timeout=self._timeout_s, allow_redirects=False, **settings
                )
            except requests.ConnectionError as exc:
                failure = exc
            except requests.Timeout:
                raise WebhookError(
                    CONNECTION_FAILURE, f"no answer within {self._timeout_s:g} s", url
                ) from None
            except requests.RequestException as exc:
                raise WebhookError(HTTP_RETRIEVAL_FAILURE, str(exc), url) from None
        raise WebhookError(CONNECTION_FAILURE, f"connection failed: {failure}", url)

    def _prepare(
        self, method: str, url: str, params: Mapping[str, str], token: str
    ) -> requests.PreparedRequest:
        """Build the request, then sign the URL exactly as it will go on the wire."""
        is_get = method.upper() == "GET"
        request = requests.Request(
            method.upper(),
            url,
            params=dict(params) if is_get else None,
            data=None if is_get else dict(params),
        )
        try:
            prepared = self._session.prepare_request(request)
        except (
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidURL,
        ) as exc:
            raise WebhookError(INVALID_URL, f"invalid URL {url!r}: {exc}", url) from None
        signed_url = prepared.url or url
        signature = self._validator.compute_signature(signed_url, {} if is_get else dict(params))
        prepared.headers["X-Twilio-Signature"] = signature
        prepared.headers["I-Twilio-Idempotency-Token"] = token
        prepared.headers["User-Agent"] = USER_AGENT
        if not is_get:
            prepared.headers["Content-Type"] = "application/x-www-form-urlencoded"
        return prepared


def _reply(url: str, response: requests.Response) -> WebhookReply:
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    with response:
        return WebhookReply(
            url,
            response.status_code,
            media_type,
            response.content,
            response.elapsed.total_seconds(),
        )
