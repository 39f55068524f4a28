"""What FreeSWITCH's expander acts on, and what callflow refuses to send or store."""

from __future__ import annotations

import pytest

from controller.esl.expansion import (
    MAX_CHANNEL_VALUE,
    check_channel_value,
    names_a_variable,
    refuse_variables,
    reserved_channel_variable,
)
from controller.esl.protocol import encode_api, encode_sendmsg_execute, frame_sendmsg_execute
from controller.exceptions import UnsafeValue

# switch_utils.h, switch_string_var_check_const: `$`, any number of backslashes, then `{`.
NAMES_A_VARIABLE = [
    ("${system touch /tmp/x}", True),
    ("$${hostname}", True),  # a global: its second `$` is followed by `{`
    ("\\${x}", True),  # the backslash before `$` does not stop set's second expansion
    ("$\\{x}", True),  # backslashes between `$` and `{` are skipped by the check
    ("$\\\\{x}", True),
    ("a ${b} c", True),
    ("${api(args)}", True),
    ("$5.00", False),
    ("$ {x}", False),
    ("{x}$", False),
    ("^[0-9]{4}$", False),  # a digit pattern's own `{n}` and `$`
    ("$x{y}", False),
    ("", False),
    ("plain text", False),
]


@pytest.mark.parametrize(("text", "expected"), NAMES_A_VARIABLE)
def test_names_a_variable_as_freeswitch_checks_it(text: str, expected: bool) -> None:
    assert names_a_variable(text) is expected


def test_refuse_variables_names_what_was_refused() -> None:
    assert refuse_variables("x=1", "arg") == "x=1"
    with pytest.raises(UnsafeValue, match=r"^the greeting would be expanded by FreeSWITCH"):
        refuse_variables("hi ${x}", "the greeting")


@pytest.mark.parametrize("arg", ["x=${system id}", "/a/${b}.wav", "x=\\${y}"])
def test_an_application_argument_naming_a_variable_is_never_framed(arg: str) -> None:
    with pytest.raises(UnsafeValue, match="the argument of set would be expanded"):
        encode_sendmsg_execute("set", arg, event_uuid="u")
    # The raw framer (a test peer's, the simulator's side) frames what it is given.
    assert b"${" in frame_sendmsg_execute("set", arg, event_uuid="u")


@pytest.mark.parametrize("command", ["uuid_kill ${x}", "originate {a=${b}}user/1 &park"])
def test_an_api_command_naming_a_variable_is_never_framed(command: str) -> None:
    with pytest.raises(UnsafeValue, match="api command"):
        encode_api(command)
    with pytest.raises(UnsafeValue):
        encode_api(command, background=True)


def test_api_commands_frame_as_before() -> None:
    assert encode_api("status") == b"api status\n\n"
    assert encode_api("status", {"Job-UUID": "j"}, background=True) == (
        b"bgapi status\nJob-UUID: j\n\n"
    )


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("$5", "contains '\\$'"),
        ("${system id}", "contains '\\$'"),
        ("two\nlines", "control character"),
        ("a\rb", "control character"),
        ("nul\x00", "control character"),
        ("bell\x07", "control character"),
        ("x" * (MAX_CHANNEL_VALUE + 1), "more than the 1024"),
    ],
)
def test_channel_values_that_are_refused(value: str, why: str) -> None:
    with pytest.raises(UnsafeValue, match=f"^the note .*{why}"):
        check_channel_value(value, "the note")


@pytest.mark.parametrize("value", ["Amina", "O'Brien, Jr.", "{braces} %41 \\n", "tab\there", ""])
def test_channel_values_that_are_kept(value: str) -> None:
    assert check_channel_value(value, "the note") == value


@pytest.mark.parametrize(
    "name",
    [
        "api_hangup_hook",
        "API_ON_ANSWER",  # FreeSWITCH's variable names are case-insensitive
        "execute_on_answer",
        "exec_after_bridge_app",
        "session_in_hangup_hook",
        "bridge_pre_execute_bleg_app",
        "hangup_after_bridge",
        "sip_h_X_Custom",
        "origination_caller_id_name",
        "callflow_state",
        "playback_terminators",
        "effective_caller_id_name",
        "call_timeout",
        "transfer_ringback",
        "export_vars",
    ],
)
def test_names_freeswitch_gives_a_meaning_are_reserved(name: str) -> None:
    assert reserved_channel_variable(name)


@pytest.mark.parametrize("name", ["customerName", "callbackRequested", "followUp", "score"])
def test_flow_names_are_not_reserved(name: str) -> None:
    assert not reserved_channel_variable(name)
