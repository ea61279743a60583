"""The only TwiML builder: call-flow actions in, a VoiceResponse document out.

Prompts are looked up and filled here (never assembled as XML strings elsewhere), spoken slowly
with SSML prosody, and nested inside ``<Gather>`` so that a key press interrupts them. A prompt
whose recordings all exist is played with ``<Play>`` instead, its values (a temperature, a
phone number) still spoken by TTS in the caller's language (see ``ivr.domain.recordings``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from twilio.twiml.voice_response import Dial, Gather, Play, Say, VoiceResponse

from callflows import Action, Catalogue, Hangup, Transfer
from callflows import Gather as GatherAction
from callflows import Say as SayAction
from ivr.domain.news import RECORDING_ARG
from ivr.domain.recordings import parts

MediaUrl = Callable[[str], str | None]


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
    screen_url: Callable[[], str] = lambda: ""  # what a transfer's callee hears first
    transfer_to: Callable[[], str | None] = lambda: None
    caller_id: str | None = None
    recorded: MediaUrl = lambda stem: None  # the media URL of a recorded prompt part, if any
    uploaded: MediaUrl = lambda name: None  # the media URL of a notice's own recording


def render(actions: tuple[Action, ...], how: Render) -> str:
    response = VoiceResponse()
    for action in actions:
        if isinstance(action, SayAction):
            for verb in _prompt(action, how):
                response.append(verb)
        elif isinstance(action, GatherAction):
            response.append(_gather(action, how))
        elif isinstance(action, Transfer):
            response.append(_dial(action, how))
        elif isinstance(action, Hangup):
            response.hangup()
    return str(response)


def _prompt(action: SayAction, how: Render) -> list[Say | Play]:
    """One prompt: its recordings when all exist (values spoken between them), else TTS. A
    value with a recording of its own (a notice staff recorded) is played in its place."""
    pieces = parts(how.catalogue, action.prompt, how.voice.lang, {**how.args, **action.args})
    urls = [how.recorded(p.stem) if p.stem else None for p in pieces]
    recorded = all(url for piece, url in zip(pieces, urls, strict=True) if piece.stem)
    own = how.uploaded(action.args[RECORDING_ARG]) if RECORDING_ARG in action.args else None
    if not recorded and own is None:
        return [_say("".join(p.segment.text for p in pieces), how)]
    verbs: list[Say | Play] = []
    for piece, url in zip(pieces, urls, strict=True):
        if own and piece.segment.slot:
            verbs.append(Play(own))
        elif url and recorded:
            verbs.append(Play(url))
        elif piece.segment.text.strip() and (piece.segment.slot or not recorded):
            verbs.append(_say(piece.segment.text, how))
    return verbs


def _say(text: str, how: Render) -> Say:
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
        finish_on_key=action.finish_key,
        action_on_empty_result=True,
    )
    for prompt in action.prompts:
        for verb in _prompt(prompt, how):
            gather.append(verb)
    return gather


def _dial(action: Transfer, how: Render) -> Dial:
    dial = Dial(
        action=how.dial_url(), method="POST", timeout=action.timeout_s, caller_id=how.caller_id
    )
    dial.number(how.transfer_to() or "", url=how.screen_url(), method="POST")
    return dial


def screen(how: Render, timeout_s: int) -> str:
    """The staff side of a transfer: press 1 to take the call; anything else hangs up."""
    response = VoiceResponse()
    gather = Gather(
        action=how.gather_url(),
        method="POST",
        input="dtmf",
        timeout=timeout_s,
        num_digits=1,
        action_on_empty_result=True,
    )
    for verb in _prompt(SayAction("screen_staff"), how):
        gather.append(verb)
    response.append(gather)
    response.hangup()
    return str(response)


def connect() -> str:
    """An empty reply to the screen: the callee is connected to the caller."""
    return str(VoiceResponse())


def hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def apology(catalogue: Catalogue, voice: Voice) -> str:
    """What a caller hears when we cannot serve the call (e.g. the database is down)."""
    return render((SayAction("apology"), Hangup()), Render(catalogue, voice))
