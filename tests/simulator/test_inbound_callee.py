"""Callees (who answers an originate) and how FreeSWITCH reads an originate command."""

from __future__ import annotations

import pytest

from controller.simulator import CallerScript
from controller.simulator.callee import Callee, CalleeBook, destination_number
from controller.simulator.dialstring import USAGE, parse_originate, separate, socket_target


@pytest.mark.parametrize(
    ("text", "outcome", "ring", "script"),
    [
        ("busy", "busy", 0.0, "silent"),
        ("answer: press 1", "answer", 0.0, "press 1"),
        ("ring 40s", "answer", 40.0, "silent"),
        ("ring 5s busy", "busy", 5.0, "silent"),
        ("no answer", "no_answer", 0.0, "silent"),
        ("noanswer", "no_answer", 0.0, "silent"),
        ("USER_BUSY", "USER_BUSY", 0.0, "silent"),
        ("ring 500ms answer: press 12# after 1s; hangup after 10s", "answer", 0.5,
         "press 12# after 1s; hangup after 10s"),
    ],
)  # fmt: skip
def test_callee_text(text: str, outcome: str, ring: float, script: str) -> None:
    callee = Callee.from_text(text)
    assert (callee.outcome, callee.ring_seconds, str(callee.caller)) == (outcome, ring, script)


@pytest.mark.parametrize(
    ("outcome", "cause"),
    [
        ("answer", None),
        ("no_answer", None),  # the originate's timeout decides (NO_ANSWER / ALLOTTED_TIMEOUT)
        ("busy", "USER_BUSY"),
        ("reject", "CALL_REJECTED"),
        ("unallocated", "UNALLOCATED_NUMBER"),
        ("unreachable", "NORMAL_TEMPORARY_FAILURE"),
        ("no_route_destination", "NO_ROUTE_DESTINATION"),
    ],
)
def test_outcomes_and_their_causes(outcome: str, cause: str | None) -> None:
    assert Callee(outcome).cause == cause


def test_bad_callees_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown callee outcome"):
        Callee("maybe")
    with pytest.raises(ValueError, match="only an answering callee"):
        Callee.from_text("busy: press 1")
    with pytest.raises(ValueError):
        Callee.from_text("ring soon")


def test_a_callee_keeps_its_caller_script_and_audio() -> None:
    audio = object()
    callee = Callee("answer", caller=CallerScript.parse("press 1"), audio=audio)
    assert callee.audio is audio and str(callee.caller) == "press 1"
    assert str(Callee.from_text("ring 2s answer: press 1")) == "ring 2s answer: press 1"
    assert Callee.coerce(None) == Callee() and Callee.coerce("busy") == Callee("busy")


@pytest.mark.parametrize(
    ("dial", "number"),
    [
        ("loopback/0600000001/ctx", "0600000001"),
        ("loopback/0600000001", "0600000001"),
        ("sofia/gateway/gw1/0600000001", "0600000001"),
        ("sofia/internal/callee-busy@127.0.0.1:5060", "callee-busy"),
        ("sofia/external/+33600000001@carrier.example;transport=tcp", "+33600000001"),
        ("user/1000@default", "1000"),
    ],
)
def test_the_number_a_dial_string_reaches(dial: str, number: str) -> None:
    assert destination_number(dial) == number


def test_callee_book_exact_then_patterns_then_default() -> None:
    book = CalleeBook()
    assert book.find("0600000001") == Callee()  # nobody configured: a silent person answers
    book.add("06*", "busy")
    book.add("0600000001", "reject")
    book.add(None, "no answer")
    assert book.find("0600000001").outcome == "reject"
    assert book.find("0612345678").outcome == "busy"
    assert book.find("0700000000").outcome == "no_answer"
    book.add("*", "answer")
    assert book.find("0700000000").outcome == "answer"


def test_originate_arguments_are_split_as_freeswitch_does() -> None:
    request = parse_originate(
        "{origination_uuid=u1,originate_timeout=3}[leg_timeout=5]loopback/x/ctx "
        "'&socket(127.0.0.1:8084 async full)' XML ctx Name 0600 30"
    )
    assert not isinstance(request, str)
    assert request.variables == [("origination_uuid", "u1"), ("originate_timeout", "3")]
    assert request.leg_variables == [("leg_timeout", "5")]
    assert (request.endpoint, request.tech) == ("loopback/x/ctx", "loopback")
    assert (request.app, request.app_arg) == ("socket", "127.0.0.1:8084 async full")
    assert (request.cid_name, request.cid_num, request.timeout) == ("Name", "0600", 30)
    assert request.variable("leg_timeout") == "5"


def test_the_socket_trap() -> None:
    unquoted = parse_originate("loopback/x &socket(127.0.0.1:8084 async full)")
    double = parse_originate('loopback/x &socket("127.0.0.1:8084 async full")')
    inside = parse_originate("loopback/x &socket('127.0.0.1:8084 async full')")
    assert not isinstance(unquoted, str)
    assert not isinstance(double, str)
    assert not isinstance(inside, str)
    assert (unquoted.app_arg, unquoted.dialplan, unquoted.context) == (
        "127.0.0.1:8084",
        "async",
        "full)",
    )
    assert double.app_arg == '"127.0.0.1:8084'
    assert inside.app_arg == "127.0.0.1:8084 async full"
    assert socket_target(unquoted.app_arg) == ("127.0.0.1", 8084, "")
    assert socket_target(inside.app_arg) == ("127.0.0.1", 8084, "async full")
    assert socket_target("10.0.0.1") == ("10.0.0.1", 8084, "")


def test_variable_lists() -> None:
    def variables(text: str) -> list[tuple[str, str]]:
        request = parse_originate(text + "loopback/x &park()")
        assert not isinstance(request, str)
        return request.variables

    assert variables("{a=1,b='x, y'}") == [("a", "1"), ("b", "x")]  # quotes go first
    assert variables("{a=x\\,y}") == [("a", "x,y")]
    assert variables("{^^:a=1,2:b=c=d}") == [("a", "1,2"), ("b", "c=d")]
    assert variables("{novalue,a=1}") == [("a", "1")]
    assert variables("'{a=two words}'") == [("a", "two words")]


def test_usage_for_what_cannot_run() -> None:
    for text in (None, "", "  ", "onlyone", "a b c d e f g h"):
        assert parse_originate(text) == USAGE
    assert USAGE == (
        "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] "
        "[<cid_name>] [<cid_num>] [<timeout_sec>]\n"
    )


def test_separate_string() -> None:
    assert separate("a 'b c' d\\s e") == ["a", "b c", "d ", "e"]
    assert separate("x=1,y=a\\,b,z='p,q'", ",") == ["x=1", "y=a,b", "z=p,q"]
    assert separate("k=v=w", "=", 2) == ["k", "v=w"]
    assert separate("^^:a:b c") == ["a", "b c"]
    assert separate("a,,b", ",") == ["a", "", "b"]
    assert separate("  a   b  ") == ["a", "b"]
