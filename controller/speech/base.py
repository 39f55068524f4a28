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


# -- checks and splits the languages share --------------------------------------------------


def checked_whole(value: object, max_number: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpeechError(f"{value!r} is not a whole number")
    if abs(value) > max_number:
        raise SpeechError(f"{value} is out of range (at most {max_number:,} either side of 0)")
    return value


def checked_decimal(value: object, max_number: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise SpeechError(f"{value!r} is not a number (int or Decimal)")
    number = Decimal(value)
    if not number.is_finite():
        raise SpeechError(f"{value!r} is not a number")
    if abs(number) >= max_number + 1:
        raise SpeechError(f"{value} is out of range (below {max_number + 1:,} either side of 0)")
    return number


def plain_digits(text: str) -> list[str]:
    """ "0612" -> 0 6 1 2; "+212 ..." -> plus 2 1 2 ...; only ASCII digits after a "+"."""
    if not isinstance(text, str):
        raise SpeechError(f"{text!r} is not a string of digits")
    body = text.removeprefix("+")
    if not body or any(c not in "0123456789" for c in body):
        raise SpeechError(f"{text!r} is not digits (an optional leading '+' then 0-9)")
    return ["plus", *body] if text.startswith("+") else list(body)


def split_amount(amount: object, max_number: int) -> tuple[bool, int, int]:
    """(negative, major, minor) of an amount with at most two (non-zero) decimals."""
    number = checked_decimal(amount, max_number)
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    if not any(digits):
        return False, 0, 0
    extra = -2 - exponent  # digits past the hundredths
    if extra > 0:
        if any(digits[-extra:]):
            raise SpeechError(f"{amount} has more than two decimals; round it first")
        digits, exponent = digits[:-extra], -2
    cents = int("".join(map(str, digits)) or "0") * 10 ** (exponent + 2)
    major, minor = divmod(cents, 100)
    return bool(sign), major, minor
