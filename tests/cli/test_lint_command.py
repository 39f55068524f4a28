"""`callflow lint` as a user runs it (a subprocess, real files), and its exit codes (in
process, through the same entry point: quicker)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from support.cli import callflow

from controller.cli import main

REPO = Path(__file__).resolve().parents[2]
CORPUS = "tests/fixtures/lint"
AUDIO = ("--audio", "tests/fixtures/audio")
EXPECTED = yaml.safe_load((REPO / "tests" / "fixtures" / "lint.expected.yaml").read_text())


def test_the_example_flows_lint_clean_by_default() -> None:
    result = callflow("lint")  # no PATH: flows/
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "flow(s) linted: 0 invalid; 0 error(s), 0 warning(s)" in result.stderr
    # the guide's flow keeps validation's dial warning; lint says it did not repeat it
    assert "validation warning(s) not repeated" in result.stderr


def test_the_readme_example_is_what_the_command_prints() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```console\n\$ callflow (lint .*?)\n(.*?)```", readme, re.DOTALL)
    assert match, "README.md has no callflow lint example"
    result = callflow(*match.group(1).split())
    assert result.returncode == 1
    assert match.group(2) == result.stdout + result.stderr


def test_the_corpus_prints_one_line_per_planted_problem() -> None:
    result = callflow("lint", CORPUS, *AUDIO)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == sum(len(findings) for findings in EXPECTED.values())
    for name, findings in EXPECTED.items():
        for finding in findings:
            prefix = f"{CORPUS}/{name}: {finding['node']}: {finding['pointer']}: "
            [line] = [line for line in lines if line.startswith(prefix)]
            assert re.search(rf": {finding['severity']}: .* \[{finding['code']}\]", line), line
            if "path" in finding:
                assert "; path: " + finding["path"][0] in line
    assert f"{len(EXPECTED)} flow(s) linted: 0 invalid; 2 error(s), 9 warning(s)" in result.stderr


def _exit_code(*args: str) -> int:
    try:
        return main(list(args))
    except SystemExit as exc:  # argparse's usage errors
        return int(exc.code or 0)


def test_fail_on_error_lets_warnings_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    warnings_only = [f"{CORPUS}/missing-label.yaml", f"{CORPUS}/unreachable-branch.yaml"]
    assert _exit_code("lint", *warnings_only, *AUDIO) == 1
    assert _exit_code("lint", *warnings_only, *AUDIO, "--fail-on", "error") == 0
    loop = f"{CORPUS}/loop-impossible-exit.yaml"
    assert _exit_code("lint", loop, *AUDIO, "--fail-on", "error") == 1


def test_json_report() -> None:
    result = callflow("lint", f"{CORPUS}/read-before-set.yaml", *AUDIO, "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["failOn"] == "warning"
    assert (report["errorCount"], report["warningCount"], report["invalidCount"]) == (0, 1, 0)
    [flow] = report["flows"]
    assert flow["valid"] is True and flow["validation"] == {"errors": [], "warnings": []}
    [finding] = flow["findings"]
    assert finding["code"] == "read-before-set" and finding["severity"] == "warning"
    assert finding["path"] == ["answer", "menu", "note"]
    assert finding["outputs"] == ["onSuccess", "onTimeout"]
    assert finding["line"] == 25  # the value it reads in


def test_an_invalid_flow_is_reported_as_validate_does_and_not_linted(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: Bad\ngraph:\n  startNodeId: a\n  nodes:\n"
        "    - {id: a, type: answer, outputs: {onSuccess: nowhere}}\n"
    )
    result = callflow("lint", str(bad), "--audio", str(tmp_path))
    assert result.returncode == 1
    validated = callflow("validate", str(bad), "--audio", str(tmp_path))
    assert result.stdout == validated.stdout  # no missing-label: it was not linted
    assert "1 flow(s) linted: 1 invalid" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code("lint", str(tmp_path / "nope.yaml")) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert _exit_code("lint", str(tmp_path)) == 2  # no flow files
    assert "no flow files" in capsys.readouterr().err
    assert _exit_code("lint", "--fail-on", "info") == 2
