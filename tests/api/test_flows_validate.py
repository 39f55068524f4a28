"""POST /api/flows/validate answers what `callflow validate --format json` prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.api_client import REPO, ApiClient

from controller.api.flows import PLACEHOLDER_ID
from controller.flows.source import SourceError, read_document

FIXTURES = REPO / "tests" / "fixtures" / "flows"


def _documents() -> list[tuple[str, dict[str, Any]]]:
    """Every fixture flow (good and bad) that is a readable mapping, by name."""
    found = []
    for path in sorted([*FIXTURES.glob("good/*"), *FIXTURES.glob("bad/*")]):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        try:
            document, _ = read_document(path)
        except SourceError:
            continue  # unreadable text is the 400 of the API, tested elsewhere
        if isinstance(document.data, dict):
            found.append((f"{path.parent.name}/{path.name}", document.data))
    return found


DOCUMENTS = _documents()


def cli_reports(directory: Path, flows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`callflow validate --format json` over one file per flow id: each flow's entry."""
    directory.mkdir()
    for flow_id, data in flows.items():
        # The API's version is a hash of the posted JSON in canonical form; a file holding
        # exactly those bytes gets the same version from the CLI.
        (directory / f"{flow_id}.json").write_bytes(json.dumps(data, sort_keys=True).encode())
    result = subprocess.run(
        [
            *(sys.executable, "-m", "controller.cli", "validate", "--format", "json"),
            *("--audio", str(REPO / "audio"), str(directory)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    assert result.returncode in (0, 1), result.stderr
    entries = {}
    for entry in json.loads(result.stdout)["flows"]:
        text = json.dumps(entry).replace(json.dumps(entry["file"])[1:-1], "<request>")
        entries[entry["flowId"]] = json.loads(text)
    return entries


def single(entry: dict[str, Any]) -> dict[str, Any]:
    """The report the CLI prints for that one flow alone."""
    return {
        "valid": entry["valid"],
        "errorCount": len(entry["errors"]),
        "warningCount": len(entry["warnings"]),
        "flows": [entry],
    }


def test_the_fixtures_cover_valid_and_invalid_flows() -> None:
    names = [name for name, _ in DOCUMENTS]
    assert len(names) > 40
    assert any(name.startswith("good/") for name in names)


def test_reports_equal_the_cli_reports_for_every_fixture(api: ApiClient, tmp_path: Path) -> None:
    batches: list[dict[str, tuple[dict[str, Any], dict[str, Any]]]] = []
    for name, data in DOCUMENTS:
        if "name" not in data:
            continue  # the API validates those with a placeholder name: below
        response = api.post("/api/flows/validate", data)
        assert response.status == 200, name
        report = response.json()
        flow_id = report["flows"][0]["flowId"]
        # One CLI run per batch of distinct ids (the CLI reports a shared id as an error).
        batch = next((b for b in batches if flow_id not in b), None)
        if batch is None:
            batch = {}
            batches.append(batch)
        batch[flow_id] = (data, report)
    compared = 0
    for number, batch in enumerate(batches):
        entries = cli_reports(tmp_path / f"cli-{number}", {k: v[0] for k, v in batch.items()})
        for flow_id, (_, report) in batch.items():
            assert report == single(entries[flow_id]), flow_id
            compared += 1
    assert compared > 40


def test_a_graph_alone_as_in_the_guide(api: ApiClient) -> None:
    body = {"graph": {"startNodeId": "bye", "nodes": [{"id": "bye", "type": "hangup"}]}}
    report = api.post("/api/flows/validate", body).json()
    assert report["valid"] is True
    assert report["flows"][0]["flowId"] == PLACEHOLDER_ID
    # The guide's literal example: an empty graph, reported like any other problem.
    empty = {"graph": {"startNodeId": "...", "nodes": []}}
    report = api.post("/api/flows/validate", empty).json()
    assert report["valid"] is False
    assert [p["pointer"] for p in report["flows"][0]["errors"]] == ["/graph/nodes"]


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_a_body_that_is_not_a_flow_is_reported_as_unreadable(api: ApiClient, body: Any) -> None:
    response = api.request("POST", "/api/flows/validate", raw=json.dumps(body).encode())
    assert response.status == 200
    report = response.json()
    assert report["valid"] is False
    assert [p["code"] for p in report["flows"][0]["errors"]] == ["unreadable"]
