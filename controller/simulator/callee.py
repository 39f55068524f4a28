"""Callees: who answers a call the simulator originates, and how.

`sim.add_callee(number, callee)` says what happens when an `originate` reaches `number`; the
number is the dial string's *destination*, as FreeSWITCH's channel sees it:

- `loopback/<number>[/<context>[/<dialplan>]]` -> `<number>`
- `sofia/gateway/<gateway>/<number>` -> `<number>`
- `sofia/<profile>/<number>[@<host>]`, `user/<number>[@<domain>]` -> `<number>`
- anything else: the last `/` segment, without `@...` and without `;params`.

A callee is looked up by exact number first, then by shell-style pattern in the order they
were added (`06*`, `*`); `add_callee(None, ...)` or `"*"` sets the default. With no callee at
all, a call is answered by a silent person (`Callee()`).

A callee's outcome and how FreeSWITCH reports it (the originate's `-ERR <CAUSE>`):

| outcome | cause | notes |
|---|---|---|
| `answer` | - | answers after `ring_seconds`; `caller` is what the person does then |
| `busy` | USER_BUSY | SIP 486 |
| `no_answer` | NO_ANSWER | rings until the originate gives up (`originate_timeout`) |
| `reject` | CALL_REJECTED | SIP 603 |
| `unallocated` | UNALLOCATED_NUMBER | SIP 404 |
| `unreachable` | NORMAL_TEMPORARY_FAILURE | SIP 503 (nothing answers at the address) |
| any cause name | that cause | e.g. `NO_ROUTE_DESTINATION`, `SUBSCRIBER_ABSENT` |

A `no_answer` callee meets `originate_timeout` (default 60 s) or, with `[leg_timeout=N]`,
ALLOTTED_TIMEOUT. `ring_seconds` before a failure is how long it rings first
(CHANNEL_PROGRESS, then the hangup). `audio` is handed untouched to the answered call's
session (`session.audio_timeline`), for the audio-detection applications.

Text form (`Callee.from_text`, for a CLI or a YAML scenario):
`[ring <T>] [<outcome>][: <caller script>]` — `"busy"`, `"ring 40s"` (rings 40 s, then
answers), `"ring 5s busy"`, `"answer: press 1 after 2s; hangup after 10s"`, `"no answer"`,
`"USER_BUSY"`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from controller.hangup_causes import HANGUP_CAUSES
from controller.simulator.caller import CallerScript, parse_duration

OUTCOME_CAUSES: dict[str, str | None] = {
    "answer": None,
    "busy": "USER_BUSY",
    "no_answer": "NO_ANSWER",
    "reject": "CALL_REJECTED",
    "unallocated": "UNALLOCATED_NUMBER",
    "unreachable": "NORMAL_TEMPORARY_FAILURE",
}
# What a SIP callee answers for each cause (sip_term_status on the failed leg).
SIP_STATUS = {
    "USER_BUSY": "486",
    "CALL_REJECTED": "603",
    "UNALLOCATED_NUMBER": "404",
    "NO_ROUTE_DESTINATION": "404",
    "NORMAL_TEMPORARY_FAILURE": "503",
    "SUBSCRIBER_ABSENT": "480",
    "NO_USER_RESPONSE": "408",
}
_ALIASES = {"noanswer": "no_answer", "no answer": "no_answer", "no-answer": "no_answer"}


def _outcome_name(text: str) -> str:
    lowered = " ".join(text.strip().lower().split())
    lowered = _ALIASES.get(lowered, lowered)
    if lowered in OUTCOME_CAUSES:
        return lowered
    cause = text.strip().upper()
    if cause in HANGUP_CAUSES:
        return cause
    known = ", ".join(OUTCOME_CAUSES)
    raise ValueError(f"unknown callee outcome {text!r}: use {known} or a hangup cause name")


@dataclass(frozen=True)
class Callee:
    """Who answers an originated call (see the module docstring)."""

    outcome: str = "answer"
    ring_seconds: float = 0.0
    caller: CallerScript | str | Any = None
    audio: Any = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", _outcome_name(self.outcome))
        object.__setattr__(self, "ring_seconds", parse_duration(self.ring_seconds))
        object.__setattr__(self, "caller", CallerScript.from_data(self.caller))

    @property
    def answers(self) -> bool:
        return self.outcome == "answer"

    @property
    def cause(self) -> str | None:
        """The hangup cause the callee gives (None: it answers, or rings until a timeout)."""
        if self.outcome in OUTCOME_CAUSES:
            return None if self.outcome == "no_answer" else OUTCOME_CAUSES[self.outcome]
        return self.outcome

    @classmethod
    def from_text(cls, text: str, *, audio: Any = None) -> Callee:
        """`[ring <T>] [<outcome>][: <caller script>]`, e.g. "ring 5s busy"."""
        head, colon, script = text.partition(":")
        words = head.split()
        ring = 0.0
        if len(words) >= 2 and words[0].lower() == "ring":
            ring = parse_duration(words[1])
            words = words[2:]
        outcome = " ".join(words) or "answer"
        if colon and _outcome_name(outcome) != "answer":
            raise ValueError(f"only an answering callee has a caller script: {text!r}")
        return cls(outcome, ring, CallerScript.parse(script) if script.strip() else None, audio)

    @classmethod
    def coerce(cls, value: Callee | str | None) -> Callee:
        if isinstance(value, Callee):
            return value
        return cls() if value is None else cls.from_text(value)

    def __str__(self) -> str:
        text = f"ring {self.ring_seconds:g}s " if self.ring_seconds else ""
        text += self.outcome.replace("_", " ") if self.outcome in OUTCOME_CAUSES else self.outcome
        script = str(self.caller)
        return f"{text}: {script}" if self.answers and script != "silent" else text


def destination_number(dial_string: str) -> str:
    """The number a dial string reaches (the rule in the module docstring)."""
    parts = dial_string.split("/")
    if parts[0] == "loopback" and len(parts) >= 2:
        number = parts[1]
    elif parts[:2] == ["sofia", "gateway"] and len(parts) >= 4:
        number = "/".join(parts[3:])
    else:
        number = parts[-1]
    return re.split(r"[@;]", number, maxsplit=1)[0]


class CalleeBook:
    """The callees of one simulator: by number, by pattern, and the default."""

    def __init__(self) -> None:
        self._exact: dict[str, Callee] = {}
        self._patterns: list[tuple[str, Callee]] = []
        self.default = Callee()

    def add(self, number: str | None, callee: Callee | str | None) -> Callee:
        found = Callee.coerce(callee)
        if number is None or number == "*":
            self.default = found
        elif any(c in number for c in "*?["):
            self._patterns = [(p, c) for p, c in self._patterns if p != number]
            self._patterns.append((number, found))
        else:
            self._exact[number] = found
        return found

    def find(self, number: str) -> Callee:
        if number in self._exact:
            return self._exact[number]
        for pattern, callee in self._patterns:
            if fnmatch.fnmatchcase(number, pattern):
                return callee
        return self.default
