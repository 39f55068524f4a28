"""`api` commands (mod_commands) the simulator answers, with FreeSWITCH's wording.

A channel exists from its creation until its socket is closed (a lingering socket keeps the
session alive, as FreeSWITCH's listener holds its read lock): uuid_exists says "true" and
uuid_break/uuid_kill find it until then. Bodies without a trailing newline (uuid_exists,
uuid_getvar) are as recorded. Any other command: "-ERR <name> Command not found!".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.hangup_causes import HANGUP_CAUSES
from controller.simulator.dialstring import separate

if TYPE_CHECKING:
    from controller.simulator.simulator import SimulatedCall, Simulator

VERSION = "FreeSWITCH Version 1.11.3-dev (callflow simulator)"


def run_api(sim: Simulator, name: str, arg: str | None) -> str:
    name = name.strip()
    words = setvar_words(arg) if name.lower() == "uuid_setvar" else (arg or "").split()
    handler = _HANDLERS.get(name.lower())
    if handler is None:
        return f"-ERR {name} Command not found!\n"
    call = sim.calls.get(words[0]) if words else None
    return handler(sim, call, words)


def setvar_words(arg: str | None) -> list[str]:
    """uuid_setvar splits its argument in at most 3 (switch_separate_string: quotes group,
    escapes unescape): the value is the rest of the line, stored as it is (FINDINGS.md: a
    `${system ...}` value is stored literally, nothing runs)."""
    return separate(arg, " ", 3) if arg and arg.strip() else []


def _exists(sim: Simulator, call: SimulatedCall | None, words: list[str]) -> str:
    return "true" if call is not None else "false"


def _break(sim: Simulator, call: SimulatedCall | None, words: list[str]) -> str:
    if not words:
        return "-USAGE: <uuid> [all]\n"
    if call is None:
        return "-ERR No Such Channel!\n"
    call.session.request_break(len(words) > 1 and "all" in words[1].lower())
    return "+OK\n"


def _kill(sim: Simulator, call: SimulatedCall | None, words: list[str]) -> str:
    if call is None:
        return "-ERR No such channel!\n"
    cause = words[1].upper() if len(words) > 1 else "NORMAL_CLEARING"
    call.session.hangup(
        cause if cause in HANGUP_CAUSES else "NORMAL_CLEARING", by="controller", async_side=True
    )
    return "+OK\n"


def _getvar(sim: Simulator, call: SimulatedCall | None, words: list[str]) -> str:
    if len(words) < 2:
        return "-USAGE: <uuid> <var>\n"
    if call is None:
        return "-ERR No such channel!\n"
    return call.channel.variables.get(words[1]) or "_undef_"


def _setvar(sim: Simulator, call: SimulatedCall | None, words: list[str]) -> str:
    if len(words) < 2:
        return "-USAGE: <uuid> <var> [value]\n"
    if call is None:
        return "-ERR No such channel!\n"
    call.channel.variables.set(words[1], words[2] if len(words) > 2 else "")
    return "+OK\n"


def _status(sim: Simulator, call: SimulatedCall | None, words: list[str]) -> str:
    count = len(sim.calls)
    return (
        f"UP 0 years, 0 days, 0 hours, 0 minutes, 0 seconds, 0 milliseconds, 0 microseconds\n"
        f"{VERSION} is ready\n{count} session(s) since startup\n"
        f"{count} session(s) - peak {count}, last 5min {count} \n"
        f"0 session(s) per Sec out of max 1000, peak 0, last 5min 0 \n"
        f"2000 session(s) max\nmin idle cpu 0.00/100.00\n"
    )


def _version(sim: Simulator, call: SimulatedCall | None, words: list[str]) -> str:
    return VERSION + "\n"


def _hostname(sim: Simulator, call: SimulatedCall | None, words: list[str]) -> str:
    return sim.events.hostname  # switch_core_get_hostname, no newline


def _hupall(sim: Simulator, call: SimulatedCall | None, words: list[str]) -> str:
    cause = words[0].upper() if words and words[0].upper() in HANGUP_CAUSES else "MANAGER_REQUEST"
    for each in list(sim.calls.values()):
        each.session.hangup(cause, by="controller", async_side=True)
    return "+OK\n"


def _show(sim: Simulator, call: SimulatedCall | None, words: list[str]) -> str:
    if words[:2] == ["channels", "count"]:
        up = sum(1 for each in sim.calls.values() if each.channel.up)
        return f"\n{up} total.\n"
    return "-USAGE: show channels count\n"


# The modules of the FreeSWITCH the transcripts were recorded on (mod_amd was not among them).
LOADED_MODULES = frozenset(
    {
        "mod_event_socket",
        "mod_dptools",
        "mod_commands",
        "mod_loopback",
        "mod_sofia",
        "mod_avmd",
        "mod_spandsp",
        "mod_sndfile",
        "mod_tone_stream",
    }
)


def _module_exists(sim: Simulator, call: SimulatedCall | None, words: list[str]) -> str:
    loaded = getattr(sim, "modules", LOADED_MODULES)
    return "true" if words and words[0] in loaded else "false"


_HANDLERS = {
    "module_exists": _module_exists,
    "uuid_exists": _exists,
    "uuid_break": _break,
    "uuid_kill": _kill,
    "uuid_getvar": _getvar,
    "uuid_setvar": _setvar,
    "status": _status,
    "version": _version,
    "hostname": _hostname,
    "hupall": _hupall,
    "show": _show,
}
