"""facekit.settings: the one reader of FACEKIT_* variables, and how each kind is parsed and refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import facekit
from facekit.errors import InvalidInputError
from facekit.limits import Limits
from facekit.settings import setting, setting_bool, setting_number

NAME = "TEST_SETTING"


def test_unset_and_blank_are_none(monkeypatch):
    monkeypatch.delenv("FACEKIT_" + NAME, raising=False)
    assert setting(NAME) is setting_bool(NAME) is setting_number(NAME) is None
    monkeypatch.setenv("FACEKIT_" + NAME, "   ")
    assert setting(NAME) is setting_bool(NAME) is setting_number(NAME) is None


def test_text_is_stripped(monkeypatch):
    monkeypatch.setenv("FACEKIT_" + NAME, "  int8 \n")
    assert setting(NAME) == "int8"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", True),
        ("TRUE", True),
        (" yes ", True),
        ("On", True),
        ("0", False),
        ("false", False),
        ("NO", False),
        ("off", False),
    ],
)
def test_booleans(monkeypatch, text, value):
    monkeypatch.setenv("FACEKIT_" + NAME, text)
    assert setting_bool(NAME) is value


@pytest.mark.parametrize("text", ["2", "maybe", "truth", "-1"])
def test_other_booleans_are_refused_naming_the_variable(monkeypatch, text):
    monkeypatch.setenv("FACEKIT_" + NAME, text)
    with pytest.raises(InvalidInputError, match=f"FACEKIT_{NAME} must be one of .*got '{re.escape(text)}'"):
        setting_bool(NAME)


def test_numbers(monkeypatch):
    monkeypatch.setenv("FACEKIT_" + NAME, " 12 ")
    assert setting_number(NAME) == 12 and type(setting_number(NAME)) is int
    assert setting_number(NAME, float) == 12.0 and type(setting_number(NAME, float)) is float
    monkeypatch.setenv("FACEKIT_" + NAME, "2.5")
    assert setting_number(NAME, float) == 2.5
    with pytest.raises(InvalidInputError, match=f"FACEKIT_{NAME} must be a number, got '2.5'"):
        setting_number(NAME, int)
    monkeypatch.setenv("FACEKIT_" + NAME, "lots")
    with pytest.raises(InvalidInputError, match="must be a number"):
        setting_number(NAME, float)


def test_limits_read_their_settings(monkeypatch):
    monkeypatch.setenv("FACEKIT_MAX_BYTES", "1000")
    monkeypatch.setenv("FACEKIT_URL_TIMEOUT", "2.5")
    limits = Limits.from_env()
    assert limits.max_bytes == 1000 and type(limits.max_bytes) is int
    assert limits.url_timeout == 2.5 and limits.max_pixels == Limits().max_pixels
    monkeypatch.setenv("FACEKIT_MAX_PIXELS", "big")
    with pytest.raises(InvalidInputError, match="FACEKIT_MAX_PIXELS"):
        Limits.from_env()


def readers_of_facekit_variables() -> list[str]:
    """Lines outside facekit/settings.py that read a FACEKIT_* variable from the environment."""
    package = Path(facekit.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        if path == package / "settings.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"(os\.environ|getenv)\b.*FACEKIT_|FACEKIT_.*(os\.environ|getenv)", line):
                found.append(f"{path.relative_to(package)}:{number}")
    return found


def test_settings_is_the_only_reader_of_facekit_variables():
    assert readers_of_facekit_variables() == []
