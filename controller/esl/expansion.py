"""What FreeSWITCH's variable expander acts on, and the checks that keep untrusted text from it.

FreeSWITCH runs `switch_channel_expand_variables` over every application argument it executes
(and `set`/`export` run it a second time over the value). It replaces `${name}` by the channel
variable *and expands that value again* (recursion to depth 100), `$${name}` by a global
variable, and runs `${api args}` / `${api(args)}` as an API command, so `${system ...}` runs a
shell command on the FreeSWITCH host. A backslash does not protect a `$`: the first pass eats
it and the second pass (or a later reference to the stored value) expands what is left.

The expander only starts when `switch_string_var_check_const` finds a `$` followed (after any
backslashes) by `{`. Text with no `$` at all can therefore never be expanded, neither where it
is sent nor later, wherever the operator's dialplan or CDR template pastes it next to other
text. That gives callflow two rules (docs/security.md):

- nothing callflow sends in an application argument or an API command may name a variable
  (`names_a_variable`): checked once, where commands are framed (`controller.esl.protocol`),
  so no node or future code path can forget it;
- a value callflow stores in a channel variable (`exportToChannel`, or anything else a later
  argument could reference) must not contain `$` at all (`check_channel_value`), and its name
  must not be one FreeSWITCH gives a meaning to (`reserved_channel_variable`), since several
  of those run their value as a command (`api_hangup_hook`, `execute_on_answer`...).
"""

from __future__ import annotations

import re

from controller.exceptions import UnsafeValue

# Longest value callflow stores in a channel variable: an ESL header line, not a document.
MAX_CHANNEL_VALUE = 1024

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def names_a_variable(text: str) -> bool:
    """Whether FreeSWITCH's expander would act on `text`: a `$` followed, after any number of
    backslashes, by `{` (switch_utils.h, `switch_string_var_check_const`). `$${` is caught
    too: its second `$` is followed by `{`."""
    dollar = False
    for char in text:
        if char == "$":
            dollar = True
        elif dollar and char == "{":
            return True
        elif char != "\\":
            dollar = False
    return False


def refuse_variables(text: str, what: str) -> str:
    """`text` unchanged, or UnsafeValue when FreeSWITCH would expand it."""
    if names_a_variable(text):
        raise UnsafeValue(f"{what} would be expanded by FreeSWITCH (it contains '${{'); not sent")
    return text


def check_channel_value(value: str, what: str) -> str:
    """`value` unchanged when it is safe to store in a channel variable, else UnsafeValue.

    No `$` anywhere (a stored value is expanded again wherever it is referenced, and pasted
    next to other text it could complete a `${`), no control characters (one header line),
    at most MAX_CHANNEL_VALUE characters."""
    if "$" in value:
        raise UnsafeValue(
            f"{what} contains '$', which FreeSWITCH would expand where the variable is "
            "used; channel variables never carry it"
        )
    if _CONTROL.search(value):
        raise UnsafeValue(f"{what} contains a line break or another control character")
    if len(value) > MAX_CHANNEL_VALUE:
        raise UnsafeValue(
            f"{what} is {len(value)} characters, more than the {MAX_CHANNEL_VALUE} a channel "
            "variable may carry"
        )
    return value


# Channel variables FreeSWITCH (or callflow) gives a meaning to. Several run their value:
# api_hangup_hook, api_on_answer, execute_on_*, exec_after_bridge_app, bridge_pre_execute_*,
# session_in_hangup_hook...; others change the call (hangup_after_bridge, sip_h_* headers,
# origination_*, codec strings). A flow may not export to these names (checked at load).
_RESERVED_PREFIXES = (
    "api_",
    "execute_",
    "exec_",
    "bridge_",
    "transfer_",
    "park_",
    "hangup_",
    "origination_",
    "originate_",
    "originator_",
    "sip_",
    "rtp_",
    "media_",
    "playback_",
    "record_",
    "effective_",
    "outbound_",
    "inbound_",
    "session_",
    "socket_",
    "callflow_",
    "continue_",
    "export_",
    "nolocal",
    "absolute_",
    "codec_",
    "tts_",
    "fax_",
    "dtmf_",
    "jitterbuffer",
    "zrtp_",
    "verto_",
    "conference_",
    "fifo_",
    "limit_",
    "enable_",
    "disable_",
    "bypass_",
    "proxy_",
    "read_",
    "default_",
    "local_",
    "ignore_",
    "inherit_",
    "fire_",
    "ringback",
    "hold_",
    "temp_hold_",
    "sound_",
    "caller_id_",
    "call_",
    "leg_",
    "ep_",
    "rx_",
    "tx_",
    "uuid",
    "current_application",
    "last_",
    "intercept_",
    "attended_",
    "valet_",
    "spy_",
    "eavesdrop_",
    "monitor_",
    "enable_file_write",
    "sched_",
    "detect_",
    "amd_",
    "avmd_",
)
_RESERVED_SUFFIXES = ("_hook", "_app", "_exec", "_timeout", "_uuid", "_vars")
_RESERVED_NAMES = frozenset(
    {
        "accountcode",
        "destination_number",
        "dialed_extension",
        "direction",
        "language",
        "timezone",
        "tod_tz_offset",
        "user_name",
        "domain_name",
        "context",
        "dialplan",
        "network_addr",
        "presence_id",
        "hangup_cause",
        "endpoint_disposition",
        "proto_specific_hangup_cause",
    }
)


# The ones whose value FreeSWITCH runs as an API command or an application.
_RUNS_PREFIXES = ("api_", "execute_", "exec_", "bridge_pre_execute", "session_in_hangup_hook")
_RUNS_SUFFIXES = ("_hook", "_app", "_exec", "_execute", "_api")


def runs_its_value(name: str) -> bool:
    """Whether FreeSWITCH runs channel variable `name`'s value (api_hangup_hook,
    execute_on_answer, exec_after_bridge_app...): no flow may set one."""
    lowered = name.lower()
    return lowered.startswith(_RUNS_PREFIXES) or lowered.endswith(_RUNS_SUFFIXES)


def reserved_channel_variable(name: str) -> bool:
    """Whether FreeSWITCH or callflow gives channel variable `name` a meaning (compared in
    lower case: FreeSWITCH's variable names are case-insensitive)."""
    lowered = name.lower()
    return (
        lowered in _RESERVED_NAMES
        or lowered.startswith(_RESERVED_PREFIXES)
        or lowered.endswith(_RESERVED_SUFFIXES)
    )
