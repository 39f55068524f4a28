"""Reports: JUnit XML that CI systems can read, JSON for tools, text for people."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from controller.scenarios import report as reports
from controller.scenarios import suite

REPO = Path(__file__).resolve().parents[2]
BROKEN = REPO / "tests" / "fixtures" / "scenarios" / "broken.test.yaml"


@pytest.fixture(scope="module")
def broken() -> reports.Report:
    loaded = suite.load(suite.find([BROKEN]), audio=REPO / "audio")
    return suite.run(loaded, audio=REPO / "audio", min_coverage=100)


def test_junit_is_well_formed_with_one_failure_per_failed_scenario(
    broken: reports.Report,
) -> None:
    root = ET.fromstring(reports.junit(broken))
    assert root.tag == "testsuites"
    [scenarios, coverage] = root.findall("testsuite")
    assert scenarios.get("name") == str(BROKEN)
    assert (scenarios.get("tests"), scenarios.get("failures")) == ("3", "2")
    cases = scenarios.findall("testcase")
    assert [case.get("name") for case in cases] == [
        "pressing 2 is taken for pressing 1",
        "a machine is taken for a person",
        "this one is right",
    ]
    assert {case.get("classname") for case in cases} == {"payment-reminder"}
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("message") == "path differs at step 4"
    assert ">    4  play-confirmed    play-callback" in (failure.text or "")
    assert cases[2].find("failure") is None
    # 6 of the payment reminder's 10 wired outputs: below --min-coverage 100
    [min_coverage] = coverage.findall("testcase")
    assert min_coverage.get("classname") == "payment-reminder"
    assert min_coverage.find("failure").get("message") == "coverage 60.0% < 100%"


def test_json_report(broken: reports.Report) -> None:
    data = reports.as_json(broken)
    assert data["passed"] is False
    assert (data["scenarioCount"], data["failedCount"]) == (3, 2)
    first = data["scenarios"][0]
    assert first["line"] == 5 and first["flowId"] == "payment-reminder"
    assert [f["field"] for f in first["failures"]] == ["path", "outputs", "variables"]
    assert first["path"][-1] == "hangup-success"
    assert data["coverage"]["flows"]["payment-reminder"]["percent"] == 60.0


def test_text_report_summary(broken: reports.Report) -> None:
    text = reports.text(broken)
    assert text.startswith(f"{BROKEN}: 3 scenario(s), 1 passed, 2 FAILED\n")
    assert f"FAIL {BROKEN}:17: a machine is taken for a person\n" in text
    assert "coverage of payment-reminder is 60.0%, below --min-coverage 100%" in text
    assert text.rstrip().splitlines()[-1].startswith("3 scenario(s): 1 passed, 2 failed (")
