"""play_and_get_digits, as switch_play_and_get_digits / switch_ivr_read do it.

The result is only in variables (Application-Response stays `_none_`), FINDINGS.md
"Application results":

- digits ok: `<var>` set, `read_result=success` (`read_terminator_used` when one ended it);
- timeout: `<var>` absent, `read_result=failure` (too few digits, not "timeout");
- no regex match: `<var>` absent, `<var>_invalid=<digits>`, and `read_result` stays `success`;
- the invalid file is played after every failed try, the last one included; `<var>_invalid`
  is only cleared when the application starts, so a later timeout leaves it in place.

A digit during the prompt stops the prompt and is the first digit collected. Digits typed
while the invalid file plays stay queued for the next try (that play has no DTMF handler).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from controller import patterns
from controller.patterns import PatternError
from controller.simulator.media import play_file
from controller.simulator.util import atoi

if TYPE_CHECKING:
    from controller.simulator.session import Session

MAX_DIGITS = 128  # digits a fallback `re` pattern is tested on; dtmf nodes ask for <= 64


def play_and_get_digits(session: Session, arg: str) -> None:
    """<min> <max> <tries> <timeout ms> <terminators> <file> <invalid_file> <var> <regex>
    <digit_timeout ms> [<transfer_on_failure>]"""
    argv = arg.split()
    if not argv:
        return  # "No arguments specified."
    argv += [""] * (10 - len(argv))  # missing arguments take mod_dptools' defaults
    minimum = max(0, atoi(argv[0]))
    maximum = max(minimum, atoi(argv[1]))
    tries = atoi(argv[2])
    timeout = max(1000, atoi(argv[3]))
    terminators = argv[4] or "#"
    prompt, invalid, var, regex = argv[5], argv[6], argv[7], argv[8]
    digit_timeout = atoi(argv[9])

    timeline = session.timeline
    step = timeline.take_playback_step() or timeline.take_input_step()
    if timeline.apply(step, session.clock.now()):
        session.hangup("NORMAL_CLEARING", by="caller", async_side=True)
        return
    variables = session.channel.variables
    if regex and var:
        variables.delete(f"{var}_invalid")
    while session.channel.up and tries > 0:
        status, digits = _read(
            session,
            minimum=minimum,
            maximum=maximum,
            prompt=prompt,
            var=var,
            timeout=timeout,
            terminators=terminators,
            digit_timeout=digit_timeout or timeout,
        )
        if status == "timeout" and len(digits) >= minimum:
            status = "success"
        if not minimum and not digits and "read_terminator_used" in variables:
            return  # min 0: a lone terminator is an answer
        if status == "success" and digits:
            if not regex or _matches(regex, digits):
                return
            variables.delete(var)
            if var:
                variables.set(f"{var}_invalid", digits)
        if not session.channel.up:
            break
        if invalid:
            play_file(session, invalid, None)
        tries -= 1


def read(session: Session, arg: str) -> None:
    """read <min> <max> <file> <var> <timeout ms> <terminators> [<digit_timeout ms>]:
    one try of play_and_get_digits without regex or invalid file."""
    argv = arg.split()
    if not argv:
        return
    argv += [""] * (7 - len(argv))
    minimum = max(1, atoi(argv[0]))
    maximum = max(minimum, atoi(argv[1]))
    timeout = max(1000, atoi(argv[4]))
    terminators = argv[5] or "#"
    digit_timeout = atoi(argv[6])
    timeline = session.timeline
    if timeline.apply(
        timeline.take_playback_step() or timeline.take_input_step(), session.clock.now()
    ):
        session.hangup("NORMAL_CLEARING", by="caller", async_side=True)
        return
    _read(
        session,
        minimum=minimum,
        maximum=maximum,
        prompt=argv[2],
        var=argv[3],
        timeout=timeout,
        terminators=terminators,
        digit_timeout=digit_timeout or timeout,
    )


def _matches(regex: str, digits: str) -> bool:
    """FreeSWITCH tests the digits with PCRE (switch_regex_match). Here RE2 runs every
    pattern it accepts: same answers, and no pattern can backtrack for seconds on a
    simulated caller's digits. The rest (backreferences, lookaround) goes to Python's
    `re`, as PCRE would take it, on at most MAX_DIGITS digits."""
    try:
        return patterns.search(regex, digits)
    except PatternError:
        pass
    try:
        return re.search(regex, digits[:MAX_DIGITS]) is not None
    except re.error:
        return False


def _read(
    session: Session,
    *,
    minimum: int,
    maximum: int,
    prompt: str,
    var: str,
    timeout: int,
    terminators: str,
    digit_timeout: int,
) -> tuple[str, str]:
    """switch_ivr_read: returns (status, digits)."""
    variables = session.channel.variables
    variables.delete("read_result")
    if var:
        variables.delete(var)
    digits: list[str] = []
    status = "success"

    def into_buffer(digit: str) -> bool:
        digits.append(digit)
        return True  # a digit ends the prompt

    if prompt and prompt.lower() != "silence":
        played = play_file(session, prompt, into_buffer)
        status = "success" if played in ("done", "break") else played
    if status == "success":  # else FreeSWITCH jumps to the end: read_result stays unset
        terminator = None
        if len(digits) < minimum or len(digits) < maximum:
            first = digit_timeout if digits else timeout
            status, terminator = _collect(
                session,
                digits,
                maximum=maximum,
                terminators=terminators,
                first_timeout=first,
                digit_timeout=digit_timeout,
            )
        if terminator:
            variables.set("read_terminator_used", terminator)
        if len(digits) < minimum:
            status = "too_small"
        result = {"success": "success", "timeout": "timeout"}.get(status, "failure")
        variables.set("read_result", result)
    text = "".join(digits)
    if maximum == 1 and len(text) == 1 and text in terminators:
        text = ""
    if var and text:
        variables.set(var, text)
    return status, text


def _collect(
    session: Session,
    digits: list[str],
    *,
    maximum: int,
    terminators: str,
    first_timeout: int,
    digit_timeout: int,
) -> tuple[str, str | None]:
    """switch_ivr_collect_digits_count: until `maximum` digits, a terminator or a timeout."""
    got: list[str] = []

    def take(digit: str) -> bool:
        got.append(digit)
        return True

    wait = first_timeout
    while True:
        got.clear()
        status, _ = session.media_wait(wait / 1000, take)
        if status != "dtmf":
            return ("timeout" if status == "done" else status), None
        if got[0] in terminators:
            return "success", got[0]
        digits.append(got[0])
        if len(digits) >= maximum:
            return "success", None
        wait = digit_timeout
