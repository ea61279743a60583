"""Status callbacks for one call: only the subscribed events, numbered, optionally mistreated.

Twilio delivers each call-progress event as its own request, with no ordering guarantee, and
retries can duplicate one. The scripted faults reproduce exactly that so the app's idempotency
and ordering code (``SequenceNumber``, ``I-Twilio-Idempotency-Token``) is tested for real.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping

from ivr.carriers.simulator.records import CallRecord, CallRequest
from ivr.carriers.simulator.webhook import WebhookClient, WebhookError

CALLBACK_SOURCE = "call-progress-events"
CALLBACK_WARNING = 15003  # Twilio's "call progress: warning response to callback URL"


class StatusReporter:
    """Numbers and sends the status callbacks of one call, applying the behaviour's faults."""

    def __init__(
        self,
        request: CallRequest,
        webhooks: WebhookClient,
        record: CallRecord,
        faults: frozenset[str],
    ) -> None:
        self._url = request.status_callback or ""
        self._method = request.status_callback_method
        self._events = frozenset(request.status_callback_events)
        self._webhooks = webhooks
        self._record = record
        self._faults = faults
        self._sequence = 0
        self._held: list[dict[str, str]] = []

    def event(self, name: str, params: Mapping[str, str]) -> None:
        """Report ``name`` (initiated, ringing, answered, completed) if the app subscribed."""
        if not self._url or name not in self._events:
            return
        numbered = {
            **params,
            "CallbackSource": CALLBACK_SOURCE,
            "SequenceNumber": str(self._sequence),
        }
        self._sequence += 1  # counts events fired, so lost ones leave a gap
        if "drop_status" in self._faults or (
            name == "completed" and "drop_completed" in self._faults
        ):
            return
        if "reorder_status" in self._faults:
            self._held.append(numbered)
        else:
            self._deliver(numbered)

    def flush(self) -> None:
        """Deliver held-back callbacks, shuffled (deterministically per call) out of order."""
        held, self._held = self._held, []
        shuffled = list(held)
        random.Random(self._record.sid).shuffle(shuffled)
        if len(held) > 1 and shuffled == held:
            shuffled.reverse()
        for params in shuffled:
            self._deliver(params)

    def _deliver(self, params: dict[str, str]) -> None:
        token = str(uuid.uuid4())  # a duplicate is a retry, so it repeats the token
        copies = 2 if "duplicate_status" in self._faults else 1
        for _ in range(copies):
            self._send(params, token)

    def _send(self, params: dict[str, str], token: str) -> None:
        self._record.status_callbacks.append(params)
        try:
            reply = self._webhooks.send(self._method, self._url, params, token=token)
        except WebhookError as exc:
            self._record.warnings.append(f"{exc.code} status callback failed: {exc.message}")
            self._record.timings.append(("status", None, 0.0))
            return
        self._record.timings.append(("status", reply.status, reply.elapsed_s))
        if not reply.ok:
            self._record.warnings.append(
                f"{CALLBACK_WARNING} status callback {params['CallStatus']} answered "
                f"HTTP {reply.status}"
            )
