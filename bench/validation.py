"""Load and validate a 1,000-node flow, and all of flows/ (medians of repeated runs)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import yaml

from controller.flows.loader import discover, load_flow_file

REPEATS = 5


def big_flow(nodes: int) -> dict:
    """A chain of play nodes with a dtmf menu every tenth node, ending at a hangup."""
    items = []
    for index in range(nodes - 1):
        following = f"n{index + 1}"
        if index % 10 == 9:
            items.append(
                {
                    "id": f"n{index}",
                    "type": "dtmf",
                    "label": f"menu {index}",
                    "config": {"singleDigitConfig": {"allowedDigits": ["1", "2"]}},
                    "outputs": {"branches": {"1": following, "2": "end"}, "default": following},
                }
            )
        else:
            items.append(
                {
                    "id": f"n{index}",
                    "type": "play",
                    "label": f"prompt {index}",
                    "config": {
                        "audioItems": [{"type": "audioFile", "audioId": "greeting-audio-id"}]
                    },
                    "outputs": {"onComplete": following},
                }
            )
    items.append({"id": f"n{nodes - 1}", "type": "hangup"})
    items.append({"id": "end", "type": "hangup"})
    return {"name": "Big", "graph": {"startNodeId": "n0", "nodes": items}}


def _median_ms(action: object) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def run() -> list[str]:
    audio = Path("audio")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "big.yaml"
        path.write_text(yaml.safe_dump(big_flow(1000), sort_keys=False))
        result = load_flow_file(path, audio_root=audio)
        assert result.valid, [p.as_text() for p in result.errors[:5]]
        big = _median_ms(lambda: load_flow_file(path, audio_root=audio))
        size_kb = path.stat().st_size / 1024
    files = discover([Path("flows")])
    every = _median_ms(lambda: [load_flow_file(p, audio_root=audio) for p in files])
    return [
        "## Validation",
        "",
        f"Median of {REPEATS} runs, parse + schema + graph + node checks + audio lookups.",
        "",
        "| what | time |",
        "|---|---|",
        f"| one 1,000-node flow ({size_kb:.0f} KiB of YAML) | {big:.0f} ms |",
        f"| all of flows/ ({len(files)} files) | {every:.1f} ms |",
        "",
    ]
