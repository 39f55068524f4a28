"""DTMF: collects keypad input, with a prompt, retries, and a branch per digit.

Each attempt plays the prompt (the retry prompt after an invalid entry or a timeout) and waits
for digits. A digit (single_digit) or an entry (multi_digit) with a branch takes that branch;
any other valid entry takes onSuccess. When every attempt failed, onMaxRetries is taken if
`maxRetries` > 0 and it is wired, else onTimeout or onInvalid by how the last attempt failed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from controller import patterns
from controller.esl import apps
from controller.esl.expansion import names_a_variable
from controller.flows.problems import Problem, error, pointer_of
from controller.nodes.base import AudioUse, NodeSpec, VariableRead
from controller.nodes.play import audio_paths
from controller.nodes.schema_parts import (
    audio_items,
    flow_variable,
    item_audio,
    item_reads,
    item_spoken,
    milliseconds,
)

if TYPE_CHECKING:
    from controller.call import Call

NEEDS_CALL = True  # acts on the channel: cannot run before a dial or after a failed one
OUTPUTS = ("onSuccess", "onTimeout", "onInvalid", "onMaxRetries", "onError", "default")
HAS_BRANCHES = True
DIGITS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#")

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "mode": {
            "enum": ["single_digit", "multi_digit"],
            "default": "single_digit",
            "description": "One key press, or several ended by a terminator or a pause.",
        },
        "variable": flow_variable("Flow variable that receives the digits.", "digits"),
        "timeout": milliseconds("Wait for the first digit, per attempt", 5000, 500, 120000),
        "maxRetries": {
            "type": "integer",
            "minimum": 0,
            "maximum": 10,
            "default": 0,
            "description": "Attempts after the first one when the entry times out or is invalid.",
        },
        "singleDigitConfig": {
            "type": "object",
            "additionalProperties": False,
            "default": {},
            "description": "Settings for `single_digit` mode.",
            "properties": {
                "allowedDigits": {
                    "type": "array",
                    "items": {"enum": list(DIGITS)},
                    "uniqueItems": True,
                    "minItems": 1,
                    "default": list(DIGITS),
                    "description": "Keys that count as a valid answer; others are invalid.",
                }
            },
        },
        "multiDigitConfig": {
            "type": "object",
            "additionalProperties": False,
            "default": {},
            "description": "Settings for `multi_digit` mode.",
            "properties": {
                "minDigits": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 64,
                    "default": 1,
                    "description": "Fewest digits of a valid entry.",
                },
                "maxDigits": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 64,
                    "default": 20,
                    "description": "Most digits of an entry; collection stops there.",
                },
                "terminators": {
                    "type": "string",
                    "pattern": "^[0-9*#]{0,4}$",
                    "default": "#",
                    "description": "Keys that end the entry (not part of it); '' for none.",
                },
                "interDigitTimeout": milliseconds(
                    "Pause between digits that ends the entry", 3000, 500, 30000
                ),
                "pattern": {
                    "type": ["string", "null"],
                    "default": None,
                    "description": "Regular expression a valid entry must match in full.",
                },
            },
        },
        "prompt": audio_items("Played at the start of each attempt.", required=False),
        "invalidPrompt": audio_items(
            "Played after an invalid entry, before the next attempt.", required=False
        ),
        "timeoutPrompt": audio_items(
            "Played after a timeout, before the next attempt.", required=False
        ),
    },
}

_PROMPTS = ("prompt", "invalidPrompt", "timeoutPrompt")


def check(node: NodeSpec) -> Iterator[Problem]:
    config = node.config
    multi = config["multiDigitConfig"]
    base = f"{node.pointer}/config/multiDigitConfig"
    pattern = None
    if multi["pattern"] is not None:
        try:
            if re.search(r"[\s!]", multi["pattern"]):
                # FreeSWITCH splits play_and_get_digits arguments on spaces.
                raise re.error("spaces and ! are not allowed")
            if names_a_variable(multi["pattern"]):
                # FreeSWITCH would expand it as a variable (controller.esl.expansion).
                raise re.error("'${' is not allowed")
            re.compile(multi["pattern"])  # FreeSWITCH's PCRE takes what Python's re does
            # Branch keys are tested with RE2 (no pattern can backtrack for minutes here);
            # one RE2 cannot run (a backreference) leaves them untested.
            pattern = _linear(multi["pattern"])
        except re.error as exc:
            yield error(
                "invalid-pattern",
                f"pattern is not a valid regular expression: {exc}",
                pointer=base + "/pattern",
            )
    if multi["minDigits"] > multi["maxDigits"]:
        yield error(
            "invalid-config",
            f"minDigits ({multi['minDigits']}) is greater than maxDigits ({multi['maxDigits']})",
            pointer=base + "/minDigits",
        )
    branches = node.outputs.get("branches") or {}
    allowed = config["singleDigitConfig"]["allowedDigits"]
    for key in branches:
        where = pointer_of(*node.pointer.split("/")[1:], "outputs", "branches", key)
        if config["mode"] == "single_digit":
            if key not in DIGITS:
                yield error(
                    "invalid-branch-key",
                    f"branch key {key!r} is not a key on a phone: use one of 0-9, * or #",
                    pointer=where,
                )
            elif key not in allowed:
                yield error(
                    "branch-not-allowed",
                    f"branch {key!r} can never be taken: it is not in "
                    f"singleDigitConfig.allowedDigits ({', '.join(allowed)})",
                    pointer=where,
                )
        elif not re.fullmatch(r"[0-9*#]+", key):
            yield error(
                "invalid-branch-key",
                f"branch key {key!r} must be digits, * or #",
                pointer=where,
            )
        elif not multi["minDigits"] <= len(key) <= multi["maxDigits"] or (
            pattern is not None and pattern.fullmatch(key) is None
        ):
            yield error(
                "branch-not-allowed",
                f"branch {key!r} can never be taken: it is not a valid entry "
                "(minDigits, maxDigits, pattern)",
                pointer=where,
            )


def reads(config: dict[str, Any]) -> Iterator[VariableRead]:
    for name in _PROMPTS:
        yield from item_reads(config[name], "/" + name)


def writes(config: dict[str, Any]) -> Iterator[str]:
    yield config["variable"]


def audio(config: dict[str, Any]) -> Iterator[AudioUse]:
    for name in _PROMPTS:
        yield from item_audio(config[name], "/" + name)


def spoken(config: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in _PROMPTS:
        yield from item_spoken(config[name], "/" + name)


def _linear(pattern: str) -> Any:
    try:
        return patterns.compile_pattern(pattern)
    except patterns.PatternError:
        return None


def _regex(config: dict[str, Any]) -> str:
    if config["mode"] == "single_digit":
        keys = "".join(re.escape(d) for d in config["singleDigitConfig"]["allowedDigits"])
        return f"^[{keys}]$"
    pattern = config["multiDigitConfig"]["pattern"]
    return f"^(?:{pattern})$" if pattern else "^[0-9*#]+$"


def _collect(call: Call, config: dict[str, Any], prompt: list[str]) -> apps.DigitsResult:
    single = config["mode"] == "single_digit"
    multi = config["multiDigitConfig"]
    return apps.play_and_get_digits(
        call.live_channel,
        min_digits=1 if single else multi["minDigits"],
        max_digits=1 if single else multi["maxDigits"],
        first_digit_timeout_ms=config["timeout"],
        terminators="" if single else multi["terminators"],
        prompt=prompt,
        invalid_prompt=[],
        regex=_regex(config),
        inter_digit_timeout_ms=multi["interDigitTimeout"],
        timeout=call.settings.media_timeout,
    )


def _typed_ahead(call: Call, config: dict[str, Any]) -> apps.DigitsResult | None:
    """A key pressed during the prompt just before this node answers a single-digit menu."""
    typed = call.live_channel.take_digits()
    if typed and not call.type_ahead:
        # FreeSWITCH may still hold them too: flush so they cannot answer this menu.
        apps.flush_dtmf(call.live_channel, timeout=call.settings.command_timeout)
    if not typed or config["mode"] != "single_digit" or not call.type_ahead:
        return None
    digit = typed[0]
    valid = digit in config["singleDigitConfig"]["allowedDigits"]
    return apps.DigitsResult(digits=digit if valid else None, invalid=None if valid else digit)


def run(call: Call, config: dict[str, Any]) -> str:
    prompt = audio_paths(call, config["prompt"])
    retry_prompts = {
        "onInvalid": audio_paths(call, config["invalidPrompt"]),
        "onTimeout": audio_paths(call, config["timeoutPrompt"]),
    }
    result = _typed_ahead(call, config)
    failure = "onTimeout"
    for attempt in range(1 + config["maxRetries"]):
        if result is None:
            before = retry_prompts[failure] if attempt else []
            result = _collect(call, config, before + prompt)
            call.live_channel.take_digits()  # the DTMF events of this attempt: already consumed
        call.record.digits.append(
            {
                "nodeId": call.node.id if call.node else None,
                "attempt": attempt + 1,
                "digits": result.digits,
                "invalid": result.invalid,
            }
        )
        if result.digits is not None:
            call.set_variable(config["variable"], result.digits)
            branch = f"branches.{result.digits}"
            return branch if call.wired(branch) else "onSuccess"
        failure = "onTimeout" if result.timed_out else "onInvalid"
        result = None
    if config["maxRetries"] and call.wired("onMaxRetries"):
        return "onMaxRetries"
    return failure
