"""The baseline for bench/cpu.py: a minimal hand-written greenswitch 0.0.19 application.

It runs the same command sequence as callflow's inbound Payment Reminder (connect, myevents,
linger, answer, playback, play_and_get_digits, playback, hangup) on greenswitch's
`OutboundESLServer`, against the same simulator, measured the same way (bench.cpu.measure).

    .venv/bin/python -m bench.greenswitch_baseline
"""

from __future__ import annotations

import logging
import signal
import socket as stdsocket
import sys
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event
from greenswitch.esl import OutboundESLServer, OutboundSessionHasGoneAway

from bench import cpu

AUDIO = Path(__file__).resolve().parents[1] / "audio"  # bench.cpu imports this module
GREETING = str(AUDIO / "greeting-audio-id.wav")
CONFIRMED = str(AUDIO / "confirmed-audio-id.wav")
CALLBACK = str(AUDIO / "callback-audio-id.wav")
SILENCE = "silence_stream://1"


class PaymentReminder:
    """What a greenswitch user writes: one instance per call, `run` in its own greenlet."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def run(self) -> None:
        session = self.session  # OutboundESLServer already sent `connect`
        try:
            session.myevents()
            session.linger(5)
            session.answer()
            session.playback(GREETING)
            digit = session.play_and_get_digits(
                min_digits=1,
                max_digits=1,
                max_attempts=1,
                timeout=10000,
                terminators="none",
                prompt_file=SILENCE,
                error_file=SILENCE,
                variable="customerResponse",
                digits_regex="^[12]$",
                digit_timeout=3000,
                transfer_on_fail="",
            )
            session.playback(CONFIRMED if digit == "1" else CALLBACK)
            session.hangup("NORMAL_CLEARING")
        except OutboundSessionHasGoneAway:
            pass


def serve() -> None:
    """greenswitch's server on a free loopback port, until SIGTERM."""
    logging.disable(logging.CRITICAL)  # greenswitch logs every call at INFO
    probe = stdsocket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = OutboundESLServer(
        bind_address="127.0.0.1",
        bind_port=port,
        application=PaymentReminder,
        max_connections=10_000,
    )
    listener = gevent.spawn(server.listen)
    while server.bound_port is None and not listener.dead:
        gevent.sleep(0.01)
    stopping = Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    print(f"PORT {server.bound_port}", flush=True)
    stopping.wait()
    server.stop()
    listener.kill(timeout=2)


def measure_baseline(calls: int | None = None) -> dict[str, Any]:
    command = [cpu.PYTHON, "-m", "bench.greenswitch_baseline", "serve"]
    return cpu.measure(command, calls or cpu.CALLS)


def run() -> list[str]:
    r = measure_baseline()
    return [
        "## greenswitch 0.0.19 baseline (same calls, same simulator)",
        "",
        f"Machine: {cpu.machine()}. Command: `.venv/bin/python -m bench.greenswitch_baseline`.",
        "",
        f"{cpu.RUNS} runs of {cpu.CALLS:,} calls ({cpu.CONCURRENCY} at once), medians: "
        f"{r['rate']:.0f} calls/s, {r['ms_per_call']:.2f} ms controller CPU per completed call "
        f"(busy {100 * r['server_util']:.0f} %), simulator {r['sim_ms_per_call']:.2f} ms per "
        f"call (busy {100 * r['sim_util']:.0f} %); completed "
        f"{'/'.join(str(c) for c in r['completed'])}.",
        "",
    ]


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        serve()
        return 0
    lines = run()
    sys.stdout.write("\n".join(lines) + "\n")
    cpu.write_section(cpu.REPO / "docs" / "bench-cpu.md", "greenswitch", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
