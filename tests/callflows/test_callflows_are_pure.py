"""The call flow engine is pure: standard library only, so it can be reasoned about and tested
as data. Nothing under callflows/ may import the app, the database, Flask or twilio."""

from __future__ import annotations

import ast
from pathlib import Path

import callflows

FORBIDDEN = ("ivr", "storage", "flask", "sqlalchemy", "twilio", "werkzeug", "requests")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_callflows_imports_nothing_but_the_standard_library_and_itself() -> None:
    package = Path(callflows.__file__).parent
    offenders = {
        str(path.relative_to(package)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN
        )
        for path in package.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
