"""The built wheel carries every package, the migrations, the catalogs and the entry points."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from boxoffice.kernel import hookdocs

ROOT = Path(__file__).resolve().parent.parent


PACKAGE_FOLDERS = ("kernel", "hookspecs", "plugins", "apps")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info")


@pytest.mark.slow
def test_wheel_contains_every_package(tmp_path: Path):
    # Build from a clean copy: a stale build/ folder in the work tree must not leak old files into the test.
    source = tmp_path / "source"
    for folder in PACKAGE_FOLDERS:
        shutil.copytree(ROOT / folder, source / folder, ignore=IGNORED)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("boxoffice-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    python_in_wheel = {name for name in names if name.endswith(".py")}
    python_in_source = {
        f"boxoffice/{path.relative_to(source).as_posix()}"
        for folder in PACKAGE_FOLDERS
        for path in (source / folder).rglob("*.py")
    }
    assert python_in_wheel == python_in_source
    assert "boxoffice/kernel/locale/de/LC_MESSAGES/boxoffice.po" in names
    assert "boxoffice/kernel/migrations/script.py.mako" in names
    assert not any(name.startswith(("tests/", "boxoffice/tests")) for name in names)
    (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[boxoffice.plugins]" in text
    assert "core = boxoffice.kernel.defaults" in text
    assert "placeholders = boxoffice.plugins.placeholders" in text
    assert "boxoffice = boxoffice.apps.cli:main" in text


def test_hook_reference_is_current():
    committed = (ROOT / "docs" / "plugins.md").read_text()
    assert committed == hookdocs.render(), "run: python -m boxoffice.kernel.hookdocs > docs/plugins.md"


def test_every_hook_is_documented():
    from boxoffice.hookspecs import FAMILIES

    for family in FAMILIES:
        assert family.__doc__, family.__name__
        for name in dir(family):
            function = getattr(family, name)
            if hasattr(function, "boxoffice_spec"):
                assert function.__doc__ and len(function.__doc__) > 40, f"{family.__name__}.{name}"
