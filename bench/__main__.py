"""`make bench`: run every benchmark and write docs/benchmarks.md (about eight minutes).

Each module measures one thing and returns Markdown lines; the targets and what dominates
are in each section. Run one alone with `python -m bench.<name>`.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import attack, capacity, connect, cpu, loop_stall, pacing, validation, vanish

OUTPUT = Path("docs/benchmarks.md")


def main() -> int:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}.",
        "",
    ]
    for module in (connect, cpu, capacity, pacing, vanish, validation, loop_stall, attack):
        lines += module.run()
        lines.append("")
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text("\n".join(lines))
    sys.stdout.write("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
