"""/api/flows shows the hot reload: files edited, added and deleted on disk (a git pull), as
the flow store's own checks see them, over real HTTP."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from support.api_client import ApiClient

from controller import flowstore, runner
from controller.api import openapi_text

ADDED = "name: Added Later\ngraph: {startNodeId: bye, nodes: [{id: bye, type: hangup}]}\n"


@pytest.fixture(autouse=True)
def every_look_is_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store looks at files at most once a second; here, at every request."""
    monkeypatch.setattr(flowstore, "RECHECK_SECONDS", 0.0)


def conforms(body: Any, schema_name: str) -> None:
    document = yaml.safe_load(openapi_text())
    Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    ).validate(body)


def _edit(path: Path, text: str) -> None:
    """Write with an mtime the store cannot miss, even on a coarse-timestamp filesystem."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def _listed(api: ApiClient) -> dict[str, dict[str, Any]]:
    response = api.get("/api/flows")
    assert response.status == 200
    conforms(response.json(), "FlowList")
    return {flow["id"]: flow for flow in response.json()["flows"]}


def _metric(api: ApiClient, name: str, flow_id: str) -> str | None:
    text = api.with_key(None).get("/metrics").body.decode()
    prefix = f'{name}{{flow="{flow_id}"}} '
    return next(
        (line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)), None
    )


def test_a_bad_edit_on_disk_is_in_the_flow_s_entry_until_fixed(
    api: ApiClient, flows_dir: Path
) -> None:
    path = flows_dir / "payment-reminder.yaml"
    good_text = path.read_text()
    before = _listed(api)["payment-reminder"]
    assert (before["stale"], before["lastError"], before["missing"]) == (False, None, False)
    assert before["servingSince"] and before["lastLoadSuccess"]

    _edit(path, good_text.replace("timeout: 30000", "timeout: soon"))
    entry = _listed(api)["payment-reminder"]
    assert entry["version"] == before["version"] and entry["serving"] is True
    assert entry["servingSince"] == before["servingSince"]
    assert (entry["valid"], entry["stale"]) == (False, True)
    assert entry["lastError"]["at"].endswith("Z") and len(entry["lastError"]["version"]) == 12
    [problem] = entry["problems"]
    assert (problem["file"], problem["node"], problem["pointer"]) == (
        str(path),
        "dial-1",
        "/graph/nodes/0/config/timeout",
    )
    detail = api.get("/api/flows/payment-reminder").json()
    conforms(detail, "FlowDetail")
    assert detail["status"] == entry
    assert _metric(api, "callflow_flow_stale", "payment-reminder") == "1.0"

    _edit(path, good_text.replace("timeout: 30000", "timeout: 25000"))
    fixed = api.get("/api/flows/payment-reminder").json()["status"]
    assert (fixed["valid"], fixed["stale"], fixed["lastError"]) == (True, False, None)
    assert fixed["version"] != before["version"]
    assert fixed["servingSince"] >= before["servingSince"]
    assert _metric(api, "callflow_flow_stale", "payment-reminder") == "0.0"


def test_files_added_and_deleted_on_disk_come_and_go(
    api: ApiClient,
    controller: runner.Controller,
    flows_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (flows_dir / "added-later.yaml").write_text(ADDED)
    added = _listed(api)["added-later"]
    assert added["serving"] is True and added["name"] == "Added Later"
    assert api.get("/api/flows/added-later").status == 200
    assert _metric(api, "callflow_flow_last_load_success_timestamp_seconds", "added-later")

    (flows_dir / "added-later.yaml").unlink()
    # The first look that finds it gone keeps it, shown missing (a checkout rewriting a file
    # is not a removal); a look a second later drops it.
    monkeypatch.setattr(flowstore, "RECHECK_SECONDS", 3600.0)
    controller.flows.rescan()
    missing = _listed(api)["added-later"]
    assert (missing["missing"], missing["serving"]) == (True, True)
    monkeypatch.setattr(flowstore, "RECHECK_SECONDS", 0.0)
    assert "added-later" not in _listed(api)
    assert api.get("/api/flows/added-later").status == 404
    assert _metric(api, "callflow_flow_last_load_success_timestamp_seconds", "added-later") is None
    assert _metric(api, "callflow_flow_stale", "added-later") is None


def test_delete_through_the_api_clears_the_flow_s_gauges(api: ApiClient, flows_dir: Path) -> None:
    assert _metric(api, "callflow_flow_stale", "inbound-ivr") == "0.0"
    assert api.delete("/api/flows/inbound-ivr").status == 204
    assert _metric(api, "callflow_flow_stale", "inbound-ivr") is None
    assert _metric(api, "callflow_flow_last_load_success_timestamp_seconds", "inbound-ivr") is None
