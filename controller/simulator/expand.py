"""FreeSWITCH's variable expansion, and a record of everything it would have run.

A port of `switch_channel_expand_variables_check` (src/switch_channel.c), the function that
expands every application argument (switch_core_session_exec) and, a second time, the value
of `set` and `multiset` (mod_dptools base_set). The rules, as the C code has them:

- The text is looked at only if it holds `$` then `{` with nothing but backslashes between
  (switch_string_var_check_const) or one of the escapes `\\\\ \\n \\s \\t \\'`
  (switch_string_has_escaped_data); otherwise it comes back untouched.
- `${name}` is the channel variable `name`; not set: the caller-profile field of that name
  (caller_id_name, destination_number, ...; `aleg_`/`bleg_` prefixes are not modelled),
  then the global variable (switch_channel_get_variable_dup). Unknown: nothing.
  **The value found is expanded again**, so a variable that holds `${system ...}` runs it
  when referenced. `$${name}` is looked up the same way (the channel version of the code
  makes no difference between them at run time; `$${...}` in XML is replaced at load time).
- The name is expanded first (`${${a}}`), then `name:offset[:length]` takes a substring
  (atoi; a negative offset counts from the end) and `name[N]` an array element.
- A name holding a space or `(` is an API call: `${api args}` / `${api(args)}`. The name
  (trailing blanks trimmed) and the arguments are each expanded, then switch_api_execute
  runs it (both stripped of blanks) and its output replaces the reference. In `(` form the
  arguments end at the matching `)`; in space form at the first `)` that closes a `(`.
- Braces nest: `${a{b}c}` names `a{b}c` (a `{` right after `${` does not count). An
  unclosed `${` takes the rest of the text as its name.
- A backslash before `$` makes that `$` (and a second `$` right after it) literal and is
  dropped; `\\\\` gives one backslash; `\\'` disappears; any other backslash stays.
- `$` not followed by `{` stays, but `$$x` loses one `$` (a quirk of the C loop).
- Nesting deeper than 100 returns the text at that depth unexpanded (recur > 100).

Not expanded, as in FreeSWITCH: the text of `api`/`bgapi` (mod_event_socket hands it to
switch_api_execute as it is) except for the `expand` command, which expands its arguments
against the channel's event headers (EventScope, switch_event_expand_headers_check) and runs
the command it names; an `export` value (only the core's expansion of the whole
argument), a `uuid_setvar` value (stored literally; FINDINGS.md), an originate dial string
(no caller channel). Originate `{}`/`[]` values are not expanded either, but one holding `${`
is refused and the variable left unset (switch_channel_set_variable_var_check with
check_vars, unless origination_nested_vars=true; legs.py). The originate's own application
argument (`&socket(...)`) is expanded on the A leg when it runs (switch_core_session_exec).

Deliberate differences: an API call never runs. The simulator records it (ApiRun) in
`Simulator.expansions_run` and in the call's `CallOutcome.expansions_run`, logs a warning and
answers with a stand-in: nothing, except for a few read-only commands it already answers
(uuid_getvar, global_getvar, hostname, version, uuid_exists, module_exists). Real
FreeSWITCH has no bound on the work (`x=${x}${x}` doubles at each of 100 levels); the
simulator gives up after EXPANSION_BUDGET references: that text is then left as it was
(counted in ExpansionRecord.overflows, logged).

For tests (the hypothesis fuzz in tests/security, for one):

    from controller.simulator.expand import assert_nothing_expanded
    assert_nothing_expanded(sim)  # no API ran, no variable was referenced

`Simulator.references_expanded` lists every variable reference (VariableReference: name,
channel, application, where the value came from) so a test can also allow the references
its own flow makes: `assert_nothing_expanded(sim, allowed={"callflow_state"})`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller.simulator.util import atoi

if TYPE_CHECKING:
    from controller.simulator.channel_state import ChannelState
    from controller.simulator.outcome import CallOutcome
    from controller.simulator.simulator import Simulator

log = logging.getLogger(__name__)

MAX_RECURSION = 100  # switch_channel_expand_variables_check: `if (recur > 100) return in`
EXPANSION_BUDGET = 10_000  # references per top-level expansion (the simulator's own bound)
RECORD_LIMIT = 10_000  # entries kept in each record list; the rest are only counted
_BLANKS = " \t\r\n\v"  # switch_strip_whitespace
# Commands whose answer has no effect: an expansion may read them (still recorded).
READ_ONLY_APIS = frozenset(
    {"uuid_getvar", "global_getvar", "hostname", "version", "uuid_exists", "module_exists"}
)


@dataclass(frozen=True)
class ApiRun:
    """An API call FreeSWITCH would have run while expanding `text`."""

    api: str
    args: str
    channel: str | None  # the channel's uuid, None outside a channel
    application: str  # what asked for the expansion: the app name, "set value", ...
    text: str  # the whole text being expanded


@dataclass(frozen=True)
class VariableReference:
    """`${name}` looked up while expanding; `source`: "channel", "profile", "global", or
    "unset" when nothing had that name."""

    name: str
    channel: str | None
    application: str
    source: str


@dataclass
class ExpansionRecord:
    """What every expansion in one simulator did (Simulator.expansion)."""

    api_expansion: bool = True  # switch.conf.xml `api-expansion` (SCF_API_EXPANSION)
    expansions_run: list[ApiRun] = field(default_factory=list)
    references_expanded: list[VariableReference] = field(default_factory=list)
    dropped: int = 0  # entries beyond RECORD_LIMIT, not kept
    overflows: int = 0  # expansions abandoned after EXPANSION_BUDGET references

    def add_api(self, run: ApiRun) -> None:
        if len(self.expansions_run) < RECORD_LIMIT:
            self.expansions_run.append(run)
        else:
            self.dropped += 1

    def add_reference(self, reference: VariableReference) -> None:
        if len(self.references_expanded) < RECORD_LIMIT:
            self.references_expanded.append(reference)
        else:
            self.dropped += 1

    def clear(self) -> None:
        self.expansions_run.clear()
        self.references_expanded.clear()
        self.dropped = self.overflows = 0


def default_globals(hostname: str, sounds_dir: str) -> dict[str, str]:
    """Global variables as `global_getvar` shows them on a packaged FreeSWITCH (vars.xml and
    the core's own), with the simulator's hostname and sounds directory."""
    return {
        "hostname": hostname,
        "switchname": hostname,
        "local_ip_v4": "127.0.0.1",
        "local_mask_v4": "255.0.0.0",
        "base_dir": "/usr",
        "conf_dir": "/etc/freeswitch",
        "log_dir": "/var/log/freeswitch",
        "run_dir": "/var/run/freeswitch",
        "db_dir": "/var/lib/freeswitch/db",
        "mod_dir": "/usr/lib/freeswitch/mod",
        "script_dir": "/usr/share/freeswitch/scripts",
        "temp_dir": "/tmp",
        "recordings_dir": "/var/lib/freeswitch/recordings",
        "storage_dir": "/var/lib/freeswitch/storage",
        "sounds_dir": sounds_dir,
        "sound_prefix": sounds_dir,
        "domain": "127.0.0.1",
        "domain_name": "127.0.0.1",
        "default_password": "1234",
        "hold_music": "local_stream://moh",
    }


# -- the channel (or none) an expansion happens on ---------------------------------------------


class Scope:
    """Where an expansion happens and who asked for it: reads the channel's variables, its
    caller profile, then the globals; records every reference and API call."""

    def __init__(
        self,
        sim: Simulator,
        channel: ChannelState | None,
        application: str,
        outcome: CallOutcome | None = None,
    ) -> None:
        self.sim = sim
        self.channel = channel
        self.application = application
        self.outcome = outcome
        self.text = ""  # the top-level text, for the record
        self.last_source = ""  # where the latest lookup found its value
        self.budget = EXPANSION_BUDGET

    @property
    def uuid(self) -> str | None:
        return None if self.channel is None else self.channel.uuid

    def lookup(self, name: str, index: int, *, global_only: bool = False) -> str | None:
        """switch_channel_get_variable_dup: channel variable (an index only finds arrays,
        which the simulator has none of), caller-profile field, global variable. The channel
        version makes no difference for `$${...}` (`global_only`)."""
        value, source = None, "unset"
        channel = self.channel
        if channel is not None and index < 0:
            value = _get_ci(channel.variables.as_dict(), name)
            source = "channel"
        if value is None and channel is not None:
            value = _profile_field(channel, name)
            source = "profile"
        if value is None:
            value = _get_ci(self.sim.global_variables, name)
            source = "global"
        return self._found(name, value, source)

    def _found(self, name: str, value: str | None, source: str) -> str | None:
        record = VariableReference(name, self.uuid, self.application, source if value else "unset")
        self.sim.expansion.add_reference(record)
        self.last_source = source
        return value

    def expands_value(self) -> bool:
        """Whether the value just found is expanded again: always, on a channel."""
        return True

    def api(self, name: str, args: str) -> str | None:
        """switch_api_execute, never run: record it, warn, answer with a stand-in (None: the
        command failed, which expands to nothing)."""
        name, args = name.strip(_BLANKS), args.strip(_BLANKS)
        run = ApiRun(name, args, self.uuid, self.application, self.text)
        self.sim.expansion.add_api(run)
        if self.outcome is not None:
            self.outcome.expansions_run.append(run)
        log.warning(
            "FreeSWITCH would have run API %r with %r while expanding %s on %s: %r",
            name, args, self.application, self.uuid or "no channel", self.text,
        )  # fmt: skip
        if name.lower() in READ_ONLY_APIS:
            return self.sim.api(name, args or None)
        return ""  # `system` and everything else: an empty answer


class EventScope(Scope):
    """switch_event_expand_headers_check on an event carrying the channel's data (the `expand`
    API): `${name}` is the event header `name` (Unique-ID, Caller-Caller-ID-Name,
    variable_<name>, ...), else the global variable; `$${name}` is the global only. Only a
    global's value is expanded again (the C code's recursion sits in that branch)."""

    def expands_value(self) -> bool:
        return self.last_source == "global"

    def lookup(self, name: str, index: int, *, global_only: bool = False) -> str | None:
        value, source = None, "global"
        channel = self.channel
        if not global_only and channel is not None and index < 0:
            headers = dict(channel.basic() + channel.variable_headers())
            value = _get_ci(headers, name)
            source = "event"
        if value is None:
            value, source = _get_ci(self.sim.global_variables, name), "global"
        return self._found(name, value, source)


def expand_api(sim: Simulator, arg: str | None) -> str:
    """mod_commands expand_function: `expand [uuid:<uuid> ]<command> <args>` expands the
    args against that channel's event data (EventScope), then runs the command. This is the
    one `api` whose text FreeSWITCH expands."""
    text = arg or ""
    rest: str | None = text
    uuid = ""
    if text[:5].lower() == "uuid:":
        uuid, space, after = text[5:].partition(" ")
        rest = after if space else None
    if not text or not rest:
        return "-ERR, no input\n"
    command, space, args = rest.partition(" ")
    call = sim.calls.get(uuid) if uuid else None
    channel = call.channel if call is not None else None
    if channel is None and uuid:
        found = sim.originator.find(uuid)
        channel = found[1].channel if found else None
    expanded = expand(args, EventScope(sim, channel, "expand api")) if space else None
    body = sim.api(command, expanded)
    if body.startswith(f"-ERR {command.strip()} Command not found!"):
        return "INVALID COMMAND!\n-ERR Cannot execute command\n"  # switch_api_execute failed
    return body


def _get_ci(values: dict[str, str], name: str) -> str | None:
    """Event headers (channel and global variables) are found whatever the case."""
    if name in values:
        return values[name]
    lowered = name.lower()
    return next((v for k, v in values.items() if k.lower() == lowered), None)


def _profile_field(channel: ChannelState, name: str) -> str | None:
    """switch_caller_get_field_by_name, for the fields the simulated channel has."""
    fields: dict[str, Callable[[ChannelState], str | None]] = {
        "caller_id_name": lambda c: c.caller_id_name,
        "caller_id_number": lambda c: c.caller_id_number,
        "ani": lambda c: c.caller_id_number,
        "destination_number": lambda c: c.destination,
        "uuid": lambda c: c.uuid,
        "source": lambda c: c.source,
        "context": lambda c: c.context,
        "chan_name": lambda c: c.name,
        "dialplan": lambda c: getattr(c, "dialplan", None) or "XML",
        "callee_id_name": lambda c: getattr(c, "callee_id_name", None),
        "callee_id_number": lambda c: getattr(c, "callee_id_number", None),
    }
    getter = fields.get(name.lower())
    return getter(channel) if getter is not None else None


# -- the expansion itself ----------------------------------------------------------------------


# switch_string_var_check_const: `$`, any number of backslashes, `{`.
_VARIABLE = re.compile(r"\$\\*\{")
# switch_string_has_escaped_data: it looks at the character after every backslash.
_ESCAPED = re.compile(r"\\[\\nst']")


def has_variable(text: str) -> bool:
    """switch_string_var_check_const. FreeSWITCH refuses to store such a value where it sets
    a variable with var_check (originate `{}` variables)."""
    return _VARIABLE.search(text) is not None


def _has_escaped_data(text: str) -> bool:
    """switch_string_has_escaped_data."""
    return _ESCAPED.search(text) is not None


class _BudgetExceeded(Exception):
    """More than EXPANSION_BUDGET references in one expansion."""


def expand(text: str, scope: Scope) -> str:
    """switch_channel_expand_variables(channel, text) for `scope`. A C string ends at its
    first NUL, so does the text here."""
    text = text.split("\0", 1)[0]
    scope.text = text
    scope.budget = EXPANSION_BUDGET
    try:
        return _expand(text, scope, 0)
    except _BudgetExceeded:
        scope.sim.expansion.overflows += 1
        log.warning("expansion abandoned after %d references: %r", EXPANSION_BUDGET, text)
        return text


def _expand(text: str, scope: Scope, recur: int) -> str:
    """One level of switch_channel_expand_variables_check, in the C code's order."""
    if recur > MAX_RECURSION or not text:
        return text
    if not (has_variable(text) or _has_escaped_data(text)):
        return text
    out: list[str] = []
    end = len(text)

    def at(i: int) -> str:  # the C string's char at i, NUL past the end
        return text[i] if i < end else ""

    p = 0
    while p < end:
        literal = False
        vtype = 0
        if text[p] == "\\":
            if at(p + 1) == "$":
                literal = True
                p += 1
                if at(p + 1) == "$":
                    p += 1
            elif at(p + 1) == "'":
                p += 2  # `\'` vanishes: the backslash here, the quote by the loop step
                continue
            elif at(p + 1) == "\\":
                out.append("\\")
                p += 2
                continue
        if text[p] == "$" and not literal:
            dollar_global = False
            if at(p + 1) == "$":
                p += 1
                dollar_global = True
            if at(p + 1) == "{":
                vtype = 3 if dollar_global else 1
            else:
                literal = True
        if literal:
            out.append(text[p])
            p += 1
            continue
        if vtype:
            p = _reference(text, p, scope, recur, out, global_only=vtype == 3)
            if p >= end:
                break
        if text[p] == "$":
            continue  # the C loop steps back onto it (`p--`) and takes it again
        out.append(text[p])
        p += 1
    return "".join(out)


def _reference(
    text: str, dollar: int, scope: Scope, recur: int, out: list[str], *, global_only: bool
) -> int:
    """One `${...}` (or `$${...}`: `global_only`) at `dollar`: appends its value, returns
    where the scan goes on."""
    start = dollar + 2  # past `${`
    depth = 1
    close = start
    while close < len(text):
        char = text[close]
        if depth == 1 and char == "}":
            depth = 0
            break
        if close != start and char == "{":
            depth += 1
        elif depth > 1 and char == "}":
            depth -= 1
        close += 1
    name = text[start:close]  # an unclosed `${` names the rest of the text
    resume = close + 1 if depth == 0 else len(text)
    if scope.budget <= 0:
        raise _BudgetExceeded  # the simulator's bound; FreeSWITCH has none
    scope.budget -= 1
    split = next((i for i, c in enumerate(name) if c in " ("), -1)
    if split >= 0:
        out.append(_api_reference(name, split, depth, scope, recur))
    else:
        out.append(_variable_reference(name, scope, recur, global_only))
    return resume


def _api_reference(name: str, split: int, depth: int, scope: Scope, recur: int) -> str:
    """`${api args}` / `${api(args)}`: the command and its arguments, each expanded."""
    level = 1 if name[split] == "(" else depth  # a space keeps the brace count (0 if closed)
    command = name[:split].rstrip(" ")
    args = name[split + 1 :]
    for index, char in enumerate(args):
        if char == "(":
            level += 1
        elif level > 1 and char == ")":
            level -= 1
        elif level == 1 and char == ")":
            args = args[:index]
            break
    command = _expand(command, scope, recur + 1)
    args = _expand(args, scope, recur + 1)
    if not scope.sim.expansion.api_expansion:
        return "<API Execute Permission Denied>"
    return scope.api(command, args) or ""


def _variable_reference(name: str, scope: Scope, recur: int, global_only: bool) -> str:
    """`${name}`, `${name:offset:length}`, `${name[index]}`: the value, itself expanded."""
    name = _expand(name, scope, recur + 1)
    offset = length = 0
    colon = name.find(":")
    if colon >= 0:
        rest = name[colon + 1 :]
        name = name[:colon]
        offset = atoi(rest)
        second = rest.find(":")
        if second >= 0:
            length = atoi(rest[second + 1 :])
    index = -1
    bracket = name.find("[")
    if bracket >= 0 and "]" in name[bracket:]:
        index = atoi(name[bracket + 1 :])
        name = name[:bracket]
    value = scope.lookup(name, index, global_only=global_only)
    if value is None:
        return ""
    if scope.expands_value():
        value = _expand(value, scope, recur + 1)
    if offset >= 0:
        value = "" if offset > len(value) else value[offset:]
    elif -offset <= len(value):
        value = value[len(value) + offset :]
    if 0 < length < len(value):
        value = value[:length]
    return value


# -- for tests -----------------------------------------------------------------------------------


def assert_nothing_expanded(sim: Simulator, allowed: Iterable[str] = ()) -> None:
    """AssertionError unless the simulator ran no API from an expansion and referenced no
    variable except those named in `allowed` (names the test's own flow may reference)."""
    permitted = {name.lower() for name in allowed}
    record = sim.expansion
    problems = [
        f"API {run.api!r} {run.args!r} on {run.channel} from {run.application}: {run.text!r}"
        for run in record.expansions_run
    ]
    problems += [
        f"variable {ref.name!r} ({ref.source}) on {ref.channel} from {ref.application}"
        for ref in record.references_expanded
        if ref.name.lower() not in permitted
    ]
    if record.dropped:
        problems.append(f"{record.dropped} more record(s) beyond the first {RECORD_LIMIT}")
    if record.overflows:
        problems.append(f"{record.overflows} expansion(s) abandoned after {EXPANSION_BUDGET}")
    if problems:
        raise AssertionError("FreeSWITCH would have expanded:\n  " + "\n  ".join(problems))
