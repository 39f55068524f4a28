"""`callflow test` as a user runs it: exit codes 0 / 1 / 2, diffs, JUnit, coverage."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from controller.cli import main

REPO = Path(__file__).resolve().parents[2]
BROKEN = REPO / "tests" / "fixtures" / "scenarios" / "broken.test.yaml"
AUDIO = ["--audio", str(REPO / "audio")]


def test_the_example_flows_pass_with_every_output_covered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coverage = tmp_path / "coverage.json"
    options = ["--min-coverage", "100", "--coverage-json", str(coverage)]
    code = main(["test", str(REPO / "flows"), *AUDIO, *options])
    out = capsys.readouterr().out
    assert code == 0, out
    for flow_id in ("payment-reminder", "inbound-ivr", "all-nodes"):
        assert f"flows/{flow_id}.test.yaml: " in out
        assert json.loads(coverage.read_text())["flows"][flow_id]["percent"] == 100.0
    assert " 0 failed (" in out


def test_a_broken_scenario_fails_with_a_readable_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "junit.xml"
    code = main(["test", str(BROKEN), *AUDIO, "--junit", str(junit)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"FAIL {BROKEN}:5: pressing 2 is taken for pressing 1\n" in out
    assert (
        "  path differs at step 4\n"
        "      step  expected          actual\n"
        "         1  dial-1            dial-1\n"
        "         2  play-greeting     play-greeting\n"
        "         3  collect-response  collect-response\n"
        "    >    4  play-confirmed    play-callback\n"
        "         5  hangup-success    hangup-success\n"
        "  outputs: collect-response: branches.1 was not taken\n"
        "      dial-1: onAnswer              step 1\n"
        "    > collect-response: branches.1  collect-response took branches.2 at step 3\n"
        "      play-confirmed: onComplete    (not checked)\n"
    ) in out
    assert "    customerResponse: expected '1', actual '2'\n" in out
    assert "  result: expected 'completed', actual 'voicemail'\n" in out
    assert "  actual path: dial-1 (onVoicemail) -> hangup-vm\n" in out
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "2"


def test_min_coverage_fails_a_passing_run(capsys: pytest.CaptureFixture[str]) -> None:
    single = REPO / "flows" / "payment-reminder.yaml"
    assert main(["test", str(single), *AUDIO, "--min-coverage", "100"]) == 0
    capsys.readouterr()
    code = main(["test", str(BROKEN), *AUDIO, "--min-coverage", "40", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["failedCount"] == 2  # coverage 60 % is enough, scenarios fail


def test_a_flow_without_scenarios_is_at_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REPO / "flows" / "payment-reminder.yaml", tmp_path / "untested.yaml")
    assert main(["test", str(tmp_path), *AUDIO]) == 0
    out = capsys.readouterr().out
    assert "  untested: no scenarios (add untested.test.yaml beside it)" in out
    assert main(["test", str(tmp_path), *AUDIO, "--min-coverage", "50"]) == 1
    assert "coverage of untested is 0.0%, below --min-coverage 50%" in capsys.readouterr().out


def test_usage_and_bad_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(tmp_path / "nowhere")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert main(["test", str(tmp_path)]) == 2
    assert "no scenario files (*.test.yaml) or flows found" in capsys.readouterr().err
    bad = tmp_path / "bad.test.yaml"
    bad.write_text(f"flow: {REPO / 'flows' / 'payment-reminder.yaml'}\nscenarios:\n  - nme: x\n")
    assert main(["test", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3: scenario 1: 'name' is required (text)\n" in err
    assert "callflow test: nothing was run" in err
    with pytest.raises(SystemExit) as usage:
        main(["test", "--min-coverage", "120"])
    assert usage.value.code == 2
