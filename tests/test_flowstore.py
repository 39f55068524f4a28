from __future__ import annotations

import os
from pathlib import Path

from controller import flowstore, metrics
from controller.config import Route
from controller.flowstore import FlowStore

GOOD = "name: V{n}\ngraph: {{startNodeId: a, nodes: [{{id: a, type: hangup}}]}}\n"
BAD = "name: broken\ngraph: {startNodeId: a, nodes: [{id: a, type: hangup, outputs: {x: a}}]}\n"


def _touch_later(path: Path, text: str) -> None:
    # A new mtime for certain, even on filesystems with coarse timestamps.
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def test_a_bad_edit_never_replaces_a_good_flow(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(flowstore, "RECHECK_SECONDS", 0.0)
    path = tmp_path / "menu.yaml"
    path.write_text(GOOD.format(n=1))
    store = FlowStore(tmp_path)
    store.load_all()
    first = store.get("menu")
    assert first is not None and first.name == "V1"

    _touch_later(path, BAD)
    assert store.get("menu") is first  # still serving the good version
    assert store.problems("menu")  # and the rejection is kept for operators

    _touch_later(path, GOOD.format(n=2))
    second = store.get("menu")
    assert second is not None and second.name == "V2"
    assert second.version != first.version
    assert store.problems("menu") == []


def test_an_invalid_flow_never_serves(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BAD)
    store = FlowStore(tmp_path)
    store.load_all()
    assert store.get("broken") is None
    assert store.select({"callflow_flow": "broken"}) == ("broken", None)


def test_selection_variable_then_routes_then_default(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.yaml").write_text(GOOD.format(n=name))
    store = FlowStore(tmp_path, routes=(Route(match=r"1\d{3}", flow="b"),), default_flow="c")
    store.load_all()
    assert store.select({"callflow_flow": "a", "destination_number": "1000"})[0] == "a"
    assert store.select({"destination_number": "1000"})[0] == "b"
    assert store.select({"destination_number": "10000"})[0] == "c"
    assert FlowStore(tmp_path).select({"destination_number": "1"}) == (None, None)


def _sample(name: str, flow: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(name, {"flow": flow})


def test_a_bad_edit_is_reported_once_per_version_and_in_the_status(
    tmp_path: Path, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(flowstore, "RECHECK_SECONDS", 0.0)
    path = tmp_path / "reported.yaml"
    path.write_text(GOOD.format(n=1))
    store = FlowStore(tmp_path)
    store.load_all()
    good = store.get("reported")
    status = store.status("reported")
    assert status is not None and status.serving is good
    assert status.stale is False and status.rejected_at is None
    assert status.path == path and status.serving_since is not None
    assert status.last_success is not None and status.missing is False
    assert _sample("callflow_flow_stale", "reported") == 0
    assert _sample("callflow_flow_last_load_success_timestamp_seconds", "reported") > 0
    failures = _sample("callflow_flow_load_failures_total", "reported") or 0.0

    _touch_later(path, BAD)
    with caplog.at_level("ERROR", logger="callflow.flows"):
        assert store.get("reported") is good
        _touch_later(path, BAD)  # the same bad text again (a touch, a checkout): no new report
        assert store.get("reported") is good
    [line] = [r for r in caplog.records if r.name == "callflow.flows"]
    assert "still serving version " + good.version in line.getMessage()
    assert "\n" not in line.getMessage()
    assert _sample("callflow_flow_load_failures_total", "reported") == failures + 1
    assert _sample("callflow_flow_stale", "reported") == 1
    status = store.status("reported")
    assert status.serving is good and status.stale is True
    assert status.rejected_at and len(status.rejected_version) == 12
    [problem] = status.last.errors
    assert (problem.file, problem.node) == (str(path), "a")
    assert problem.code == "terminal-has-outputs"
    assert problem.pointer.startswith("/graph/nodes/0/outputs")

    caplog.clear()
    _touch_later(path, BAD + "# another bad version\n")
    with caplog.at_level("ERROR", logger="callflow.flows"):
        store.get("reported")
    assert len([r for r in caplog.records if r.name == "callflow.flows"]) == 1
    assert _sample("callflow_flow_load_failures_total", "reported") == failures + 2

    _touch_later(path, GOOD.format(n=2))
    fixed = store.get("reported")
    assert fixed is not None and fixed.version != good.version
    status = store.status("reported")
    assert (status.serving, status.stale, status.rejected_at) == (fixed, False, None)
    assert _sample("callflow_flow_stale", "reported") == 0
    assert store.status("nothing-here") is None


def test_files_added_are_found_and_files_gone_are_dropped(
    tmp_path: Path, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(flowstore, "RECHECK_SECONDS", 0.0)
    (tmp_path / "kept.yaml").write_text(GOOD.format(n=1))
    store = FlowStore(tmp_path)
    store.load_all()
    (tmp_path / "added.yaml").write_text(GOOD.format(n=2))
    added = store.get("added")  # a flow the store does not know: the directory is looked at
    assert added is not None and added.name == "V2"
    assert store.flow_ids == ["added", "kept"]
    assert _sample("callflow_flow_last_load_success_timestamp_seconds", "added") > 0

    (tmp_path / "added.yaml").unlink()
    monkeypatch.setattr(flowstore, "RECHECK_SECONDS", 3600.0)
    store.rescan()  # first seen gone: still served, shown as missing
    assert store.status("added").missing is True and store.get("added") is added
    monkeypatch.setattr(flowstore, "RECHECK_SECONDS", 0.0)  # the next look is due
    with caplog.at_level("WARNING", logger="callflow.flows"):
        store.rescan()
    assert store.flow_ids == ["kept"] and store.get("added") is None
    assert "is gone; version " + added.version + " is no longer served" in caplog.text
    assert _sample("callflow_flow_last_load_success_timestamp_seconds", "added") is None
    assert _sample("callflow_flow_stale", "added") is None


def test_a_file_back_before_the_next_look_is_not_dropped(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(flowstore, "RECHECK_SECONDS", 0.0)
    path = tmp_path / "menu.yaml"
    path.write_text(GOOD.format(n=1))
    store = FlowStore(tmp_path)
    store.load_all()
    first = store.get("menu")
    path.unlink()
    assert store.get("menu") is first  # gone at one look: still served
    path.write_text(GOOD.format(n=1))  # a checkout writing it again
    assert store.get("menu").version == first.version
    assert store.status("menu").missing is False
    store.rescan()
    assert store.get("menu").version == first.version


def test_a_rejected_flow_that_is_deleted_is_no_longer_stale(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(flowstore, "RECHECK_SECONDS", 0.0)
    (tmp_path / "broken-gone.yaml").write_text(BAD)
    store = FlowStore(tmp_path)
    store.load_all()
    assert _sample("callflow_flow_stale", "broken-gone") == 1
    (tmp_path / "broken-gone.yaml").unlink()
    store.rescan()
    store.rescan()
    assert store.flow_ids == [] and store.status("broken-gone") is None
    assert _sample("callflow_flow_stale", "broken-gone") is None


def test_two_files_with_one_id_do_not_take_turns(tmp_path: Path, monkeypatch, caplog) -> None:
    monkeypatch.setattr(flowstore, "RECHECK_SECONDS", 0.0)
    (tmp_path / "twin.yaml").write_text(GOOD.format(n=1))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "twin.yaml").write_text(GOOD.format(n=2))
    store = FlowStore(tmp_path)
    store.load_all()
    serving = store.get("twin")
    with caplog.at_level("INFO", logger="callflow.flows"):
        assert store.rescan() == [] and store.rescan() == []
    assert store.get("twin") is serving and caplog.text == ""
