"""The fixture corpus: every file in tests/fixtures/flows/good and bad, checked against the
expectations kept beside each directory (good.expected.yaml, bad.expected.yaml).

Adding a fixture file adds a test; a fixture without an expectation (or an expectation without
its file) fails `test_every_fixture_has_an_expectation`. Expectations state what is *right*:
where the controller is known to get a file wrong, the test is marked xfail (strict) with the
reason, so fixing the bug turns it into a failure to remove the mark.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.cli import callflow

from controller.flows.loader import flow_id_for, is_flow_file, load_flow_file

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "flows"
GOOD, BAD = FIXTURES / "good", FIXTURES / "bad"
AUDIO = REPO / "tests" / "fixtures" / "audio"

# Fixtures whose correct expectation the controller does not meet yet (reported bugs): the
# ones that crash validation with a traceback, and the ones it merely gets wrong.
# Fixtures whose expectation the controller does not meet yet: name -> the bug, so the
# corpus can record a bug before it is fixed (strict xfail flips red once it is).
KNOWN_CRASHES: dict[str, str] = {}
KNOWN_BUGS: dict[str, str] = {**KNOWN_CRASHES}


def _load_expected(name: str) -> dict[str, Any]:
    with (FIXTURES / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


GOOD_EXPECTED: dict[str, list[str]] = _load_expected("good.expected.yaml")
BAD_EXPECTED: dict[str, list[dict[str, Any]]] = _load_expected("bad.expected.yaml")


def _fixtures(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file())


def _params(directory: Path) -> list[Any]:
    params = []
    for path in _fixtures(directory):
        marks = []
        if path.name in KNOWN_BUGS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[path.name]))
        params.append(pytest.param(path, id=path.name, marks=marks))
    return params


def _load(path: Path) -> Any:
    return load_flow_file(path, audio_root=AUDIO)


def _key(problem: dict[str, Any]) -> tuple[Any, ...]:
    return (problem["code"], problem["node"], problem["pointer"], problem["severity"])


def _has_error(problems: list[dict[str, Any]]) -> bool:
    return any(p["severity"] == "error" for p in problems)


@pytest.mark.parametrize(
    ("directory", "expected"), [(GOOD, GOOD_EXPECTED), (BAD, BAD_EXPECTED)], ids=["good", "bad"]
)
def test_every_fixture_has_an_expectation(directory: Path, expected: dict[str, Any]) -> None:
    on_disk = {p.name for p in _fixtures(directory)}
    assert sorted(on_disk - set(expected)) == [], "fixtures without an expectation"
    assert sorted(set(expected) - on_disk) == [], "expectations without a fixture"
    stems = [flow_id_for(p) for p in _fixtures(directory)]
    assert len(stems) == len(set(stems)), "two fixtures claim one flow id"


def test_every_fixture_is_discovered_as_a_flow_file() -> None:
    assert [p.name for p in _fixtures(GOOD) + _fixtures(BAD) if not is_flow_file(p)] == []


@pytest.mark.parametrize("path", _params(GOOD))
def test_good_fixture(path: Path) -> None:
    result = _load(path)
    assert result.errors == [], [p.as_text() for p in result.errors]
    assert result.flow is not None
    assert sorted(p.code for p in result.warnings) == sorted(GOOD_EXPECTED[path.name])


@pytest.mark.parametrize("path", _params(BAD))
def test_bad_fixture(path: Path) -> None:
    expected = BAD_EXPECTED[path.name]
    result = _load(path)  # returning at all is the "never a traceback" half
    actual = [p.as_dict() for p in result.problems]
    assert sorted(map(_key, actual), key=repr) == sorted(map(_key, expected), key=repr)
    for want in expected:
        [got] = [p for p in actual if _key(p) == _key(want)]
        if "line" in want:
            assert got["line"] == want["line"], got
        if "message_contains" in want:
            assert want["message_contains"] in got["message"], got
    for problem in actual:
        message = str(problem["message"])
        assert message and "\n" not in message and "Traceback" not in message, problem
        assert problem["file"] == str(path)
    assert result.valid is not _has_error(expected)
    assert (result.flow is None) is _has_error(expected)


def test_fixture_audio_files_are_small_valid_wavs() -> None:
    files = sorted(AUDIO.rglob("*.wav"))
    assert files
    for path in files:
        with wave.open(str(path), "rb") as audio:
            shape = (audio.getnchannels(), audio.getsampwidth(), audio.getframerate())
            assert shape == (1, 2, 8000), path  # mono, 16-bit, 8 kHz
            assert 0 < audio.getnframes() <= 8000, path  # at most a second
        assert path.stat().st_size < 20_000


_cli = callflow


def test_cli_accepts_the_good_directory() -> None:
    result = _cli("validate", "tests/fixtures/flows/good", "--audio", "tests/fixtures/audio")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert f"{len(GOOD_EXPECTED)} flow(s) checked: {len(GOOD_EXPECTED)} valid" in result.stderr


@pytest.mark.xfail(
    bool(KNOWN_CRASHES), strict=True, reason=f"validation crashes on {sorted(KNOWN_CRASHES)}"
)
def test_cli_rejects_the_bad_directory() -> None:
    result = _cli("validate", "tests/fixtures/flows/bad", "--audio", "tests/fixtures/audio")
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{len(BAD_EXPECTED)} flow(s) checked" in result.stderr


def test_cli_json_report_says_which_bad_fixtures_are_invalid() -> None:
    paths = [str(p.relative_to(REPO)) for p in _fixtures(BAD) if p.name not in KNOWN_CRASHES]
    result = _cli("validate", "--format", "json", "--audio", "tests/fixtures/audio", *paths)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert len(report["flows"]) == len(paths)
    invalid = {Path(flow["file"]).name for flow in report["flows"] if not flow["valid"]}
    expected = {n for n, problems in BAD_EXPECTED.items() if _has_error(problems)}
    assert invalid - set(KNOWN_BUGS) == expected - set(KNOWN_BUGS)


def test_cli_usage_error_for_a_missing_path() -> None:
    result = _cli("validate", "tests/fixtures/flows/no-such-directory")
    assert result.returncode == 2
    assert "no such file or directory" in result.stderr
