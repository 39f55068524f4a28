"""parse_command of mod_event_socket.c for an outbound listener, in its order of checks.

Each check is a case-insensitive prefix match, as FreeSWITCH's strncasecmp (so `exitfoo`
exits and `linger5` lingers forever). Replies are FreeSWITCH's words, typos included.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from controller.esl.protocol import Frame
from controller.simulator.events import EVENT_NAMES, event_name
from controller.simulator.util import atoi

if TYPE_CHECKING:
    from controller.simulator.outbound import Connection


LOG_LEVELS = {"console": 0, "alert": 1, "crit": 2, "err": 3, "error": 3, "warning": 4,
              "notice": 5, "info": 6, "debug": 7}  # fmt: skip


def dispatch(conn: Connection, frame: Frame, command: str) -> None:
    low = command.lower()
    if low.startswith(("exit", "...")):
        conn.reply("+OK bye")
        conn.goodbye()
        return
    if low.startswith("filter "):
        _filter(conn, command[7:])
        return
    if low.startswith("resume"):
        conn.call.channel.variables.set("socket_resume", "true")
        conn.reply("+OK")
        return
    if low.startswith("connect"):
        conn.connect()
        return
    if low.startswith("getvar"):
        _, _, name = command.partition(" ")
        conn.reply(conn.call.channel.variables.get(name) or "" if name else "")
        return
    if low.startswith("myevents"):
        if conn.subscription.myevents:
            conn.reply("-ERR aready enabled.")
            return
        conn.subscription.enable_myevents(command)
        conn.call.sim.listen(conn)
        conn.reply("+OK Events Enabled")
        return
    if low.startswith("divert_events"):
        value = command[13:].strip().lower()
        if not value:
            conn.reply("-ERR missing value.")
        else:
            conn.reply("+OK events diverted" if value == "on" else "+OK events not diverted")
        return
    if low.startswith("sendmsg"):
        conn.sendmsg(frame, command[7:])
        return
    if not conn.call.full:  # an outbound socket without `full`
        conn.reply("-ERR command not found")
        return
    _full_control(conn, frame, command, low)


def _full_control(conn: Connection, frame: Frame, command: str, low: str) -> None:
    if low.startswith("sendevent"):
        conn.reply(f"+OK {uuid.uuid4()}")
    elif low.startswith("api "):
        conn.api(command[4:])
    elif low.startswith("bgapi "):
        conn.bgapi(frame, command[6:])
    elif low.startswith("log"):
        level = command[4:]
        number = LOG_LEVELS.get(level.lower(), int(level) if level.isdigit() else None)
        if not level:
            number = LOG_LEVELS["debug"]
        if number is None or number > LOG_LEVELS["debug"]:
            conn.reply("-ERR invalid log level")
        else:
            conn.reply(f"+OK log level {level} [{number}]")  # no log lines are ever sent
    elif low.startswith("linger"):
        rest = command[6:]
        if rest.startswith(" ") and rest[1:]:
            conn.linger = atoi(rest[1:])
            conn.reply(f"+OK will linger {conn.linger} seconds")
        else:
            conn.linger = -1
            conn.reply("+OK will linger")
    elif low.startswith("nolinger"):
        conn.linger = None
        conn.reply("+OK will not linger")
    elif low.startswith("nolog"):
        conn.reply("-ERR not loging")
    elif low.startswith("event"):
        _, _, rest = command.partition(" ")
        conn.event_command(rest.split(" ") if rest else [])
    elif low.startswith("nixevent"):
        _nixevent(conn, command.split(" ")[1:])
    elif low.startswith("noevents"):
        if conn.subscription.enabled:
            conn.subscription.clear()
            conn.call.sim.unlisten(conn)
            conn.reply("+OK no longer listening for events")
        else:
            conn.reply("-ERR not listening for events")
    else:
        conn.reply("-ERR command not found")


def _filter(conn: Connection, rest: str) -> None:
    name, _, value = rest.lstrip(" ").partition(" ")
    filters = conn.subscription.filters
    if name.lower() == "delete" and value:
        name, _, value = value.partition(" ")
        if name.lower() == "all":
            filters.clear()
        else:
            filters[:] = [
                (n, v) for n, v in filters if n.lower() != name.lower() or (value and v != value)
            ]
        conn.reply(f"+OK filter deleted. [{name}][{value}]")
    elif value:
        if name.lower() == "add":
            name, _, value = value.partition(" ")
        filters.append((name, value))
        conn.reply(f"+OK filter added. [{name}]=[{value}]")
    else:
        conn.reply("-ERR invalid syntax")


def _nixevent(conn: Connection, words: list[str]) -> None:
    sub = conn.subscription
    keys = 0
    custom = False
    for word in words:
        if custom:
            sub.subclasses.discard(word)
            continue
        name = event_name(word)
        if name is None:
            continue
        keys += 1
        if name == "CUSTOM":
            custom = True
        elif name == "ALL":
            sub.names.clear()
        else:
            if "ALL" in sub.names:
                sub.names = set(EVENT_NAMES) - {"ALL"}
            sub.names.discard(name)
    if not keys:
        conn.reply("-ERR no keywords supplied")
        return
    sub.enabled = True
    conn.reply("+OK events nixed")
