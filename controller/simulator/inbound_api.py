"""`api` / `bgapi` commands over the whole simulated switch: the calls placed by `place_call`
and the channels `originate` made (apicmds.py answers the rest). Wording as recorded in
inbound-auth-api.txt and originate-*.txt:

- `originate` (originate.py); with no argument, its usage text.
- `uuid_exists` -> `true`/`false` (no newline); `uuid_kill <uuid> [cause]` -> `+OK` or
  `-ERR No such channel!`; `uuid_getvar`, `uuid_setvar` on ringing and parked legs too.
- `hupall [cause] [var value]` -> `+OK hangup all channels with cause MANAGER_REQUEST`.
- `show channels [count|as json]`, `show calls [count|as json]` (nothing is ever bridged here,
  so calls are always `0 total.`).
- `expand [uuid:<uuid> ]<command> <args>` (expand.py: the only api whose text is expanded).
- `status` counts every channel; `fsctl sps [N]` reads or sets the sessions-per-second limit
  (unlimited reads as 1000, the recordings' setting); `global_getvar sound_prefix`.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from controller.hangup_causes import HANGUP_CAUSES
from controller.simulator.apicmds import VERSION, run_api, setvar_words
from controller.simulator.channel_state import ChannelState
from controller.simulator.dialstring import USAGE
from controller.simulator.expand import expand_api
from controller.simulator.originate import Result

if TYPE_CHECKING:
    from controller.simulator.simulator import Simulator

UNLIMITED_SPS = 1000
_COLUMNS = (
    "uuid,direction,created,created_epoch,name,state,cid_name,cid_num,ip_addr,dest,application,"
    "application_data,dialplan,context,read_codec,read_rate,read_bit_rate,write_codec,"
    "write_rate,write_bit_rate,secure,hostname,presence_id,presence_data,accountcode,callstate,"
    "callee_name,callee_num,callee_direction,call_uuid,sent_callee_name,sent_callee_num,"
    "initial_cid_name,initial_cid_num,initial_ip_addr,initial_dest,initial_dialplan,"
    "initial_context"
)
COLUMNS = tuple(_COLUMNS.split(","))


def channels(sim: Simulator) -> list[ChannelState]:
    """Every channel that exists, oldest first."""
    found = {uuid: call.channel for uuid, call in sim.calls.items()}
    for _, leg in sim.originator.legs.values():
        found.setdefault(leg.uuid, leg.channel)
    return sorted(found.values(), key=lambda c: c.created)


def _channel(sim: Simulator, uuid: str) -> ChannelState | None:
    call = sim.calls.get(uuid)
    if call is not None:
        return call.channel
    found = sim.originator.find(uuid)
    return found[1].channel if found else None


def _cause(word: str | None, default: str) -> str:
    cause = (word or "").upper()
    return cause if cause in HANGUP_CAUSES else default


def inbound_api(sim: Simulator, name: str, arg: str | None) -> Result:
    command = name.strip().lower()
    words = setvar_words(arg) if command == "uuid_setvar" else (arg or "").split()
    if command == "originate":
        return sim.originator.originate(arg) if arg and arg.strip() else Result(USAGE)
    if command == "expand":
        return Result(expand_api(sim, arg))
    handler = _HANDLERS.get(command)
    if handler is not None:
        body = handler(sim, words)
        if body is not None:
            return Result(body)
    return Result(run_api(sim, name, arg))


def _exists(sim: Simulator, words: list[str]) -> str:
    return "true" if words and _channel(sim, words[0]) is not None else "false"


def _kill(sim: Simulator, words: list[str]) -> str | None:
    if words and words[0] not in sim.calls:
        cause = _cause(words[1] if len(words) > 1 else None, "NORMAL_CLEARING")
        return "+OK\n" if sim.originator.kill(words[0], cause) else "-ERR No such channel!\n"
    return None  # a call placed by place_call: apicmds


def _getvar(sim: Simulator, words: list[str]) -> str | None:
    if len(words) >= 2 and words[0] not in sim.calls:
        channel = _channel(sim, words[0])
        if channel is None:
            return "-ERR No such channel!\n"
        return channel.variables.get(words[1]) or "_undef_"
    return None


def _setvar(sim: Simulator, words: list[str]) -> str | None:
    if len(words) >= 2 and words[0] not in sim.calls:
        channel = _channel(sim, words[0])
        if channel is None:
            return "-ERR No such channel!\n"
        channel.variables.set(words[1], words[2] if len(words) > 2 else "")
        return "+OK\n"
    return None


def _hupall(sim: Simulator, words: list[str]) -> str:
    cause = _cause(words[0] if words else None, "MANAGER_REQUEST")
    var, value = (words[1], words[2]) if len(words) >= 3 else (None, None)

    def matches(channel: ChannelState) -> bool:
        return var is None or channel.variables.get(var) == value

    for call in list(sim.calls.values()):
        if call.channel.up and matches(call.channel):
            call.session.hangup(cause, by="controller", async_side=True)
    for attempt, leg in reversed(list(sim.originator.legs.values())):
        if leg.up and matches(leg.channel):
            attempt.hangup(leg, cause)
    if var is None:
        return f"+OK hangup all channels with cause {cause}\n"
    return f"+OK hangup all channels matching [{var}]=[{value}] with cause: {cause}\n"


def _row(sim: Simulator, channel: ChannelState) -> dict[str, str]:
    variables = channel.variables
    codec = variables.get("read_codec") or ""
    rate = variables.get("read_rate") or ""
    created = channel.created
    values = {
        "uuid": channel.uuid,
        "direction": channel.direction,
        "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)),
        "created_epoch": str(int(created)),
        "name": channel.name,
        "state": "CS_EXECUTE" if channel.up else "CS_HANGUP",
        "cid_name": channel.caller_id_name,
        "cid_num": channel.caller_id_number,
        "dest": channel.destination,
        "application": variables.get("current_application") or "",
        "application_data": variables.get("current_application_data") or "",
        "dialplan": "XML",
        "context": channel.context,
        "read_codec": codec,
        "read_rate": rate,
        "write_codec": variables.get("write_codec") or "",
        "write_rate": variables.get("write_rate") or "",
        "hostname": sim.events.hostname,
        "callstate": channel.call_state,
        "call_uuid": channel.uuid,
    }
    return {column: values.get(column, "") for column in COLUMNS}


def _show(sim: Simulator, words: list[str]) -> str | None:
    if not words or words[0] not in ("channels", "calls"):
        return None
    rows = [_row(sim, c) for c in channels(sim)] if words[0] == "channels" else []
    rest = words[1:]
    if rest == ["count"]:
        return f"\n{len(rows)} total.\n"
    if rest == ["as", "json"]:
        data: dict[str, object] = {"row_count": len(rows)}
        if rows:
            data["rows"] = rows
        return json.dumps(data) + "\n"
    if rest:
        return None
    if not rows:
        return "\n0 total.\n"
    lines = [",".join(COLUMNS)] + [",".join(row[c] for c in COLUMNS) for row in rows]
    return "\n".join(lines) + f"\n\n{len(rows)} total.\n"


def _status(sim: Simulator, words: list[str]) -> str:
    count = len(channels(sim))
    total = sim.originator.sessions + len(sim.calls)
    sps = sim.originator.throttle.per_second or UNLIMITED_SPS
    return (
        "UP 0 years, 0 days, 0 hours, 0 minutes, 0 seconds, 0 milliseconds, 0 microseconds\n"
        f"{VERSION} is ready\n{total} session(s) since startup\n"
        f"{count} session(s) - peak {count}, last 5min {count} \n"
        f"0 session(s) per Sec out of max {sps}, peak 0, last 5min 0 \n"
        "2000 session(s) max\nmin idle cpu 0.00/100.00\n"
    )


def _fsctl(sim: Simulator, words: list[str]) -> str | None:
    if not words or words[0].lower() != "sps":
        return None
    throttle = sim.originator.throttle
    if len(words) > 1 and words[1].isdigit():
        throttle.per_second = int(words[1])
    return f"+OK sessions per second: {throttle.per_second or UNLIMITED_SPS}\n"


def _global_getvar(sim: Simulator, words: list[str]) -> str:
    return sim.global_variables.get(words[0], "") if words else ""


_HANDLERS = {
    "uuid_exists": _exists,
    "uuid_kill": _kill,
    "uuid_getvar": _getvar,
    "uuid_setvar": _setvar,
    "hupall": _hupall,
    "show": _show,
    "status": _status,
    "fsctl": _fsctl,
    "global_getvar": _global_getvar,
}
