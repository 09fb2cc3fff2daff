"""The three dependency files agree: requirements.in, requirements.txt, environment.yml.

All three are written by `make lock` (scripts/lock.py) except requirements.in, which is edited
by hand; these tests catch a hand edit of one that was not followed by `make lock`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")


def normalize(name: str) -> str:
    """Compare package names as pip does: case-insensitive, `_` and `.` the same as `-`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str], source: str) -> dict[str, str]:
    """Normalized name -> version for requirement lines; fails on anything but an exact pin."""
    result: dict[str, str] = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        assert match, f"{source}: {raw!r} is not an exact `name==version` pin"
        name = normalize(match[1])
        assert name not in result, f"{source}: {match[1]} is listed twice"
        result[name] = match[2]
    return result


def read_lines(name: str) -> list[str]:
    return (ROOT / name).read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def locked() -> dict[str, str]:
    return pins(read_lines("requirements.txt"), "requirements.txt")


@pytest.fixture(scope="module")
def environment() -> dict:
    with open(ROOT / "environment.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_environment_yml_header(environment: dict) -> None:
    assert environment["name"] == "dl-course"
    assert environment["channels"] == ["conda-forge"]
    deps = environment["dependencies"]
    assert "python=3.11" in deps
    assert "pip" in deps


def test_environment_yml_pins_same_packages_as_requirements_txt(
    environment: dict, locked: dict[str, str]
) -> None:
    sections = [dep["pip"] for dep in environment["dependencies"] if isinstance(dep, dict)]
    assert len(sections) == 1, "environment.yml needs exactly one pip: section"
    pip_lines = sections[0]
    assert "-e ." in pip_lines, "environment.yml's pip: section must install course_lib (-e .)"
    conda_pins = pins([line for line in pip_lines if line != "-e ."], "environment.yml")
    assert conda_pins == locked


def test_requirements_in_is_exact_and_locked(locked: dict[str, str]) -> None:
    top = pins(read_lines("requirements.in"), "requirements.in")
    assert {"jax", "jaxlib", "jupyterlab", "nbval", "pytest"} <= top.keys()
    assert top["jax"] == top["jaxlib"]
    for name, version in top.items():
        assert locked.get(name) == version, (
            f"requirements.in pins {name}=={version} but requirements.txt has "
            f"{locked.get(name, 'no such package')}; run `make lock`"
        )


def test_requirements_txt_excludes_course_lib(locked: dict[str, str]) -> None:
    assert "course-lib" not in locked
    assert not any(line.lstrip().startswith("-e") for line in read_lines("requirements.txt"))
