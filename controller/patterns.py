"""Regular expressions written by flow authors and operators, run by RE2.

A condition's `matches` pattern is tested against text callers and contact lists choose, and
a route's against the dialled number. Python's `re` backtracks: `^(a+)+$` against 26 `a`s
and a `!` held the event loop, and so every call, for 2.4 s (two more characters: four times
that). RE2 runs in time linear in the text, whatever the pattern. It does not accept
backreferences or lookaround (nor `\\Z`: `\\z`, or `$`); a pattern it cannot compile is
refused when the flow or the settings are loaded, never at call time.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

# Longest text a pattern is tested against (characters). RE2 is linear, but a variable may
# hold a contact list's whole blob: a condition on more than this is an error, not a guess.
MAX_TEXT = 16_384
MAX_PATTERN = 4_096  # characters; RE2's compiled programs grow with the pattern

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # errors are reported to the flow author, not on stderr


class PatternError(ValueError):
    """The pattern is not one RE2 can run; the message is one line for the author."""


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Any:
    """The compiled pattern, or PatternError saying why not."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"longer than {MAX_PATTERN} characters")
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(
            f"{reason} (RE2 syntax: no backreferences or lookaround, \\z for end of text)"
        ) from None


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` finds a match in `text`. PatternError: a bad pattern, or text
    longer than MAX_TEXT."""
    if len(text) > MAX_TEXT:
        raise PatternError(f"the text is {len(text)} characters; patterns test at most {MAX_TEXT}")
    return compile_pattern(pattern).search(text) is not None


def fullmatch(pattern: str, text: str) -> bool:
    """Whether `pattern` matches the whole of `text` (same errors as `search`)."""
    if len(text) > MAX_TEXT:
        raise PatternError(f"the text is {len(text)} characters; patterns test at most {MAX_TEXT}")
    return compile_pattern(pattern).fullmatch(text) is not None
