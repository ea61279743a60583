"""``scripts/setup`` (which ``scripts/demo`` runs on every start) installs only when
``pyproject.toml`` changed since the last install: a demo start does not wait for pip."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[1]
FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/../../pip-calls"
"""


def checkout(tmp_path: Path) -> Path:
    """A copy of the script and the project file, with a virtualenv whose python only notes
    what it was asked to do."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup", tmp_path / "scripts" / "setup")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, body in (("python", FAKE_PYTHON), ("pingan", "#!/bin/sh\n")):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    return tmp_path


def setup(folder: Path) -> list[str]:
    subprocess.run([str(folder / "scripts" / "setup")], check=True, cwd=folder, timeout=60)
    calls = folder / "pip-calls"
    return calls.read_text().splitlines() if calls.exists() else []


def test_setup_installs_once_and_again_only_after_pyproject_changes(tmp_path: Path) -> None:
    folder = checkout(tmp_path)
    first = setup(folder)
    assert any("install --quiet -e .[test]" in call for call in first)
    assert setup(folder) == first  # nothing changed: pip is not run again
    with (folder / "pyproject.toml").open("a") as project:
        project.write("\n# a new dependency\n")
    assert len(setup(folder)) == 2 * len(first)
