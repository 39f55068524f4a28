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
    status = store.reload_status("reported")
    assert status is not None
    assert status["servingVersion"] == good.version
    assert status["stale"] is False and status["lastError"] is None
    assert status["file"] == str(path) and status["servingSince"] is not None
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
    status = store.reload_status("reported")
    assert status["servingVersion"] == good.version and status["stale"] is True
    error = status["lastError"]
    assert error["at"] and len(error["version"]) == 12
    [problem] = error["problems"]
    assert (problem["file"], problem["node"]) == (str(path), "a")
    assert problem["code"] == "terminal-has-outputs"
    assert problem["pointer"].startswith("/graph/nodes/0/outputs")

    caplog.clear()
    _touch_later(path, BAD + "# another bad version\n")
    with caplog.at_level("ERROR", logger="callflow.flows"):
        store.get("reported")
    assert len([r for r in caplog.records if r.name == "callflow.flows"]) == 1
    assert _sample("callflow_flow_load_failures_total", "reported") == failures + 2

    _touch_later(path, GOOD.format(n=2))
    fixed = store.get("reported")
    assert fixed is not None and fixed.version != good.version
    status = store.reload_status("reported")
    assert (status["servingVersion"], status["stale"], status["lastError"]) == (
        fixed.version,
        False,
        None,
    )
    assert _sample("callflow_flow_stale", "reported") == 0
    assert store.reload_status("nothing-here") is None
