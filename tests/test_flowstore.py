from __future__ import annotations

import os
from pathlib import Path

from controller import flowstore
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
