"""The contract of a language module: values in, dictionary tokens out.

A token is the key of one recorded clip in the language's dictionary (`audio/<lang>/
manifest.yaml` maps tokens to files): "20", "100", "thousand", "and", "minus", "point",
"march", "monday", "dirham", "dirhams", "centime", ... A language module never touches
files; it only says which clips, in which order, speak a value. Each module documents the
grammar it follows (with sources) and lists every token it can emit in `TOKENS`, so a
dictionary can be checked for completeness before any call.

Every function raises `SpeechError` for a value it cannot speak (out of range, not a number,
unknown currency); the play node turns that into `onError`.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Protocol


class SpeechError(ValueError):
    """A value this language cannot speak; the message says why."""


class Language(Protocol):
    CODE: str  # "en", "fr", "ar"
    TOKENS: frozenset[str]  # every token the functions below can return
    MAX_NUMBER: int  # the largest absolute whole number `number_words` supports

    def number_words(self, value: int) -> list[str]:
        """A whole number as words: 1234 -> one thousand two hundred thirty-four."""
        ...

    def decimal_words(self, value: Decimal) -> list[str]:
        """A number with a fractional part (negative allowed): "minus", "point", digits..."""
        ...

    def digit_words(self, text: str) -> list[str]:
        """Digit by digit, for account or phone numbers ("0612" -> 0 6 1 2); keeps '+'."""
        ...

    def currency_words(self, amount: Decimal, currency: str) -> list[str]:
        """An amount in major and minor units, e.g. 1234.50 MAD -> ... dirhams and 50 centimes."""
        ...

    def date_words(self, value: datetime.date, style: str) -> list[str]:
        """style: "day_month_year", "weekday_day_month" or "day_month"."""
        ...
