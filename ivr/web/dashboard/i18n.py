"""Translations of the dashboard: Chinese (zh-CN) is the source text, English is a catalogue.

Every visible string is written in Chinese and wrapped in ``_()`` (templates) or
``gettext``/``lazy_gettext`` (Python); the Chinese text is the message id. The English catalogue
is an ordinary gettext ``.po`` file (``translations/en.po``, edited with any PO tool), compiled in
memory when the app starts: a fresh checkout needs no separate compile step and no ``.mo`` files
are written anywhere. A test checks that every message has an English translation.

The language is chosen with ``?lang=en`` (or ``zh_CN``) on any page and kept in the session.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, g, request, session
from flask_babel import Babel, Domain, force_locale, get_locale

DEFAULT = "zh_CN"
LANGUAGES = {"zh_CN": "中文", "en": "English"}
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}
CATALOGUES = Path(__file__).with_name("translations")


def load_catalogue(language: str) -> Translations:
    """The ``.po`` catalogue of ``language`` compiled in memory."""
    with (CATALOGUES / f"{language}.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


class CatalogueDomain(Domain):  # type: ignore[misc]
    """Flask-Babel's domain, answering from the catalogues compiled at start-up."""

    def __init__(self, catalogues: dict[str, NullTranslations]) -> None:
        super().__init__()
        self.catalogues = catalogues

    def get_translations(self) -> NullTranslations:
        # Asked once per translated string (hundreds per page): remember it for the request,
        # with its language, as a text may be forced into another one (``force_locale``).
        language = current_language()
        found: tuple[str, NullTranslations] | None = g.get("pingan_translations")
        if found is None or found[0] != language:
            found = g.pingan_translations = (
                language,
                self.catalogues.get(language, NullTranslations()),
            )
        return found[1]


def init_app(app: Flask) -> None:
    catalogues: dict[str, NullTranslations] = {DEFAULT: NullTranslations()}
    catalogues.update({lang: load_catalogue(lang) for lang in LANGUAGES if lang != DEFAULT})
    babel = Babel(
        app,
        default_locale=DEFAULT,
        locale_selector=choose_language,
        default_domain="messages",
    )
    domain = babel.domain_instance = CatalogueDomain(catalogues)
    app.extensions["pingan.languages"] = catalogues
    # Templates ask the domain straight away: Flask-Babel's own callables first look the
    # domain up on every call, which was a fifth of rendering a long list.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by ext.i18n
        gettext=lambda s: domain.get_translations().ugettext(s),
        ngettext=lambda s, p, n: domain.get_translations().ungettext(s, p, n),
        newstyle=True,
    )


def choose_language() -> str:
    chosen = request.args.get("lang") if request else None
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return chosen
    stored = session.get("lang") if request else None
    return stored if stored in LANGUAGES else DEFAULT


def current_language() -> str:
    """The language of this request (Flask-Babel asks once per request and remembers it)."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else DEFAULT


@contextmanager
def speaking(app: Flask, language: str) -> Iterator[None]:
    """Messages and labels in a deployment's language (``PINGAN_LANGUAGE``) outside a request,
    for what the CLI prints. Cantonese deployments read the Chinese text."""
    # A fresh app context: the domain remembers a language per context (``g``).
    with app.app_context(), force_locale("en" if language == "en" else DEFAULT):
        yield


def html_lang() -> str:
    return HTML_LANG[current_language()]


def source_messages() -> set[str]:
    """Every message id in the dashboard's templates and Python modules, and the demo's."""
    from babel.messages.extract import extract_from_dir

    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None}
    folders = (Path(__file__).parent, Path(__file__).parents[1] / "demo")
    found = [
        message
        for folder in folders
        for _, _, message, *_ in extract_from_dir(
            str(folder), method_map, options, keywords=keywords, strip_comment_tags=True
        )
    ]
    return {message if isinstance(message, str) else message[0] for message in found}


def missing_translations(language: str = "en") -> list[str]:
    with (CATALOGUES / f"{language}.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    translated = {m.id for m in catalog if m.id and m.string}
    return sorted(source_messages() - translated)
