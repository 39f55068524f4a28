"""`callflow` as a user runs it: a real subprocess, real files, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import REPO, callflow
from support.dictionaries import write_dictionary


def test_the_example_flows_are_valid() -> None:
    result = callflow("validate", "flows/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 flow(s) checked: 3 valid" in result.stderr


def test_strict_turns_the_payment_reminder_warning_into_an_error() -> None:
    result = callflow("validate", "--strict", "flows/payment-reminder.yaml")
    assert result.returncode == 1
    [line] = result.stdout.splitlines()
    assert "dial outcomes onRejected, onError are not handled" in line
    assert "warning:" not in line


def test_text_output_names_file_node_pointer_and_message(tmp_path: Path) -> None:
    flow = tmp_path / "broken.yaml"
    flow.write_text(
        "name: Broken\n"
        "graph:\n"
        "  startNodeId: a\n"
        "  nodes:\n"
        "    - {id: a, type: play, config: {audioItems: []}, outputs: {onComplete: nowhere}}\n"
    )
    result = callflow("validate", str(flow), "--audio", str(tmp_path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{flow}: a: /graph/nodes/0/config/audioItems: must hold at least 1 item(s)" in lines
    assert any(
        line.startswith(
            f"{flow}: a: /graph/nodes/0/outputs/onComplete: output onComplete points to 'nowhere'"
        )
        for line in lines
    )


def test_json_output_is_machine_readable(tmp_path: Path) -> None:
    flow = tmp_path / "typo.yaml"
    flow.write_text("name: Typo\ngraph:\n  startNodeId: a\n  nodes:\n    - {id: a, type: dail}\n")
    result = callflow("validate", "--format", "json", str(flow))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    [entry] = report["flows"]
    [problem] = entry["errors"]
    assert problem["code"] == "unknown-node-type"
    assert problem["node"] == "a"
    assert problem["pointer"] == "/graph/nodes/0/type"
    assert problem["line"] == 5
    assert "did you mean 'dial'" in problem["message"]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert callflow("validate", str(tmp_path / "missing.yaml")).returncode == 2
    assert callflow("validate", str(tmp_path)).returncode == 2  # no flow files in it
    assert callflow("validate", "--format", "xml", "flows/").returncode == 2
    assert callflow("frobnicate").returncode == 2
    assert callflow().returncode == 2


def test_two_files_with_one_stem_are_a_duplicate_flow_id(tmp_path: Path) -> None:
    body = "name: X\ngraph: {startNodeId: a, nodes: [{id: a, type: hangup}]}\n"
    (tmp_path / "x.yaml").write_text(body)
    (tmp_path / "x.yml").write_text(body)
    result = callflow("validate", str(tmp_path))
    assert result.returncode == 1
    assert "flow id 'x' is already defined by" in result.stdout


def test_schema_command_prints_the_published_schema() -> None:
    result = callflow("schema")
    assert result.returncode == 0
    published = (REPO / "controller" / "schema" / "flow.schema.json").read_text()
    assert result.stdout == published


def test_the_readme_simulate_example_prints_what_the_readme_shows() -> None:
    readme = (REPO / "README.md").read_text()
    command = '--caller "press 9; silent; press 0"'
    block = readme.split(command, 1)[1].split("```", 1)[0]
    shown = [line for line in block.splitlines()[2:] if line and not line.startswith("{")]
    result = callflow("simulate", "flows/inbound-ivr.yaml", "--caller", "press 9; silent; press 0")
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    assert printed[0].startswith("call ") and "flow inbound-ivr (version " in printed[0]
    assert printed[1 : len(shown) + 1] == shown


def test_simulate_usage_errors() -> None:
    assert callflow("simulate", "flows/missing.yaml").returncode == 2
    assert callflow("simulate", "flows/inbound-ivr.yaml", "--caller", "dance").returncode == 2
    assert callflow("simulate", "flows/inbound-ivr.yaml", "--contact", "{nope").returncode == 2


def test_say_prints_tokens_and_their_files(tmp_path: Path) -> None:
    write_dictionary(tmp_path, "fr", ["20", "et", "1", "90", "91"])
    result = callflow("say", "91", "--lang", "fr", "--audio", str(tmp_path))
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    token, path = line.split("\t")
    assert token == "91" and path.endswith("fr/clips/91.wav")
    missing = callflow(
        "say", "1234.50", "--lang", "ar", "--mode", "currency", "--audio", str(tmp_path)
    )
    assert missing.returncode == 1
    assert "(no clip)" in missing.stdout
    assert callflow("say", "abc", "--lang", "en").returncode == 1
    assert "is not a number" in callflow("say", "abc", "--lang", "en").stderr
