"""How a call sounds and runs for this caller: flow, language, voice, names, media and URLs."""

from __future__ import annotations

from flask import Flask, current_app, url_for
from sqlalchemy.orm import object_session

from callflows import IDENTIFY_FLOW, Flow, load_flow
from ivr import clock_of, flow_of, settings_of
from ivr.config import Settings
from ivr.domain import notice_recordings, release_calls, transfer
from ivr.domain.calls import CallEnv
from ivr.domain.inbound import Flows, env_for
from ivr.domain.recordings import recordings_of
from ivr.web.voice.signature import public_url
from ivr.web.voice.twiml import MediaUrl, Render, Voice
from storage import CallAttempt


def voice_for(flow: Flow, lang: str | None, settings: Settings) -> Voice:
    code = flow.catalogue.resolve_language(lang or settings.language)
    meta = flow.catalogue.languages[code]
    return Voice(code, meta.tts_language, meta.voice, settings.speech_rate)


def prompt_args(attempt: CallAttempt, settings: Settings) -> dict[str, str]:
    """The community's name and the number a resident can call to check the call is genuine:
    its hotline, else its duty phone, else the deployment's (never an empty number)."""
    resident = attempt.resident
    fallback = settings.duty_phone or ""
    if resident is None:
        return {"community": "", "hotline": _national(fallback)}
    community = resident.community
    hotline = community.hotline or community.duty_phone or fallback
    return {"community": community.name, "hotline": _national(hotline)}


def _national(e164: str) -> str:
    """Read a Chinese number as people dial it at home (0371…), not with +86."""
    return (
        "0" + e164[3:]
        if e164.startswith("+86") and not e164.startswith("+861")
        else (e164[3:] if e164.startswith("+86") else e164)
    )


def _app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def flows_of(app: Flask) -> Flows:
    """The check-in flow in use, and the built-in flow that identifies unknown callers."""
    identify: Flow | None = app.extensions.get("pingan.identify_flow")
    if identify is None:
        identify = load_flow(IDENTIFY_FLOW)
        app.extensions["pingan.identify_flow"] = identify
    return Flows(flow_of(app), identify)


def base_env() -> CallEnv:
    app = _app()
    return CallEnv(flow_of(app), settings_of(app), clock_of(app).now())


def call_env(attempt: CallAttempt) -> CallEnv:
    """The environment this call's events run in (its flow depends on who is calling)."""
    return env_for(attempt, base_env(), flows_of(_app()))


def flow_for(app: Flask, attempt: CallAttempt) -> Flow:
    """The flow whose words this call speaks: a release call's own, else the check-in's (which
    has the identify flow's words too)."""
    return release_calls.release_flow() if release_calls.is_release_call(attempt) else flow_of(app)


def render_for(attempt: CallAttempt, turn: int, leg: int = 0) -> Render:
    """How this call's reply sounds; a transfer in it rings number ``leg``
    (``ivr.domain.transfer``)."""
    app = _app()
    settings, flow = settings_of(app), flow_for(app, attempt)
    base = public_url(app)
    voice = voice_for(flow, attempt.language, settings)

    def transfer_to() -> str | None:
        session = object_session(attempt)
        assert session is not None  # replies are rendered inside the request's session
        return transfer.number_of_leg(session, attempt, leg, settings, clock_of(app).now())

    return Render(
        catalogue=flow.catalogue,
        voice=voice,
        args=prompt_args(attempt, settings),
        gather_url=lambda: base + url_for("voice.gather", code=attempt.code, t=turn),
        dial_url=lambda: base + url_for("voice.dial", code=attempt.code, t=turn, leg=leg),
        screen_url=lambda: base + url_for("voice.screen", code=attempt.code, leg=leg),
        transfer_to=transfer_to,
        caller_id=settings.caller_id,
        recorded=media_urls(app, voice.lang),
        uploaded=lambda name: notice_url(app, name),
    )


def staff_render(attempt: CallAttempt, leg: int) -> Render:
    """The screen a transfer's staff member hears, in the deployment's language."""
    app = _app()
    settings, flow = settings_of(app), flow_of(app)
    voice = voice_for(flow, None, settings)
    name = attempt.resident.name if attempt.resident else ""
    return Render(
        catalogue=flow.catalogue,
        voice=voice,
        args={**prompt_args(attempt, settings), "name": name},
        gather_url=lambda: public_url(app) + url_for("voice.screened", code=attempt.code, leg=leg),
        recorded=media_urls(app, voice.lang),
    )


def plain_render() -> Render:
    app = _app()
    flow = flow_of(app)
    voice = voice_for(flow, None, settings_of(app))
    return Render(flow.catalogue, voice, recorded=media_urls(app, voice.lang))


def notice_url(app: Flask, name: str) -> str | None:
    """A notice recording's media URL; None when its file is gone (the text is read instead of
    a ``<Play>`` Twilio could not fetch)."""
    if notice_recordings.file_of(settings_of(app), name) is None:
        return None
    return public_url(app) + url_for("voice.notice_media", file_name=name)


def media_urls(app: Flask, lang: str) -> MediaUrl:
    """Recorded prompt part → its absolute media URL; the folder is listed once per request.

    The file's version is in the URL, so Twilio's media cache never plays an old recording.
    """
    listing = recordings_of(app).listing(lang)
    base = public_url(app)

    def url(stem: str) -> str | None:
        found = listing.get(stem)
        if found is None:
            return None
        path = url_for("voice.prompt_media", lang=lang, file_name=found.file_name, v=found.version)
        return base + path

    return url
