"""A FreeSWITCH stand-in that speaks the real ESL wire protocol.

Its outbound side plays FreeSWITCH's dialplan `socket` app: each simulated call connects over
TCP to a controller's outbound-socket server and behaves like the recordings in
/work/shared/freeswitch/transcripts (tests/simulator/test_replay.py compares them frame by
frame).

    with Simulator(controller=("127.0.0.1", 8084)) as sim:
        call = sim.place_call(CallerScript.parse("press 1 after 2s"), variables={"x": "1"})
        outcome = call.wait(timeout=10)  # CallOutcome: cause, who hung up, apps, frames

Its inbound side is the event socket (8021) and `originate`: a controller connects, subscribes,
runs `api`/`bgapi`, and the calls it originates ring a callee and connect to its `&socket`
(tests/simulator/test_inbound_replay.py compares them with the originate-* recordings).

    host, port = sim.start_inbound(password="ClueCon")
    sim.add_callee("0600000001", Callee.from_text("ring 3s answer: press 1"))
    sim.restart_inbound(down_seconds=1)  # FreeSWITCH restarting

Modules: simulator (Simulator, SimulatedCall), caller (caller scripts), clock (simulated
and real time), outbound + commands + subscription (the socket), session (the channel's
thread: queue, nesting, hangup), apps, media, collect, recording (applications), events and
channel_state (header blocks), apicmds (`api`), expand (FreeSWITCH's `${...}` expansion and
the API calls it would have run: Simulator.expansions_run), outcome (what a call did);
inbound (the event socket), inbound_api (api over every channel), originate + dialstring +
legs (originate), callee (who answers).
"""

from controller.simulator.callee import Callee
from controller.simulator.caller import CallerScript
from controller.simulator.outcome import AppRun, CallOutcome
from controller.simulator.simulator import SimulatedCall, Simulator

__all__ = ["AppRun", "CallOutcome", "Callee", "CallerScript", "SimulatedCall", "Simulator"]
