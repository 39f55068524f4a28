"""`make bench`: run every benchmark and write docs/benchmarks.md.

Only the validation benchmark exists so far; the runtime benchmarks (connect latency, CPU per
call, capacity, dial pacing, vanishing FreeSWITCH) come with the benchmarks milestone.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import validation

OUTPUT = Path("docs/benchmarks.md")


def main() -> int:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}.",
        "",
    ]
    lines += validation.run()
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text("\n".join(lines))
    sys.stdout.write("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
