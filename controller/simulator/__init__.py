"""A FreeSWITCH stand-in that speaks the real ESL wire protocol.

Its outbound side plays FreeSWITCH's dialplan `socket` app: each simulated call connects over
TCP to a controller's outbound-socket server and behaves like the recordings in
/work/shared/freeswitch/transcripts (tests/simulator/test_replay.py compares them frame by
frame).

    with Simulator(controller=("127.0.0.1", 8084)) as sim:
        call = sim.place_call(CallerScript.parse("press 1 after 2s"), variables={"x": "1"})
        outcome = call.wait(timeout=10)  # CallOutcome: cause, who hung up, apps, frames

Modules: simulator (Simulator, SimulatedCall), caller (caller scripts), clock (simulated
and real time), outbound + commands + subscription (the socket), session (the channel's
thread: queue, nesting, hangup), apps, media, collect, recording (applications), events and
channel_state (header blocks), apicmds (`api`), outcome (what a call did).
"""

from controller.simulator.caller import CallerScript
from controller.simulator.outcome import AppRun, CallOutcome
from controller.simulator.simulator import SimulatedCall, Simulator

__all__ = ["AppRun", "CallOutcome", "CallerScript", "SimulatedCall", "Simulator"]
