"""`callflow graph`: formats, output file, coverage, SVG with and without Graphviz, and the
README's picture of the Payment Reminder, which must be what the command prints."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import callflow

from controller.cli import main

REPO = Path(__file__).resolve().parents[2]
FLOW = "flows/payment-reminder.yaml"
GOLDEN = REPO / "tests" / "fixtures" / "graph"


def _run(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    """The command with PATH set to `path`, as a user whose PATH holds (or lacks) `dot`."""
    return subprocess.run(
        [sys.executable, "-m", "controller.cli", "graph", *args],
        cwd=REPO,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _exit_code(*args: str) -> int:
    try:
        return main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)


def test_the_readme_shows_what_the_command_prints() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(
        rf"<!-- callflow graph {re.escape(FLOW)} -->\n```mermaid\n(.*?)```\n"
        r"<!-- end callflow graph -->",
        readme,
        re.DOTALL,
    )
    assert match, "README.md has no generated picture of the Payment Reminder"
    result = callflow("graph", FLOW, "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    assert match.group(1) == result.stdout, (
        f"README.md's picture is out of date: paste `callflow graph {FLOW}` into it"
    )


@pytest.mark.parametrize(("fmt", "suffix"), [("mermaid", "mmd"), ("dot", "dot")])
def test_output_file(
    fmt: str, suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / f"picture.{suffix}"
    assert _exit_code("graph", FLOW, "--format", fmt, "-o", str(out)) == 0
    assert out.read_text() == (GOLDEN / f"payment-reminder.{suffix}").read_text()


def test_coverage_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    coverage = tmp_path / "coverage.json"
    taken = {"dial-1": {"onAnswer": 2, "onBusy": 0}, "collect-response": {"branches.1": 2}}
    coverage.write_text(json.dumps({"flows": {"payment-reminder": {"taken": taken}}}))
    assert _exit_code("graph", FLOW, "--coverage", str(coverage), "--format", "dot") == 0
    out = capsys.readouterr().out
    assert 'n0 -> n1 [label="onAnswer (2)"];' in out
    assert 'n0 -> n8 [label="onBusy", style=dashed, color="#d62728"' in out
    assert "(8 of 10)" in out

    coverage.write_text(json.dumps({"flows": {"other-flow": {"taken": {}}}}))
    assert _exit_code("graph", FLOW, "--coverage", str(coverage)) == 0
    captured = capsys.readouterr()
    assert "has no coverage for flow 'payment-reminder'" in captured.err
    assert "(10 of 10)" in captured.out


def test_coverage_written_by_callflow_test(tmp_path: Path) -> None:
    # the format both commands agree on, end to end: the shipped scenarios take every output
    coverage = tmp_path / "coverage.json"
    tested = callflow("test", "flows/payment-reminder.test.yaml", "--coverage-json", str(coverage))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    result = callflow("graph", FLOW, "--coverage", str(coverage), "--format", "dot")
    assert result.returncode == 0, result.stderr
    assert "style=dashed" not in result.stdout and "(0 of 10)" in result.stdout
    assert re.search(r'n2 -> n3 \[label="1 \(\d+\)"\];', result.stdout)  # a branch, counted


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", '{"flows": {"payment-reminder": {"taken": {"dial-1": {"onAnswer": "x"}}}}}'],
)
def test_a_bad_coverage_file_is_a_usage_error(
    content: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(REPO)
    coverage = tmp_path / "coverage.json"
    coverage.write_text(content)
    assert _exit_code("graph", FLOW, "--coverage", str(coverage)) == 2
    assert f"--coverage {coverage}" in capsys.readouterr().err


def test_an_invalid_or_missing_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\ngraph: {startNodeId: a, nodes: []}\n")
    assert _exit_code("graph", str(bad)) == 1
    assert "is not a valid flow" in capsys.readouterr().err
    assert _exit_code("graph", str(tmp_path / "none.yaml")) == 2
    assert _exit_code("graph", str(bad), "--format", "png") == 2


def test_svg_without_graphviz_says_how_to_get_it(tmp_path: Path) -> None:
    result = _run(FLOW, "--format", "svg", path=str(tmp_path))  # an empty PATH: no dot
    assert result.returncode == 2
    assert result.stdout == ""
    for hint in ("apt-get install graphviz", "brew install graphviz", "--format mermaid"):
        assert hint in result.stderr


def test_svg_pipes_dot_source_into_dot_tsvg(tmp_path: Path) -> None:
    # a stand-in `dot` that records its arguments and input, and answers with an SVG
    fake = tmp_path / "dot"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys, pathlib\n"
        f"pathlib.Path({str(tmp_path / 'seen')!r}).write_text(' '.join(sys.argv[1:]) + "
        "'\\n' + sys.stdin.read())\n"
        "print('<svg>drawn</svg>')\n"
    )
    fake.chmod(0o755)
    result = _run(FLOW, "--format", "svg", path=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "<svg>drawn</svg>\n"
    seen = (tmp_path / "seen").read_text()
    assert seen == "-Tsvg\n" + (GOLDEN / "payment-reminder.dot").read_text()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_svg_with_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / "picture.svg"
    assert _exit_code("graph", FLOW, "--format", "svg", "-o", str(out)) == 0
    svg = out.read_text()
    assert "<svg" in svg and "Call Customer" in svg and "onAnswer" in svg
