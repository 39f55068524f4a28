"""Issue #14 section 1: the simulator expands `${...}` like FreeSWITCH and records, without
running it, every API call an expansion would make. Each test is a raw ESL controller (the
frames are written by hand here, so no controller-side guard can hide what is sent) on a
real TCP port against the simulator, reproducing one fact of FINDINGS.md "Variable
expansion" or of the C code. A controller regression that lets untrusted text reach
FreeSWITCH's expander shows up as an entry in `Simulator.expansions_run`; see
controller/simulator/expand.py (`assert_nothing_expanded`) for the helper other tests use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket
from gevent.event import Event as Flag
from gevent.server import StreamServer

from controller.esl.messages import Event, Reply, parse_event, parse_reply
from controller.esl.protocol import Frame, FrameReader
from controller.simulator import CallOutcome, Simulator
from controller.simulator.expand import ApiRun, assert_nothing_expanded

TIMEOUT = 5.0


class RawEsl:
    """One ESL connection, written byte by byte; every read has a timeout."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.reader = FrameReader()
        self.pending: list[Frame] = []
        self.uuid = ""
        self._numbers = iter(range(1, 1000))

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode("utf-8"))

    def frame(self) -> Frame:
        while not self.pending:
            with gevent.Timeout(TIMEOUT, TimeoutError("the simulator sent nothing")):
                data = self.sock.recv(65536)
            if not data:
                raise EOFError("the simulator closed the socket")
            self.pending.extend(self.reader.feed(data))
        return self.pending.pop(0)

    def reply(self) -> Reply:
        while (reply := parse_reply(self.frame())) is None:
            pass
        return reply

    def command(self, line: str) -> Reply:
        self.send(f"{line}\n\n")
        return self.reply()

    def api(self, line: str) -> str:
        self.send(f"api {line}\n\n")
        while (frame := self.frame()).content_type != "api/response":
            pass
        return frame.body.decode("utf-8")

    def event(self, name: str, application_uuid: str) -> Event:
        while True:
            event = parse_event(self.frame())
            if event is not None and (event.name, event.get("Application-UUID")) == (
                name,
                application_uuid,
            ):
                return event

    def execute(self, app: str, arg: str) -> Event:
        """sendmsg execute with event-lock; waits for its CHANNEL_EXECUTE_COMPLETE."""
        event_uuid = f"app-{next(self._numbers)}"
        self.send(
            f"sendmsg\ncall-command: execute\nexecute-app-name: {app}\n"
            f"execute-app-arg: {arg}\nevent-lock: true\nEvent-UUID: {event_uuid}\n\n"
        )
        assert self.reply().ok
        return self.event("CHANNEL_EXECUTE_COMPLETE", event_uuid)

    def start(self) -> None:
        self.uuid = self.command("connect").headers["Unique-ID"]
        assert self.command("myevents").ok

    def hangup(self) -> None:
        self.send("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
        self.reply()


class Controller:
    """A StreamServer on port 0 running `script(esl)` for each call; errors are kept."""

    def __init__(self, script: Callable[[RawEsl], None]) -> None:
        self.script = script
        self.errors: list[BaseException] = []
        self.done = Flag()
        self.server = StreamServer(("127.0.0.1", 0), self._handle)
        self.server.start()

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def _handle(self, sock: Any, _address: Any) -> None:
        try:
            self.script(RawEsl(sock))
        except BaseException as exc:  # re-raised by finish()
            self.errors.append(exc)
        finally:
            sock.close()
            self.done.set()

    def finish(self) -> None:
        assert self.done.wait(TIMEOUT * 2), "the controller script did not finish"
        self.server.stop(timeout=1)
        if self.errors:
            raise self.errors[0]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(controller=("127.0.0.1", 9))
    yield simulator
    simulator.close()


def one_call(sim: Simulator, script: Callable[[RawEsl], None], **options: Any) -> CallOutcome:
    controller = Controller(script)
    sim.controller = ("127.0.0.1", controller.port)
    call = sim.place_call(**options)
    controller.finish()
    return call.wait(TIMEOUT * 2)


def test_contact_data_in_a_set_argument_would_run_system(sim: Simulator, tmp_path: Path) -> None:
    """FINDINGS: `execute-app-arg: customerName=${system touch /tmp/x}` created the file."""
    target = tmp_path / "x"
    arg = f"customerName=${{system touch {target}}}"

    def script(esl: RawEsl) -> None:
        esl.start()
        esl.execute("set", arg)
        esl.hangup()

    outcome = one_call(sim, script)
    uuid = outcome.uuid
    assert sim.expansions_run == [ApiRun("system", f"touch {target}", uuid, "set", arg)]
    assert outcome.expansions_run == sim.expansions_run
    assert not target.exists()  # recorded, never run
    assert "customerName" not in outcome.variables  # system's empty output unsets it
    with pytest.raises(AssertionError, match="API 'system'"):
        assert_nothing_expanded(sim)


def test_a_backslash_before_the_dollar_does_not_stop_set(sim: Simulator, tmp_path: Path) -> None:
    """FINDINGS: `x2=\\${system touch /tmp/y}` still ran and left x2 undefined: the core's
    pass drops the backslash, base_set (mod_dptools) expands the value again."""
    target = tmp_path / "y"

    def script(esl: RawEsl) -> None:
        esl.start()
        done = esl.execute("set", f"x2=\\${{system touch {target}}}")
        assert done.get("Application-Data") == f"x2=${{system touch {target}}}"
        esl.hangup()

    outcome = one_call(sim, script)
    assert [(r.api, r.args, r.application) for r in sim.expansions_run] == [
        ("system", f"touch {target}", "set value")
    ]
    assert "x2" not in outcome.variables
    assert not target.exists()


def test_a_stored_value_runs_when_a_later_argument_references_it(
    sim: Simulator, tmp_path: Path
) -> None:
    """FINDINGS: uuid_setvar stores `${system ...}` literally; `log INFO value is ${x1}` ran it."""
    target = tmp_path / "z"
    stored = f"${{system touch {target}}}"

    def script(esl: RawEsl) -> None:
        esl.start()
        assert esl.api(f"uuid_setvar {esl.uuid} x1 {stored}") == "+OK\n"
        assert esl.api(f"uuid_getvar {esl.uuid} x1") == stored
        # The value is the rest of the line after switch_separate_string's cleanup.
        assert esl.api(f"uuid_setvar {esl.uuid} note 'two  blanks' kept") == "+OK\n"
        assert esl.api(f"uuid_getvar {esl.uuid} note") == "two  blanks kept"
        assert sim.expansions_run == []  # storing it ran nothing
        esl.execute("log", "INFO value is ${x1}")
        esl.hangup()

    one_call(sim, script)
    assert [(r.api, r.args, r.application) for r in sim.expansions_run] == [
        ("system", f"touch {target}", "log")
    ]
    assert [(r.name, r.source) for r in sim.references_expanded] == [("x1", "channel")]
    assert not target.exists()


def test_what_the_far_end_sends_runs_when_referenced(sim: Simulator) -> None:
    """An anonymous caller's name (caller profile) and a SIP header (channel variable): safe
    only while no argument references them."""

    def script(esl: RawEsl) -> None:
        esl.start()
        esl.execute("log", "INFO call from ${caller_id_name}")
        esl.execute("playback", "/sounds/${sip_h_X-Campaign}.wav")
        esl.hangup()

    one_call(
        sim, script, caller_id_name="${system id}",
        variables={"sip_h_X-Campaign": "${system(uname -a)}"},
    )  # fmt: skip
    assert [(r.api, r.args, r.application) for r in sim.expansions_run] == [
        ("system", "id", "log"),
        ("system", "uname -a", "playback"),
    ]
    assert [(r.name, r.source) for r in sim.references_expanded] == [
        ("caller_id_name", "profile"),
        ("sip_h_X-Campaign", "channel"),
    ]


def test_api_text_export_and_unknown_apps_are_not_expanded(sim: Simulator) -> None:
    """mod_event_socket hands `api`/`bgapi` text to switch_api_execute as it is; export
    stores its value after the core's single pass; an unknown application is refused before
    switch_core_session_exec expands anything."""

    def script(esl: RawEsl) -> None:
        esl.start()
        assert esl.api(f"uuid_getvar {esl.uuid} ${{system id}}") == "_undef_"
        assert esl.command("bgapi uuid_exists ${system id}").ok
        done = esl.execute("export", "kept=\\${system id}")
        assert done.get("Application-Data") == "kept=${system id}"
        assert esl.api(f"uuid_getvar {esl.uuid} kept") == "${system id}"
        esl.send(
            "sendmsg\ncall-command: execute\nexecute-app-name: no_such_app\n"
            "execute-app-arg: ${system id}\n\n"
        )
        esl.reply()

    outcome = one_call(sim, script)
    assert outcome.hangup_cause == "DESTINATION_OUT_OF_ORDER"
    assert_nothing_expanded(sim)


def test_clean_arguments_expand_nothing(sim: Simulator) -> None:
    """What the controller sends today: no reference at all, so nothing is even looked up."""

    def script(esl: RawEsl) -> None:
        esl.start()
        esl.execute("set", "callflow_state=eyJub2RlIjoic3RhcnQifQ")
        esl.execute("log", "INFO price is $5, 100% {sure}")
        esl.hangup()

    one_call(sim, script)
    assert_nothing_expanded(sim)


def _inbound_api(address: tuple[str, int], line: str) -> str:
    sock = gsocket.create_connection(address, timeout=TIMEOUT)
    try:
        esl = RawEsl(sock)
        assert esl.frame().content_type == "auth/request"
        assert esl.command("auth ClueCon").ok
        return esl.api(line)
    finally:
        sock.close()


def test_originate_refuses_a_variable_holding_a_reference(sim: Simulator) -> None:
    """FINDINGS: `{myv='${system ...}'}` placed the call and myv read back `_undef_`:
    switch_ivr_originate sets {} values with var_check (check_vars), and expands none."""
    address = sim.start_inbound()
    sim.add_callee(None, "answer")
    result = _inbound_api(
        address, "originate {myv='${system id}',plain=ok}loopback/0600000001 &park()"
    )
    assert result.startswith("+OK ")
    uuid = result.split()[1]
    assert _inbound_api(address, f"uuid_getvar {uuid} myv") == "_undef_"
    assert _inbound_api(address, f"uuid_getvar {uuid} plain") == "ok"
    assert _inbound_api(address, f"uuid_kill {uuid}") == "+OK\n"
    assert_nothing_expanded(sim)


def test_the_originated_application_argument_is_expanded(sim: Simulator) -> None:
    """mod_commands runs `&socket(...)` through switch_core_session_exec on the A leg."""
    address = sim.start_inbound()
    sim.add_callee(None, "answer")

    def script(esl: RawEsl) -> None:
        esl.start()
        esl.hangup()

    controller = Controller(script)
    result = _inbound_api(
        address,
        f"originate loopback/0600000001 '&socket($${{local_ip_v4}}:{controller.port} async full)'",
    )
    assert result.startswith("+OK ")
    controller.finish()
    assert [(r.name, r.source, r.application) for r in sim.references_expanded] == [
        ("local_ip_v4", "global", "socket")
    ]
    assert sim.expansions_run == []


def test_the_expand_api_expands_its_arguments_against_the_channels_event(sim: Simulator) -> None:
    """mod_commands expand_function: switch_event_expand_headers on the channel's event data
    (`${Unique-ID}`, `${variable_x}`; a bare variable name is not a header), then the command."""

    def script(esl: RawEsl) -> None:
        esl.start()
        assert esl.api(f"expand uuid:{esl.uuid} uuid_exists ${{Unique-ID}}") == "true"
        assert esl.api(f"expand uuid:{esl.uuid} uuid_getvar ${{Unique-ID}} ${{flow_id}}") == (
            "-USAGE: <uuid> <var>\n"  # ${flow_id} is no header: the var name expands to ""
        )
        assert esl.api(f"expand uuid:{esl.uuid} uuid_exists ${{system id}}") == "false"
        # A header's value is not expanded again (only a global's is): nothing runs.
        assert esl.api(f"uuid_setvar {esl.uuid} stored ${{system uname}}") == "+OK\n"
        assert esl.api(f"expand uuid:{esl.uuid} uuid_exists ${{variable_stored}}") == "false"
        assert esl.api("expand") == "-ERR, no input\n"
        esl.hangup()

    one_call(sim, script, variables={"flow_id": "hello"})
    assert [(r.name, r.source, r.application) for r in sim.references_expanded] == [
        ("Unique-ID", "event", "expand api"),
        ("Unique-ID", "event", "expand api"),
        ("flow_id", "unset", "expand api"),
        ("variable_stored", "event", "expand api"),
    ]
    assert [(r.api, r.args, r.application) for r in sim.expansions_run] == [
        ("system", "id", "expand api")
    ]


def test_an_unquoted_reference_in_originate_variables_breaks_the_dial_string(
    sim: Simulator,
) -> None:
    """FINDINGS: `{...,myv=${system ...}}` unquoted answered -ERR DESTINATION_OUT_OF_ORDER and
    ran nothing: the blank split cuts it, and its `{` never closes (switch_event_create_brackets
    fails before any channel exists)."""
    address = sim.start_inbound()
    sim.add_callee(None, "answer")
    result = _inbound_api(
        address, "originate {plain=ok,myv=${system touch /tmp/x}}loopback/0600000001 &park()"
    )
    assert result == "-ERR DESTINATION_OUT_OF_ORDER\n"
    assert _inbound_api(address, "show channels count") == "\n0 total.\n"
    assert_nothing_expanded(sim)


def test_multiset_expands_each_value_again_like_set(sim: Simulator) -> None:
    """multiset_function hands each part to base_set, which expands its value once more."""

    def script(esl: RawEsl) -> None:
        esl.start()
        esl.execute("multiset", "^^|a=\\${system id}|b=plain")
        esl.hangup()

    outcome = one_call(sim, script)
    assert [(r.api, r.args, r.application) for r in sim.expansions_run] == [
        ("system", "id", "multiset value")
    ]
    assert outcome.variables.get("b") == "plain"


def test_origination_nested_vars_lets_a_reference_be_stored(sim: Simulator) -> None:
    """switch_ivr_originate: origination_nested_vars=true turns check_vars off; the value is
    then stored literally (and runs when something references it)."""
    address = sim.start_inbound()
    sim.add_callee(None, "answer")
    result = _inbound_api(
        address,
        "originate {origination_nested_vars=true,myv='${system id}'}loopback/0600000001 &park()",
    )
    uuid = result.split()[1]
    assert _inbound_api(address, f"uuid_getvar {uuid} myv") == "${system id}"
    assert _inbound_api(address, f"uuid_kill {uuid}") == "+OK\n"
    assert_nothing_expanded(sim)
