"""Run scenarios through the real controller and the FreeSWITCH simulator, many at once.

One controller (its outbound-socket server, and its event-socket client connected to the
simulator's inbound side) and one simulator on its simulated clock serve every scenario of a
run, over real loopback sockets. An inbound flow's scenario is a call the simulator places to
the controller, as FreeSWITCH's `socket` app would; a flow that starts with a dial node is
placed by the controller (`OutboundCalls.place`), and the simulator's originate finds the
scenario's callee by the number dialled.

Scenarios run concurrently. Each dial scenario gets a number of its own (its contact's `phone`
when the scenario does not set one), so callees never mix; a scenario that fixes the phone, or
a flow whose dial node does not dial `{{contact.phone}}`, cannot be told apart by number and
runs afterwards, one at a time, with its callee as the simulator's default.

`hangupAt` and `failAt` act from a node observer, as the node starts: the caller hangs up (and
the controller sees it before the node runs), or the channel's next `execute` fails as when
FreeSWITCH answers `-ERR`, so the node takes its error path with everything else real.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import tempfile
import time
import uuid as uuidlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gevent
from gevent.event import AsyncResult
from gevent.pool import Pool

from controller import runner
from controller.call import Call
from controller.config import Settings
from controller.esl.channel import Channel
from controller.exceptions import ESLError
from controller.flows.model import Flow, Node
from controller.records import CallRecord
from controller.scenarios.spec import Scenario
from controller.scenarios.standin import StandInDictionaries, write_silence
from controller.simulator import Simulator

RECORD_TIMEOUT = 60.0  # real seconds for one scenario's record; simulated media costs none
CONNECT_TIMEOUT = 10.0
CONCURRENCY = 32
NUMBER_PREFIX = "0999"  # numbers dialled for scenarios whose contact has no phone
CONTACT_PHONE = "{{contact.phone}}"


@dataclass
class Outcome:
    """What one scenario's call did."""

    scenario: Scenario
    record: CallRecord | None = None
    apps: list[tuple[str, str]] = field(default_factory=list)  # (application, argument)
    problems: list[str] = field(default_factory=list)  # the run went wrong, not the flow
    seconds: float = 0.0


@dataclass
class _Running:
    scenario: Scenario
    outcome: Outcome
    record: AsyncResult = field(default_factory=AsyncResult)
    armed: Channel | None = None  # a failAt waiting for the node's first command
    refused: bool = False  # failAt acts on the node's first run only


class ScenarioRunner:
    """A controller and a simulator for a run of scenarios; use as a context manager."""

    def __init__(
        self,
        flow_paths: list[Path],
        *,
        audio: Path,
        stand_in_clips: bool = True,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.flow_paths = flow_paths
        self.audio = audio
        self.stand_in_clips = stand_in_clips
        self.concurrency = concurrency
        self.flows: dict[str, Flow] = {}
        self.dictionaries: StandInDictionaries | None = None
        self._scratch: Path | None = None
        self._sim: Simulator | None = None
        self._controller: Any = None
        self._numbers = itertools.count(1)
        self._by_uuid: dict[str, _Running] = {}  # inbound calls, by the uuid we gave them
        self._by_phone: dict[str, _Running] = {}  # dial scenarios run concurrently
        self._alone: _Running | None = None  # the dial scenario running on its own

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> ScenarioRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._scratch = Path(tempfile.mkdtemp(prefix="callflow-test-"))
        sim = self._sim = Simulator(controller=("127.0.0.1", 9), record_frames=False)
        host, port = sim.start_inbound()
        settings = replace(
            Settings(),
            flows=self._scratch / "flows",  # empty: the flows under test are loaded below
            audio=self.audio,
            recordings=self._scratch / "recordings",
            records=self._scratch / "records" / "calls.jsonl",
            listen="127.0.0.1:0",
            http_listen=None,
            esl=f"{host}:{port}",
            command_timeout=10.0,
            media_timeout=RECORD_TIMEOUT,
        )
        controller = self._controller = runner.build(
            settings, observers=(self._on_node,), on_record=self._on_record
        )
        for path in self.flow_paths:
            loaded = controller.flows.load_file(path)
            if loaded.flow is not None:
                self.flows[loaded.flow.id] = loaded.flow
        if self.stand_in_clips:
            server = controller.server
            self.dictionaries = StandInDictionaries(
                settings.audio.resolve(), write_silence(self._scratch / "stand-in.wav")
            )
            server.call_settings = replace(server.call_settings, dictionaries=self.dictionaries)
        controller.start()
        sim.controller = controller.server.address
        if not controller.esl.wait_connected(CONNECT_TIMEOUT):
            raise RuntimeError(f"the simulator's event socket: {controller.esl.last_error}")

    def close(self) -> None:
        if self._controller is not None:
            self._controller.stop(drain_seconds=5)
            self._controller = None
        if self._sim is not None:
            self._sim.close()
            self._sim = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # -- running --------------------------------------------------------------------------

    def run(self, scenarios: list[Scenario]) -> list[Outcome]:
        """Every scenario's outcome, in the order given."""
        outcomes = [Outcome(scenario) for scenario in scenarios]
        together = [o for o in outcomes if self._runs_together(o.scenario)]
        alone = [o for o in outcomes if not self._runs_together(o.scenario)]
        pool = Pool(self.concurrency)
        greenlets = [pool.spawn(self._run_one, outcome) for outcome in together]
        # Each scenario's waits are bounded; this bounds the whole batch the same way.
        rounds = -(-len(together) // self.concurrency) + 1
        gevent.joinall(greenlets, timeout=RECORD_TIMEOUT * rounds)
        for greenlet, outcome in zip(greenlets, together, strict=True):
            if not greenlet.dead:
                outcome.problems.append("the scenario did not finish in time")
        pool.kill(block=True, timeout=5)
        for outcome in alone:
            self._run_one(outcome)
        return outcomes

    def _runs_together(self, scenario: Scenario) -> bool:
        if scenario.callee is None:
            return True
        flow = self.flows.get(scenario.flow_id)
        if flow is None or (scenario.contact or {}).get("phone"):
            return False
        dials = [node for node in flow.nodes.values() if node.type == "dial"]
        return all(node.config["destination"].replace(" ", "") == CONTACT_PHONE for node in dials)

    def _run_one(self, outcome: Outcome) -> None:
        scenario = outcome.scenario
        started = time.monotonic()
        running = _Running(scenario, outcome)
        try:
            if scenario.flow_id not in self.flows:
                outcome.problems.append(f"flow {scenario.flow_id} is not valid: it cannot run")
            elif scenario.callee is None:
                self._inbound(running)
            else:
                self._dialled(running)
        except gevent.Timeout:
            outcome.problems.append(f"no call record within {RECORD_TIMEOUT:g} s")
        finally:
            self._disarm(running, None)
            outcome.seconds = time.monotonic() - started

    def _inbound(self, running: _Running) -> None:
        scenario, sim = running.scenario, self._sim
        assert sim is not None
        call_uuid = str(uuidlib.uuid4())
        variables = {
            "callflow_flow": scenario.flow_id,
            "destination_number": "1000",
            "caller_id_number": "0600000000",
            **scenario.variables,
        }
        if scenario.contact is not None:
            variables["callflow_contact"] = json.dumps(scenario.contact)
        self._by_uuid[call_uuid] = running
        try:
            sim_call = sim.place_call(
                caller=scenario.caller, variables=variables, uuid=call_uuid, audio=scenario.audio
            )
            running.outcome.record = running.record.get(timeout=RECORD_TIMEOUT)
            with contextlib.suppress(TimeoutError):
                sim_call.wait(5, until="hangup")
            running.outcome.apps = [(run.name, run.arg) for run in sim_call.outcome.apps]
        finally:
            self._by_uuid.pop(call_uuid, None)

    def _dialled(self, running: _Running) -> None:
        scenario, sim = running.scenario, self._sim
        assert sim is not None and scenario.callee is not None
        contact = dict(scenario.contact or {})
        together = self._runs_together(scenario)
        if together:
            contact["phone"] = f"{NUMBER_PREFIX}{next(self._numbers):07d}"
            sim.add_callee(contact["phone"], scenario.callee)
            self._by_phone[contact["phone"]] = running
        else:
            sim.add_callee(None, scenario.callee)
            self._alone = running
        try:
            placed = self._controller.outbound.place(scenario.flow_id, contact=contact)
            record = placed.get(timeout=RECORD_TIMEOUT)
        finally:
            self._by_phone.pop(contact.get("phone", ""), None)
            self._alone = None
        if record is None:
            running.outcome.problems.append("the answered call was handed to another process")
            return
        running.outcome.record = record
        attempt = sim.originator.attempts.get(record.callId)
        answered = attempt.a.call if attempt is not None else None
        if answered is not None:
            with contextlib.suppress(TimeoutError):
                answered.wait(5, until="hangup")
            running.outcome.apps = [(run.name, run.arg) for run in answered.outcome.apps]

    # -- the controller's hooks -------------------------------------------------------------

    def _on_record(self, record: CallRecord) -> None:
        running = self._by_uuid.get(record.callId)
        if running is not None:
            running.record.set(record)

    def _running_of(self, call: Call) -> _Running | None:
        if call.channel is not None and call.channel.uuid in self._by_uuid:
            return self._by_uuid[call.channel.uuid]
        if call.record.direction == "outbound":
            return self._by_phone.get(str(call.contact.get("phone"))) or self._alone
        return None

    def _on_node(self, call: Call, node: Node) -> None:
        running = self._running_of(call)
        if running is None:
            return
        self._disarm(running, node)
        scenario = running.scenario
        if node.id == scenario.hangup_at:
            self._hang_up(call, running, node)
        if node.id == scenario.fail_at and not running.refused:
            running.refused = True
            self._arm(call, running, node)

    def _hang_up(self, call: Call, running: _Running, node: Node) -> None:
        channel = call.channel
        sim_call = self._sim.calls.get(channel.uuid) if channel and self._sim else None
        if channel is None or sim_call is None:
            running.outcome.problems.append(
                f"hangupAt {node.id}: there was no call to hang up when it started"
            )
            return
        sim_call.hangup("NORMAL_CLEARING")
        channel.wait_ended(5)

    def _arm(self, call: Call, running: _Running, node: Node) -> None:
        channel = call.channel
        if channel is None:
            running.outcome.problems.append(
                f"failAt {node.id}: there was no call when it started, nothing to refuse"
            )
            return

        def refuse(app: str, arg: str = "", *, timeout: float) -> Any:
            self._disarm(running, node)
            raise ESLError(f"execute {app}: FreeSWITCH answered '-ERR' (the scenario's failAt)")

        channel.execute = refuse  # type: ignore[method-assign]
        running.armed = channel

    def _disarm(self, running: _Running, node: Node | None) -> None:
        """Put the channel's own `execute` back; a failAt still armed when the next node
        starts (or the call ends) refused nothing, which the scenario must hear about."""
        channel, running.armed = running.armed, None
        if channel is None:
            return
        del channel.execute  # type: ignore[method-assign]
        if node is not None and node.id == running.scenario.fail_at:
            return  # the refusal itself
        running.outcome.problems.append(
            f"failAt {running.scenario.fail_at}: the node sent FreeSWITCH no command to refuse"
        )
