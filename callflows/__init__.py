"""Pingan's call scripts as pure state machines: data in, data out, no I/O.

``load_flow()`` reads a flow file (the built-in daily check-in by default); ``advance(flow, state,
event)`` returns the next ``Transition`` (new state, actions to perform, answers to store).
Nothing here imports Flask, SQLAlchemy, twilio or reads the clock; a test enforces it.
"""

from callflows.catalogue import LANGUAGES, Catalogue, Segment, load_catalogue
from callflows.engine import FlowState, NewsItem, advance, start
from callflows.flow import EscalationRule, Flow, FlowError, Problem, Step
from callflows.loader import (
    BUILTIN_FLOW,
    IDENTIFY_FLOW,
    RELEASE_FLOW,
    STAFF_ALERT_FLOW,
    check_flow,
    load_flow,
    parse_flow,
)
from callflows.types import (
    Action,
    Answered,
    AnswerValue,
    Checked,
    DialEnded,
    Event,
    Gather,
    HangUp,
    Hangup,
    Keys,
    Outcome,
    Say,
    Silence,
    Transfer,
    Transition,
)

__all__ = [
    "BUILTIN_FLOW",
    "IDENTIFY_FLOW",
    "LANGUAGES",
    "RELEASE_FLOW",
    "STAFF_ALERT_FLOW",
    "Action",
    "AnswerValue",
    "Answered",
    "Catalogue",
    "Checked",
    "DialEnded",
    "EscalationRule",
    "Event",
    "Flow",
    "FlowError",
    "FlowState",
    "Gather",
    "HangUp",
    "Hangup",
    "Keys",
    "NewsItem",
    "Outcome",
    "Problem",
    "Say",
    "Segment",
    "Silence",
    "Step",
    "Transfer",
    "Transition",
    "advance",
    "check_flow",
    "load_catalogue",
    "load_flow",
    "parse_flow",
    "start",
]
