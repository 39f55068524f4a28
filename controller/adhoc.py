"""`callflow call FLOW --to NUMBER`: place one call through FreeSWITCH and print its record.

It starts a controller in-process — the outbound server on a free loopback port (FreeSWITCH
connects back to it with the answered call) and the event-socket connection — places the
call, and prints the path and the record when the call is over. Against the simulator's
inbound side it needs no FreeSWITCH at all.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

from controller import runner
from controller.config import Settings
from controller.outbound import UnknownFlow
from controller.records import describe

CONNECT_TIMEOUT = 10.0


def call(
    settings: Settings,
    flow_id: str,
    *,
    to: str,
    contact: dict[str, Any] | None,
    wait: float,
    out: Any = sys.stdout,
) -> int:
    # One call: no /metrics to serve, and port 8085 may belong to a running controller.
    settings = replace(settings, listen=settings.listen or "127.0.0.1:0", http_listen=None)
    controller = runner.build(settings)
    if controller.outbound is None:
        print("callflow call: no event socket configured (esl setting)", file=sys.stderr)
        return 2
    controller.start()
    try:
        if not controller.esl.wait_connected(CONNECT_TIMEOUT):  # type: ignore[union-attr]
            print(
                f"callflow call: cannot reach FreeSWITCH's event socket at {settings.esl}: "
                f"{controller.esl.last_error}",
                file=sys.stderr,
            )  # type: ignore[union-attr]
            return 1
        try:
            result = controller.outbound.place(flow_id, contact=contact, to=to)
        except UnknownFlow as exc:
            print(f"callflow call: {exc}", file=sys.stderr)
            return 2
        record = result.get(timeout=wait)
    finally:
        controller.stop(drain_seconds=5)
    if record is None:
        print("the call was answered and is handled by another callflow process", file=out)
        return 0
    out.write(describe(record))
    return 0
