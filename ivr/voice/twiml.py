"""The only TwiML builder: call-flow actions in, a VoiceResponse document out.

Prompts are looked up and filled here (never assembled as XML strings elsewhere), spoken slowly
with SSML prosody, and nested inside ``<Gather>`` so that a key press interrupts them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from twilio.twiml.voice_response import Dial, Gather, Say, VoiceResponse

from callflows import Action, Catalogue, Hangup, Transfer
from callflows import Gather as GatherAction
from callflows import Say as SayAction


@dataclass(frozen=True)
class Voice:
    """Who speaks to this caller: catalogue language, TTS language and voice, and pace."""

    lang: str
    tts_language: str
    voice: str
    rate: str


@dataclass(frozen=True)
class Render:
    catalogue: Catalogue
    voice: Voice
    args: Mapping[str, str] = field(default_factory=dict)  # {community}, {hotline}, …
    gather_url: Callable[[], str] = lambda: ""
    dial_url: Callable[[], str] = lambda: ""
    transfer_to: str | None = None
    caller_id: str | None = None


def render(actions: tuple[Action, ...], how: Render) -> str:
    response = VoiceResponse()
    for action in actions:
        if isinstance(action, SayAction):
            response.append(_say(action, how))
        elif isinstance(action, GatherAction):
            response.append(_gather(action, how))
        elif isinstance(action, Transfer):
            response.append(_dial(action, how))
        elif isinstance(action, Hangup):
            response.hangup()
    return str(response)


def _say(action: SayAction, how: Render) -> Say:
    text = how.catalogue.text(action.prompt, how.voice.lang, {**how.args, **action.args})
    say = Say(language=how.voice.tts_language, voice=how.voice.voice)
    say.prosody(text, rate=how.voice.rate)
    return say


def _gather(action: GatherAction, how: Render) -> Gather:
    gather = Gather(
        action=how.gather_url(),
        method="POST",
        input="dtmf",
        timeout=action.timeout_s,
        num_digits=action.num_digits,
        finish_on_key="#",
        action_on_empty_result=True,
    )
    for prompt in action.prompts:
        gather.append(_say(prompt, how))
    return gather


def _dial(action: Transfer, how: Render) -> Dial:
    dial = Dial(
        action=how.dial_url(), method="POST", timeout=action.timeout_s, caller_id=how.caller_id
    )
    dial.number(how.transfer_to or "")
    return dial


def apology(catalogue: Catalogue, voice: Voice) -> str:
    """What a caller hears when we cannot serve the call (e.g. the database is down)."""
    return render((SayAction("apology"), Hangup()), Render(catalogue, voice))
