"""The originate string: every untrusted value is checked or encoded before it is sent."""

from __future__ import annotations

import pytest

from controller.dialer import (
    DialRequest,
    decode_state,
    encode_state,
    originate_command,
)
from controller.exceptions import NodeError

SOCKET = ("127.0.0.1", 8084)


def request(**changes: object) -> DialRequest:
    base: dict[str, object] = {
        "destination": "+212600000001",
        "dial_string": "sofia/gateway/gw1/+212600000001",
        "timeout_ms": 30000,
        "state": {"flowId": "payment-reminder", "contact": {"firstName": 'Amina, "x"}'}},
    }
    return DialRequest(**{**base, **changes})  # type: ignore[arg-type]


def test_the_socket_application_is_single_quoted_and_async_full() -> None:
    command = originate_command("u-1", request(), SOCKET)
    assert command.startswith("originate {origination_uuid=u-1,originate_timeout=30,")
    assert command.endswith("}sofia/gateway/gw1/+212600000001 '&socket(127.0.0.1:8084 async full)'")


def test_free_text_travels_base64url_encoded() -> None:
    command = originate_command("u-1", request(), SOCKET)
    variables = command[command.index("{") + 1 : command.index("}")]
    assert variables.count(",") == len(variables.split(",")) - 1  # no comma inside a value
    state = dict(v.split("=", 1) for v in variables.split(","))["callflow_state"]
    assert decode_state(state)["contact"]["firstName"] == 'Amina, "x"}'
    assert set(state) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def test_barge_in_is_off_from_the_start_so_the_call_needs_no_set_command() -> None:
    command = originate_command("u-1", request(), SOCKET)
    variables = command[command.index("{") + 1 : command.index("}")].split(",")
    assert "playback_terminators=none" in variables


@pytest.mark.parametrize(
    "changes",
    [
        {"destination": "0600},origination_caller_id_number=1,{"},
        {"destination": "0600 &park()"},
        {"destination": ""},
        {"dial_string": "sofia/gateway/gw1/0600 '&bridge(user/1000)'"},
        {"dial_string": "{absolute_codec_string=PCMU}sofia/gw/0600"},
        {"caller_id_number": "0522,x=y"},
        {"caller_id_name": "Bank of X"},
        {"variables": {"campaign": "a,b"}},
        {"variables": {"bad name": "x"}},
        {"variables": {"x": "'quoted'"}},
    ],
)
def test_values_that_could_change_the_command_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(NodeError):
        originate_command("u-1", request(**changes), SOCKET)


def test_caller_id_and_extra_variables_when_they_are_safe() -> None:
    command = originate_command(
        "u-1",
        request(
            caller_id_number="0522000000",
            caller_id_name="Bank.X",
            variables={"campaign": "spring-2026"},
        ),
        SOCKET,
    )
    assert "origination_caller_id_number=0522000000" in command
    assert "origination_caller_id_name=Bank.X" in command
    assert "campaign=spring-2026" in command


def test_state_has_a_size_limit() -> None:
    with pytest.raises(NodeError, match="more than"):
        encode_state({"contact": {"notes": "x" * 100_000}})
