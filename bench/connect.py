"""Connect latency: FreeSWITCH's TCP connect to the controller's `connect` command arriving.

The controller (callflow's real `CallServer`, or raw greenswitch for the baseline) runs in its
own process; a minimal fake FreeSWITCH (`FakeSwitch`, one thread, epoll) connects over loopback,
answers `connect`, `myevents` and `linger`, then closes. Arrival is the kernel's receive stamp,
so the fake's own pace (one thread answering hundreds of calls) is not counted. The fake and
the controller process helpers are shared with bench/capacity.py and bench/vanish.py.
"""

from __future__ import annotations

import os
import platform
import re
import selectors
import socket
import statistics
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from controller.esl.serialize import encode_connect_reply, encode_event_plain, encode_reply

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "bench-runtime.md"
RUNS = 3
IDLE_CONNECTS = 200
BURST = 500
SERVE_DEADLINE = 10.0  # a connect not answered by then counts as never served
# Linux's SO_TIMESTAMPNS (asm-generic/socket.h; Python does not name it): the kernel stamps
# each received segment with CLOCK_REALTIME, read back as ancillary data (a struct timespec).
SO_TIMESTAMPNS = SCM_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("@qq")
_stamping: list[socket.socket] = []  # see FakeSwitch.__post_init__


def _keep_kernel_stamps_on() -> None:
    """Linux stamps received packets only while some socket asks for it, and turns that on
    (or off) a moment after the first socket asks (or the last one closes): without one socket
    kept open, a fresh FakeSwitch's first connects would arrive unstamped."""
    if not _stamping:
        keeper = socket.socket()
        keeper.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        _stamping.append(keeper)
        time.sleep(0.05)


# -- a minimal fake FreeSWITCH ---------------------------------------------------------------


@dataclass(eq=False)
class FakeCall:
    sock: socket.socket
    uuid: str
    started: float
    buffer: bytes = b""
    served: float | None = None  # when `connect` arrived
    arrived_at: float | None = None  # when the kernel received the latest data (perf_counter)
    held: tuple[str, str] | None = None  # (Event-UUID, digits variable) of a held execute
    sendmsgs: int = 0
    closed: bool = False


@dataclass
class FakeSwitch:
    """FreeSWITCH's `socket` app, many calls at once, one thread. `hold`: applications whose
    completion waits for `release()`. `vanish`: close abruptly at a stage (see bench/vanish.py).
    `close_after_linger`: hang up the socket once `linger` is answered."""

    address: tuple[str, int]
    variables: dict[str, str] = field(default_factory=lambda: {"callflow_flow": "hold"})
    hold: frozenset[str] = frozenset()
    vanish: str | None = None
    rst: bool = True  # vanish with a reset (else a plain FIN)
    close_after_linger: bool = False
    calls: list[FakeCall] = field(default_factory=list)
    failed: int = 0  # refused or reset before `connect` arrived

    def __post_init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.open = 0
        self.held = 0
        _keep_kernel_stamps_on()
        # Kernel stamps are wall-clock time; latencies are measured on perf_counter.
        self._wall_to_perf = time.perf_counter() - time.time_ns() / 1e9

    def dial(self) -> FakeCall:
        sock = socket.socket()
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        started = time.perf_counter()  # nothing between this and the connect
        sock.connect_ex(self.address)
        call = FakeCall(sock, f"bench-{len(self.calls):06d}", started)
        self.selector.register(sock, selectors.EVENT_READ, call)
        self.calls.append(call)
        self.open += 1
        return call

    def poll(self, timeout: float) -> None:
        for key, _ in self.selector.select(timeout):
            self._readable(key.data)

    def run_until(self, done: object, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():  # type: ignore[operator]
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.poll(min(left, 0.05))
        return True

    def close(self, call: FakeCall, *, abrupt: bool = False) -> None:
        if call.closed:
            return
        call.closed = True
        self.open -= 1
        if call.held:
            self.held -= 1
        self.selector.unregister(call.sock)
        if abrupt:  # RST, as when FreeSWITCH dies with data unread
            call.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
        call.sock.close()

    def close_all(self) -> None:
        for call in self.calls:
            self.close(call)
        self.selector.close()

    def release(self, call: FakeCall, digit: str = "1") -> None:
        """Complete the held execute as if the caller pressed `digit`."""
        if call.held is None or call.closed:
            return
        (event_uuid, variable), call.held = call.held, None
        self.held -= 1
        self._event(
            call,
            "CHANNEL_EXECUTE_COMPLETE",
            Application="play_and_get_digits",
            **{"Application-UUID": event_uuid, f"variable_{variable}": digit},
        )

    def _send(self, call: FakeCall, data: bytes) -> None:
        try:
            call.sock.sendall(data)  # small frames into an empty buffer: never blocks here
        except OSError:
            self.close(call)

    def _event(self, call: FakeCall, name: str, **headers: str) -> None:
        items = {"Event-Name": name, "Unique-ID": call.uuid, **headers}
        self._send(call, encode_event_plain(items))

    def _readable(self, call: FakeCall) -> None:
        # When `connect` arrived is the kernel's receive stamp, not when this one thread got
        # round to reading it: answering other calls (a connect reply is ~4 KB) takes it a
        # while, and a real FreeSWITCH reads each call's socket on that call's own thread.
        try:
            data, ancillary, _flags, _address = call.sock.recvmsg(65536, 64)
        except OSError:
            data, ancillary = b"", []
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS:
                seconds, nanoseconds = TIMESPEC.unpack(value[: TIMESPEC.size])
                call.arrived_at = seconds + nanoseconds / 1e9 + self._wall_to_perf
        if not data:
            if call.served is None:
                self.failed += 1
            self.close(call)
            return
        call.buffer += data
        while not call.closed and b"\n\n" in call.buffer:
            head, _, rest = call.buffer.partition(b"\n\n")
            lines = head.decode().split("\n")
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            length = int(headers.get("content-length", headers.get("Content-Length", 0)))
            if len(rest) < length:
                return
            call.buffer = rest[length:]
            self._command(call, lines[0], headers, rest[:length].decode())

    def _command(self, call: FakeCall, line: str, headers: dict[str, str], body: str) -> None:
        if line == "connect":
            call.served = call.arrived_at or time.perf_counter()  # unstamped: counted late
            if self.vanish == "connect":
                return self.close(call, abrupt=self.rst)
            channel = {
                "Event-Name": "CHANNEL_DATA",
                "Unique-ID": call.uuid,
                "variable_uuid": call.uuid,
                "variable_destination_number": "1000",
                "variable_caller_id_number": "0600000001",
            }
            channel.update({f"variable_{k}": v for k, v in self.variables.items()})
            self._send(call, encode_connect_reply(channel))
            if self.vanish == "connected":
                self.close(call, abrupt=self.rst)
        elif line == "myevents":
            self._send(call, encode_reply("+OK Events Enabled"))
        elif line.startswith("nixevent"):
            self._send(call, encode_reply("+OK events nixed"))
        elif line.startswith("linger"):
            self._send(call, encode_reply("+OK will linger"))
            if self.close_after_linger:
                self.close(call)
        elif line.startswith("api"):
            self._send(call, b"Content-Type: api/response\nContent-Length: 4\n\n+OK\n")
        elif line.startswith("sendmsg"):
            self._sendmsg(call, headers, body)
        else:
            self._send(call, encode_reply("-ERR command not found"))

    def _sendmsg(self, call: FakeCall, headers: dict[str, str], body: str) -> None:
        call.sendmsgs += 1
        if self.vanish == "sendmsg":
            return self.close(call, abrupt=self.rst)
        self._send(call, encode_reply("+OK"))
        command = headers.get("call-command")
        if command == "hangup":
            cause = headers.get("hangup-cause", "NORMAL_CLEARING")
            self._event(call, "CHANNEL_HANGUP", **{"Hangup-Cause": cause})
            self._event(call, "CHANNEL_HANGUP_COMPLETE", **{"Hangup-Cause": cause})
            return
        app = headers.get("execute-app-name", "")
        arg = headers.get("execute-app-arg", body)
        event_uuid = headers.get("Event-UUID", "")
        if app in self.hold:
            if self.vanish == "execute":
                return self.close(call, abrupt=self.rst)
            call.held = (event_uuid, arg.split(" ")[7] if app == "play_and_get_digits" else "")
            self.held += 1
            return
        self._event(
            call, "CHANNEL_EXECUTE_COMPLETE", Application=app, **{"Application-UUID": event_uuid}
        )


# -- the measurements ------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _latencies(calls: list[FakeCall]) -> list[float]:
    return [(c.served - c.started) * 1000 for c in calls if c.served is not None]


def idle_run(address: tuple[str, int]) -> tuple[float, float]:
    switch = FakeSwitch(address, close_after_linger=True)
    for _ in range(IDLE_CONNECTS):
        call = switch.dial()
        switch.run_until(lambda call=call: call.closed, SERVE_DEADLINE)
        time.sleep(0.005)  # let the controller finish the previous call: it is idle
    switch.close_all()
    times = _latencies(switch.calls)
    return percentile(times, 0.5), percentile(times, 0.99)


def burst_run(address: tuple[str, int]) -> tuple[float, float, int]:
    switch = FakeSwitch(address, close_after_linger=True)
    for index in range(BURST):
        switch.dial()
        if index % 25 == 24:  # keep reading while dialling: `served` times stay honest
            switch.poll(0)
    # Wait for every call to end on its own: closing mid-handshake is bench/vanish.py's job.
    switch.run_until(lambda: switch.open == 0, SERVE_DEADLINE)
    switch.close_all()
    times = _latencies(switch.calls)
    return percentile(times, 0.5), percentile(times, 0.99), BURST - len(times)


def own_cores() -> tuple[int, int] | None:
    """A core for the fake FreeSWITCH and another for the controller, as on separate machines
    (None with fewer than two). Left to the kernel, the two sometimes shared one core for a
    while, and a burst's p99 doubled or worse: its time slices, not either program."""
    cores = sorted(os.sched_getaffinity(0))
    return (cores[0], cores[1]) if len(cores) >= 2 else None


def measure(kind: str) -> dict[str, float]:
    from bench.capacity import Controller  # noqa: PLC0415 (capacity imports this module)

    idle, burst = [], []
    cores, everywhere = own_cores(), os.sched_getaffinity(0)
    try:
        if cores:
            os.sched_setaffinity(0, {cores[0]})
        for _ in range(RUNS):
            with Controller(kind, cpu=cores[1] if cores else None) as controller:
                idle.append(idle_run(controller.address))
                time.sleep(0.3)
                burst.append(burst_run(controller.address))
    finally:
        os.sched_setaffinity(0, everywhere)
    med = statistics.median
    return {
        "idle_p50": med(r[0] for r in idle),
        "idle_p99": med(r[1] for r in idle),
        "burst_p50": med(r[0] for r in burst),
        "burst_p99": med(r[1] for r in burst),
        "lost": med(r[2] for r in burst),
    }


def machine() -> str:
    model = "unknown cpu"
    with open("/proc/cpuinfo") as info:
        found = re.search(r"model name\s*:\s*(.+)", info.read())
        model = found.group(1).strip() if found else model
    return (
        f"{os.cpu_count()} cores ({model}), Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def verdict(value: float, target: float, unit: str) -> str:
    if value <= target:
        return f"met ({value:g} {unit} <= {target:g} {unit})"
    return f"**missed** by {value - target:.3g} {unit} ({value / target:.1f}x the target)"


def run() -> list[str]:
    from bench.capacity import raise_fd_limit  # noqa: PLC0415 (capacity imports this module)

    raise_fd_limit()
    ours, base = measure("callflow"), measure("greenswitch")
    cores = own_cores()
    placement = (
        f"the fake and the controller each on a core of its own ({cores[0]} and {cores[1]})"
        if cores
        else "the fake and the controller sharing the only core"
    )
    row = "| {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:g} |"
    return [
        "## Connect latency",
        "",
        "TCP connect by a fake FreeSWITCH (separate process, raw sockets) until the "
        "controller's `connect` command arrives (the kernel's receive stamp on the fake's "
        f"socket, SO_TIMESTAMPNS), 127.0.0.1, {placement}. Idle: "
        f"{IDLE_CONNECTS} sequential connects; burst: {BURST} connects issued at once; "
        f"lost = not served within {SERVE_DEADLINE:g} s. Median of {RUNS} runs (ms).",
        "",
        "| server | idle p50 | idle p99 | burst p50 | burst p99 | burst lost |",
        "|---|---|---|---|---|---|",
        row.format("callflow CallServer", *ours.values()),
        row.format("greenswitch 0.0.19 OutboundESLServer", *base.values()),
        "",
        f"- target burst p99 <= 5 ms: {verdict(round(ours['burst_p99'], 2), 5, 'ms')}; "
        f"idle p99: {verdict(round(ours['idle_p99'], 2), 5, 'ms')}",
        f"- target 0 lost: {'met' if ours['lost'] == 0 else '**missed**'} ({ours['lost']:g})",
        "",
    ]


def write_section(name: str, lines: list[str], results: Path = RESULTS) -> None:
    """Replace (or add) this benchmark's section of `results` (docs/bench-runtime.md)."""
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    text = results.read_text() if results.exists() else "# Runtime benchmarks\n\n"
    block = "\n".join([begin, *lines, end])
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if begin in text else text.rstrip() + "\n\n" + block
    results.write_text(text.rstrip() + "\n")


def main(module: str, lines: list[str], results: Path = RESULTS) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [*lines, f"_`python -m bench.{module}`, {stamp}; {machine()}._", ""]
    write_section(module, lines, results)
    sys.stdout.write("\n".join(lines) + "\n")


def spread(bursts: int, *, shared_core: bool) -> None:
    """`python -m bench.connect spread N [--shared-core]`: N single bursts, each against a
    fresh controller, and their p99s sorted: how much one figure varies (docs/bench-runtime.md
    findings). --shared-core leaves placement to the kernel."""
    from bench.capacity import Controller, raise_fd_limit  # noqa: PLC0415 (see measure)

    raise_fd_limit()
    cores = None if shared_core else own_cores()
    if cores:
        os.sched_setaffinity(0, {cores[0]})
    p99s = []
    for _ in range(bursts):
        with Controller("callflow", cpu=cores[1] if cores else None) as controller:
            idle_run(controller.address)
            time.sleep(0.3)
            p99s.append(burst_run(controller.address)[1])
    sys.stdout.write(
        f"burst p99s (ms), {'own cores' if cores else 'placed by the kernel'}: "
        f"{', '.join(f'{p:.2f}' for p in sorted(p99s))}; median {statistics.median(p99s):.2f}\n"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["spread"]:
        spread(int(sys.argv[2]), shared_core="--shared-core" in sys.argv)
    else:
        main("connect", run())
