"""/api/flows over real HTTP: the files on disk, the flow store, validation, ids."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.api_client import REPO, ApiClient

from controller import runner
from controller.api import flowfiles
from controller.flows.loader import discover, flow_id_for
from controller.flows.source import parse_yaml

GUIDE_FLOW = json.loads((REPO / "tests/fixtures/flows/good/payment-reminder.json").read_text())


def small_flow(name: str = "Small One", reason: str = "done") -> dict[str, Any]:
    return {
        "name": name,
        "description": "answer and hang up",
        "graph": {
            "startNodeId": "answer",
            "nodes": [
                {"id": "answer", "type": "answer", "outputs": {"onSuccess": "bye"}},
                {"id": "bye", "type": "hangup", "config": {"reason": reason}},
            ],
        },
    }


def broken_flow() -> dict[str, Any]:
    flow = small_flow()
    flow["graph"]["nodes"][0]["outputs"] = {"onSucess": "nowhere"}
    return flow


def test_list_shows_every_flow_with_its_status(api: ApiClient, flows_dir: Path) -> None:
    flows = api.get("/api/flows").json()["flows"]
    assert [f["id"] for f in flows] == sorted(flow_id_for(p) for p in discover([flows_dir]))
    reminder = next(f for f in flows if f["id"] == "payment-reminder")
    assert reminder["name"] == "Payment Reminder"
    assert reminder["serving"] and reminder["valid"] and reminder["problems"] == []
    assert [w["code"] for w in reminder["warnings"]] == ["unhandled-dial-outcome"]


def test_get_returns_the_flow_as_in_the_guide_plus_its_status(api: ApiClient) -> None:
    flow = api.get("/api/flows/payment-reminder").json()
    assert flow["graph"] == GUIDE_FLOW["graph"]
    assert flow["name"] == GUIDE_FLOW["name"]
    assert flow["status"]["serving"] is True
    assert api.get("/api/flows/nothing-here").status == 404


def test_create_read_replace_delete_round_trip(
    api: ApiClient, controller: runner.Controller, flows_dir: Path
) -> None:
    created = api.post("/api/flows", small_flow("Small One"))
    assert created.status == 201
    assert created.headers["location"] == "/api/flows/small-one"  # a slug of the name
    path = flows_dir / "small-one.yaml"
    assert parse_yaml(path.read_text()).data == small_flow("Small One")
    served = controller.flows.get("small-one")
    assert served is not None and served.version == created.json()["status"]["version"]

    assert api.get("/api/flows/small-one").json()["graph"] == small_flow()["graph"]
    assert api.post("/api/flows", small_flow("Small One")).status == 409

    replaced = api.put("/api/flows/small-one", small_flow("Small One", reason="finished"))
    assert replaced.status == 200
    assert parse_yaml(path.read_text()).data["graph"]["nodes"][1]["config"]["reason"] == "finished"
    # Served at once, without waiting for the store's once-a-second file check.
    new = controller.flows.get("small-one")
    assert new is not None and new.version != served.version
    assert new.nodes["bye"].config["reason"] == "finished"

    assert api.delete("/api/flows/small-one").status == 204
    assert not path.exists()
    assert controller.flows.get("small-one") is None
    assert api.get("/api/flows/small-one").status == 404
    assert api.delete("/api/flows/small-one").status == 404
    assert api.put("/api/flows/small-one", small_flow()).status == 404


def test_create_takes_an_explicit_id_and_the_guide_body(api: ApiClient, flows_dir: Path) -> None:
    response = api.post("/api/flows", {**GUIDE_FLOW, "id": "reminder-2"})
    assert response.status == 201, response.body
    assert (flows_dir / "reminder-2.yaml").exists()
    assert response.json()["status"]["warnings"][0]["code"] == "unhandled-dial-outcome"
    # The guide's body as it is: its name's slug is taken, so it conflicts...
    assert api.post("/api/flows", GUIDE_FLOW).status == 409
    # ...until that flow is gone.
    assert api.delete("/api/flows/payment-reminder").status == 204
    created = api.post("/api/flows", GUIDE_FLOW)
    assert created.status == 201
    assert created.json()["id"] == "payment-reminder"
    assert parse_yaml((flows_dir / "payment-reminder.yaml").read_text()).data == GUIDE_FLOW


def test_an_invalid_flow_is_never_written(api: ApiClient, flows_dir: Path) -> None:
    response = api.post("/api/flows", broken_flow())
    assert response.status == 422
    report = response.json()["validation"]
    codes = {p["code"] for p in report["flows"][0]["errors"]}
    assert codes == {"unknown-output", "unreachable-node"}
    assert all(p["line"] is None for p in report["flows"][0]["errors"])
    assert not (flows_dir / "small-one.yaml").exists()
    assert not [p for p in flows_dir.iterdir() if p.name.startswith(".")]


def test_a_rejected_replace_leaves_the_file_byte_identical_and_serving(
    api: ApiClient, controller: runner.Controller, flows_dir: Path
) -> None:
    path = flows_dir / "payment-reminder.yaml"
    before = path.read_bytes()
    version = controller.flows.get("payment-reminder").version
    for body in (broken_flow(), {**GUIDE_FLOW, "id": "another-id"}, [1, 2], "text"):
        response = api.put("/api/flows/payment-reminder", body)
        assert response.status == 422, body
        assert path.read_bytes() == before
    assert api.request("PUT", "/api/flows/payment-reminder", raw=b'{"name": ').status == 400
    assert path.read_bytes() == before
    assert controller.flows.get("payment-reminder").version == version
    assert sorted(p.name for p in flows_dir.iterdir()) == sorted(
        p.name for p in (REPO / "flows").iterdir()
    )


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    api: ApiClient, flows_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = flows_dir / "payment-reminder.yaml"
    before = path.read_bytes()

    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(flowfiles.os, "replace", full_disk)
    response = api.put("/api/flows/payment-reminder", GUIDE_FLOW)
    assert response.status == 500
    assert response.json() == {"error": "internal error; the controller's log has it"}
    assert path.read_bytes() == before
    assert sorted(p.name for p in flows_dir.iterdir()) == sorted(
        p.name for p in (REPO / "flows").iterdir()
    )


def test_write_atomic_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("old")
    os.chmod(path, 0o640)
    flowfiles.write_atomic(path, "new")
    assert path.read_text() == "new"
    assert path.stat().st_mode & 0o777 == 0o640
    flowfiles.write_atomic(tmp_path / "y.yaml", "fresh")
    assert (tmp_path / "y.yaml").stat().st_mode & 0o777 == flowfiles.NEW_FILE_MODE


def test_a_json_flow_file_is_replaced_as_json(
    api: ApiClient, controller: runner.Controller, flows_dir: Path
) -> None:
    path = flows_dir / "as-json.json"
    path.write_text(json.dumps(small_flow()))
    controller.flows.load_file(path)
    assert api.put("/api/flows/as-json", small_flow(reason="again")).status == 200
    assert json.loads(path.read_text()) == small_flow(reason="again")
    assert not (flows_dir / "as-json.yaml").exists()


def test_a_bad_edit_on_disk_is_reported_while_the_old_version_serves(
    api: ApiClient, controller: runner.Controller, flows_dir: Path
) -> None:
    path = flows_dir / "payment-reminder.yaml"
    path.write_text(path.read_text().replace("timeout: 30000", "timeout: soon"))
    controller.flows.load_file(path)  # as the store's file check does
    listed = {f["id"]: f for f in api.get("/api/flows").json()["flows"]}["payment-reminder"]
    assert listed["serving"] is True and listed["valid"] is False
    assert [(p["node"], p["code"]) for p in listed["problems"]] == [("dial-1", "wrong-type")]
    flow = api.get("/api/flows/payment-reminder").json()
    assert flow["status"] == listed
    # The document shown is the version that serves (rebuilt: the file holds the bad edit).
    nodes = {node["id"]: node for node in flow["graph"]["nodes"]}
    assert nodes["dial-1"]["config"]["timeout"] == 30000


@pytest.mark.parametrize(
    "flow_id",
    [
        "..",
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e",
        "a.b",
        "payment-reminder.yaml",
        "Upper",
        "-lead",
        "x%00y",
        "x%0A",
        "sp%20ace",
        "a" * 65,
        "%C3%A9t%C3%A9",
    ],
)
def test_ids_in_paths_cannot_leave_the_flows_directory(
    api: ApiClient, tmp_path: Path, flows_dir: Path, flow_id: str
) -> None:
    before = sorted(p.name for p in tmp_path.rglob("*"))
    for method in ("GET", "PUT", "DELETE"):
        response = api.request(method, f"/api/flows/{flow_id}", small_flow())
        assert response.status in (400, 404), (method, flow_id, response.body)
        assert "error" in response.json()
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    "flow_id", ["../evil", "/tmp/evil", "evil.yaml", "a/b", "Evil", "", "x\n", "validate", 7]
)
def test_ids_in_bodies_are_checked_before_anything_is_written(
    api: ApiClient, tmp_path: Path, flow_id: Any
) -> None:
    before = sorted(p.name for p in tmp_path.rglob("*"))
    response = api.post("/api/flows", {**small_flow(), "id": flow_id})
    assert response.status == 422
    assert response.json()["field"] == "id"
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_names_become_safe_ids(api: ApiClient, flows_dir: Path) -> None:
    assert flowfiles.slug("Payment Reminder") == "payment-reminder"
    assert flowfiles.slug("../../etc/Passwd") == "etc-passwd"
    assert flowfiles.slug("Rappel échéance") == "rappel-echeance"
    assert flowfiles.slug("تذكير") == ""
    response = api.post("/api/flows", small_flow("تذكير"))  # nothing left to make an id of
    assert response.status == 422 and response.json()["field"] == "id"
    assert api.post("/api/flows", small_flow("../../x/Y Z")).status == 201
    assert (flows_dir / "x-y-z.yaml").exists()
    assert api.post("/api/flows", small_flow("Validate")).status == 409  # reserved


def test_text_that_yaml_would_change_is_written_so_it_reads_back_the_same(
    api: ApiClient, controller: runner.Controller, flows_dir: Path
) -> None:
    tricky = ["x\x85y", "é\u2028", "on", "2024-05-01", "  spaced ", "a: b", "#", "'\"", "ok"]
    flow = small_flow("Tricky")
    flow["description"] = "\n".join(tricky)
    flow["graph"]["nodes"][0]["label"] = "\x85".join(tricky)
    assert api.post("/api/flows", flow).status == 201
    assert parse_yaml((flows_dir / "tricky.yaml").read_text()).data == flow
    assert controller.flows.get("tricky").description == flow["description"]


def test_the_written_yaml_is_plain_and_ordered(api: ApiClient, flows_dir: Path) -> None:
    assert api.post("/api/flows", small_flow()).status == 201
    text = (flows_dir / "small-one.yaml").read_text()
    assert text.startswith("name: Small One\ndescription: answer and hang up\ngraph:\n")
    assert yaml.safe_load(text) == small_flow()
