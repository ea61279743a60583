"""Pingan's web app and workers. ``create_app`` is the only place anything is wired together."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from callflows import Flow, load_flow
from ivr import db
from ivr.carriers.telephony import Carrier
from ivr.clock import Clock, SystemClock
from ivr.config import Settings, load_settings
from storage.stats_stale import keep_stale_marks


def create_app(
    overrides: Mapping[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    carrier: Carrier | None = None,
    environ: Mapping[str, str] | None = None,
) -> Flask:
    """Build the app: settings, database, clock, call flow, carrier, blueprints.

    ``overrides`` are typed setting values (``{"calls_per_second": 5.0}``) that win over the
    environment; tests and the demo use them instead of patching ``os.environ``.
    """
    settings = load_settings(environ, overrides)
    Path(settings.instance_path).mkdir(parents=True, exist_ok=True)
    settings = _with_generated_secrets(settings)
    app = Flask(__name__, instance_path=settings.instance_path)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=1024 * 1024)
    _configure_logging(settings)
    app.extensions["pingan.settings"] = settings
    app.extensions["pingan.clock"] = clock or SystemClock()
    app.extensions["pingan.flow"] = load_flow(settings.flow_file)
    app.extensions["pingan.public_url"] = settings.public_url
    db.init_app(app, settings.database_url)
    keep_stale_marks(db.sessions(app), app.extensions["pingan.clock"].now, settings.tz)
    app.extensions["pingan.carrier"] = carrier or _make_carrier(
        settings, app.extensions["pingan.clock"]
    )
    _register_blueprints(app)
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app


def _with_generated_secrets(settings: Settings) -> Settings:
    """Secrets an operator did not set are generated once and kept in the instance folder.

    The simulator signs webhooks like Twilio does, so it needs an auth token even without a
    Twilio account; keeping it in a file lets ``pingan serve`` and ``pingan call`` agree.
    """
    changes: dict[str, str] = {}
    if not settings.secret_key:
        changes["secret_key"] = _instance_secret(settings, "secret-key")
    if not settings.twilio_auth_token:
        changes["twilio_auth_token"] = _instance_secret(settings, "simulator-auth-token")
    return settings.replace(**changes) if changes else settings


def _instance_secret(settings: Settings, name: str) -> str:
    path = Path(settings.instance_path) / name
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _make_carrier(settings: Settings, clock: Clock) -> Carrier:
    if settings.carrier == "twilio":
        from ivr.carriers.telephony import TwilioCarrier

        return TwilioCarrier(
            settings.twilio_account_sid or "",
            settings.twilio_auth_token or "",
            settings.twilio_api_base,
        )
    if settings.carrier == "aliyun":
        from ivr.carriers.aliyun.carrier import AliyunCarrier
        from ivr.carriers.aliyun.sms import AliyunSms

        key_id, secret = (
            settings.aliyun_access_key_id or "",
            settings.aliyun_access_key_secret or "",
        )
        sms = AliyunSms(
            key_id,
            secret,
            settings.aliyun_sms_endpoint,
            settings.aliyun_sms_sign_name or "",
            settings.sms_templates,
        )
        return AliyunCarrier(key_id, secret, settings.aliyun_endpoint, clock=clock, sms=sms)
    from ivr.carriers.simulator import SimulatedCarrier

    # PINGAN_CARRIER=simulator plays a Twilio account vetted for China before Twilio stopped
    # calling it (30 November 2023): the demo's and tests' residents are +86 numbers.
    return SimulatedCarrier(
        auth_token=settings.twilio_auth_token or "",
        owned_numbers={settings.caller_id},
        china_vetted=True,
    )


def _register_blueprints(app: Flask) -> None:
    from ivr.carriers.aliyun.callbacks import bp as aliyun_bp
    from ivr.carriers.telegram.webhook import bp as telegram_bp
    from ivr.domain.health import bp as health_bp
    from ivr.web import dashboard
    from ivr.web.sms import bp as sms_bp
    from ivr.web.voice import bp as voice_bp

    app.register_blueprint(voice_bp)
    app.register_blueprint(aliyun_bp)
    app.register_blueprint(sms_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(telegram_bp)
    from ivr.carriers.telegram import pages  # noqa: F401  (the resident page's panel, on the dashboard)

    dashboard.init_app(app, settings_of(app))  # pages, JSON API, sessions, CSRF, translations


def _configure_logging(settings: Settings) -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("ivr").setLevel(settings.log_level)


def settings_of(app: Flask) -> Settings:
    settings: Settings = app.extensions["pingan.settings"]
    return settings


def clock_of(app: Flask) -> Clock:
    clock: Clock = app.extensions["pingan.clock"]
    return clock


def carrier_of(app: Flask) -> Carrier:
    carrier: Carrier = app.extensions["pingan.carrier"]
    return carrier


def flow_of(app: Flask) -> Flow:
    flow: Flow = app.extensions["pingan.flow"]
    return flow
