"""The fair yardstick for webhook throughput: the minimum durable work of one key press, by hand.

Flask and psycopg, no ORM, no signature check, no call flow: lock the call row, update its flow
state, insert the key event, commit, answer a constant TwiML document. Whatever Pingan does
beyond this (checking the signature, running the flow, storing answers, escalating, rendering
the prompts) is what the ratio against this app measures. One connection per request thread,
kept for the thread's life, as a pool sized to the threads would.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading

import psycopg
from flask import Flask, Response, request

from bench.bare_app import TWIML

app = Flask(__name__)
_local = threading.local()

LOCK = "SELECT id, flow_state FROM call_attempt WHERE code = %s FOR UPDATE"
UPDATE = "UPDATE call_attempt SET flow_state = %s WHERE id = %s"
INSERT = "INSERT INTO call_event (attempt_id, at, kind, name, detail) VALUES (%s, %s, %s, %s, %s)"


def _connection() -> psycopg.Connection[tuple[object, ...]]:
    connection = getattr(_local, "connection", None)
    if connection is None or connection.closed:
        url = os.environ["PINGAN_DATABASE_URL"].replace("postgresql+psycopg", "postgresql")
        connection = psycopg.connect(url)
        _local.connection = connection
    return connection


@app.get("/healthz")
def healthz() -> Response:
    return Response("ok")


@app.post("/voice/<code>/<kind>")
def key_press(code: str, kind: str) -> Response:
    digits = request.form.get("Digits", "")
    with _connection().transaction(), _connection().cursor() as cursor:
        row = cursor.execute(LOCK, (code,)).fetchone()
        if row is not None:
            state = dict(row[1] or {})  # type: ignore[call-overload]
            state["turns"] = int(state.get("turns", 0)) + 1
            cursor.execute(UPDATE, (json.dumps(state), row[0]))
            now = dt.datetime.now(dt.UTC)  # a benchmark yardstick, not app code: no clock here
            cursor.execute(INSERT, (row[0], now, "key", kind, digits or None))
    return Response(TWIML, mimetype="text/xml")
