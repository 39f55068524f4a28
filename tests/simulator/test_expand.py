"""The simulator's port of switch_channel_expand_variables_check (controller/simulator/expand.py).

Each row: the text an application would get, the channel's variables, what FreeSWITCH makes
of it, the API calls it would run, and the part of the C code (src/switch_channel.c unless
said otherwise) that decides it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controller.simulator import Simulator
from controller.simulator.channel_state import ChannelState
from controller.simulator.expand import (
    EXPANSION_BUDGET,
    ApiRun,
    Scope,
    assert_nothing_expanded,
    expand,
    has_variable,
)

UUID = "00000000-0000-0000-0000-00000000e001"
VARIABLES = {
    "a": "A",
    "b": "a",
    "long": "abcdef",
    "evil": "${system touch /tmp/x}",
    "nested": "<${evil}>",
    "self": "${self}",
}

# (text, expected, API calls as (api, args), why)
ROWS = [
    ("plain text", "plain text", [], "no `${` and no escape: returned as it is"),
    ("${a}", "A", [], "vtype 1: switch_channel_get_variable_dup"),
    ("x${a}y${a}z", "xAyAz", [], "text around references is copied"),
    ("${nope}", "", [], "unset: nothing is appended (nlen 0)"),
    ("${${b}}", "A", [], "the name is expanded first (recur+1), then looked up"),
    ("${caller_id_name}", "Mallory", [], "not a variable: switch_caller_get_field_by_name"),
    ("${destination_number}", "0600000001", [], "caller-profile field"),
    ("${hostname}", "callflow-sim", [], "neither: switch_core_get_variable_pdup (globals)"),
    ("$${sounds_dir}", "/snd", [], "vtype 3 looks up like vtype 1 in the channel version"),
    ("${A}", "A", [], "event headers are found whatever the case"),
    ("${long:2}", "cdef", [], "`:offset`: atoi, sub_val += offset"),
    ("${long:-2}", "ef", [], "negative offset counts from the end"),
    ("${long:1:3}", "bcd", [], "`:offset:length`: truncated at ooffset"),
    ("${long:9}", "", [], "offset past the end: empty"),
    ("${long:-9}", "abcdef", [], "abs(offset) > strlen: the whole value"),
    ("${a[0]}", "", [], "an index finds array headers only (none here); no field, no global"),
    ("${evil}", "", [("system", "touch /tmp/x")], "the VALUE is expanded again: it runs"),
    ("${nested}", "<>", [("system", "touch /tmp/x")], "recursively, through two variables"),
    ("${system touch /tmp/y}", "", [("system", "touch /tmp/y")], "a space: vtype 2, API"),
    ("${system(ls -l)}", "", [("system", "ls -l")], "`(`: API, args up to the matching `)`"),
    ("${system(a(b)c)d}", "", [("system", "a(b)c")], "parentheses nest in the args"),
    ("${system echo (a) b}", "", [("system", "echo (a")], "space form: cut at the first `)`"),
    ("${system  x }", "", [("system", "x")], "name trimmed; switch_api_execute strips args"),
    ("${ system x}", "", [("", "system x")], "leading space: an empty API name (fails)"),
    ("${${b}ny x}", "", [("any", "x")], "the API name is expanded too"),
    ("${system ${a}}", "", [("system", "A")], "and its arguments"),
    (
        "${uuid_getvar(nobody a)}",
        "-ERR No such channel!\n",
        [("uuid_getvar", "nobody a")],
        "a read-only command answers as the simulator does (still recorded)",
    ),
    ("${a{b}c}", "", [], "braces nest: the name is `a{b}c`"),
    ("${{a}}", "}", [], "a `{` right after `${` does not count (e != s)"),
    ("${a", "A", [], "unclosed: the name is the rest of the text"),
    ("${system x", "", [("system", "x")], "unclosed API call still runs"),
    ("\\${a}", "${a}", [], "`\\$`: nv=1, the `$` is literal, the backslash dropped"),
    ("\\$${a}", "${a}", [], "`\\$$`: both dollars skipped, one written"),
    ("\\${system x}", "${system x}", [], "escaped: nothing runs in THIS pass"),
    ("\\\\${a}", "\\A", [], "`\\\\` gives one backslash, the reference still expands"),
    ("it\\'s ${a}", "its A", [], "`\\'` vanishes (p++ then the loop's p++)"),
    ("a\\qb ${a}", "a\\qb A", [], "any other backslash stays"),
    ("a\\nb", "a\\nb", [], "escaped data alone: processed, `\\n` is not an escape here"),
    ("pay $5 ${a}", "pay $5 A", [], "`$` not followed by `{` stays"),
    ("$$x ${a}", "$x A", [], "`$$x` loses a `$` (global++ then nv)"),
    ("cost $", "cost $", [], "`$` at the end"),
    ("${self}", "${self}", [], "self reference: recur > 100 returns the text as it is"),
    ("${a}\0${evil}", "A", [], "a C string ends at NUL"),
]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(controller=("127.0.0.1", 9), sounds_dir="/snd")
    yield simulator
    simulator.close()


def _channel() -> ChannelState:
    channel = ChannelState(
        UUID, name="loopback/0600000001-a", created=0.0, answered=True,
        destination="0600000001", caller_id_name="Mallory",
    )  # fmt: skip
    for name, value in VARIABLES.items():
        channel.variables.set(name, value)
    return channel


@pytest.mark.parametrize(("text", "expected", "apis", "why"), ROWS, ids=[r[0] for r in ROWS])
def test_expansion_matches_the_c_code(
    sim: Simulator, text: str, expected: str, apis: list[tuple[str, str]], why: str
) -> None:
    assert expand(text, Scope(sim, _channel(), "log")) == expected, why
    assert [(run.api, run.args) for run in sim.expansions_run] == apis, why


def test_each_api_call_is_recorded_with_where_it_came_from(sim: Simulator) -> None:
    text = "INFO value is ${evil}"
    expand(text, Scope(sim, _channel(), "log"))
    assert sim.expansions_run == [ApiRun("system", "touch /tmp/x", UUID, "log", text)]


def test_every_variable_reference_is_recorded(sim: Simulator) -> None:
    expand("${a} ${nope} ${caller_id_name} $${hostname}", Scope(sim, _channel(), "playback"))
    found = [(r.name, r.source, r.application) for r in sim.references_expanded]
    assert found == [
        ("a", "channel", "playback"),
        ("nope", "unset", "playback"),
        ("caller_id_name", "profile", "playback"),
        ("hostname", "global", "playback"),
    ]


def test_assert_nothing_expanded_names_what_was_expanded(sim: Simulator) -> None:
    assert_nothing_expanded(sim)
    expand("${a}", Scope(sim, _channel(), "log"))
    assert_nothing_expanded(sim, allowed={"a"})
    with pytest.raises(AssertionError, match="variable 'a'"):
        assert_nothing_expanded(sim)
    expand("${evil}", Scope(sim, _channel(), "set"))
    with pytest.raises(AssertionError, match="API 'system' 'touch /tmp/x'"):
        assert_nothing_expanded(sim, allowed={"a", "evil"})


def test_api_expansion_off_answers_permission_denied(sim: Simulator) -> None:
    """switch.conf.xml api-expansion=false (SCF_API_EXPANSION): nothing is called."""
    sim.expansion.api_expansion = False
    assert expand("${system id}", Scope(sim, _channel(), "log")) == (
        "<API Execute Permission Denied>"
    )
    assert sim.expansions_run == []


def test_exponential_expansion_is_abandoned_not_run_forever(sim: Simulator) -> None:
    """FreeSWITCH has no bound here (2**100 references); the simulator stops and says so."""
    channel = _channel()
    channel.variables.set("twice", "${twice}${twice}")
    assert expand("[${twice}]", Scope(sim, channel, "log")) == "[${twice}]"
    assert sim.expansion.overflows == 1
    assert len(sim.references_expanded) <= EXPANSION_BUDGET
    with pytest.raises(AssertionError, match="abandoned"):
        assert_nothing_expanded(sim, allowed={"twice"})


@pytest.mark.parametrize(
    ("text", "refused"),
    [("${x}", True), ("$\\{x}", True), ("$$x{", False), ("$ {x}", False), ("{x}", False),
     ("100$", False), ("a$\\\\{b", True)],
)  # fmt: skip
def test_has_variable_is_switch_string_var_check_const(text: str, refused: bool) -> None:
    assert has_variable(text) is refused
