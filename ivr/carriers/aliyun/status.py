"""呼叫状态码 (运营商回执错误码): how a VMS call ended, in the words Pingan settles calls with.

The same codes come in the pushed receipts (``callbacks``) and in a call's detail record
(``QueryCallDetailByCallId``, ``carrier.fetch_call``); the words are Twilio's final statuses.
"""

from __future__ import annotations

STATUS_BY_CODE = {
    "200000": "completed",  # heard the whole prompt
    "200001": "completed",  # hung up before the prompt ended
    "200008": "completed",  # key collection timed out
    "200002": "busy",
    "200003": "no-answer",  # rang, not picked up
    "200004": "failed",  # invalid number
    "200005": "failed",  # could not be connected (carrier, or the callee refused)
    "200007": "failed",  # out of the service area
    "200010": "failed",  # switched off
    "200011": "failed",  # suspended
}


def final_status(code: str) -> str:
    """Any code the table does not know is a call that did not go through."""
    return STATUS_BY_CODE.get(code, "failed")
