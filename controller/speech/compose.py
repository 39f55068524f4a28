"""From a play item and its value to tokens, and from tokens to files.

Values arrive as written in the flow or read from data (contact fields are often text):
numbers as int, float or text like "1234.50" or "-12"; dates as `datetime.date` or ISO text
("2026-03-01"). Anything else cannot be spoken: `SpeechError`, which the play node turns into
`onError` (and the message goes into the call's record).
"""

from __future__ import annotations

import datetime
import importlib
import re
from decimal import Decimal, InvalidOperation
from types import ModuleType
from typing import Any

from controller.speech.base import SpeechError
from controller.speech.dictionary import Dictionary

_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_SEPARATORS = re.compile(r"[\s().\-/]")


def language_module(code: str) -> ModuleType:
    """The rules for language `code` (controller/speech/lang_<code>.py)."""
    if not _LANGUAGE.fullmatch(code):
        raise SpeechError(f"no spoken-number rules for language {code!r}")
    try:
        return importlib.import_module(f"controller.speech.lang_{code}")
    except ModuleNotFoundError:
        raise SpeechError(f"no spoken-number rules for language {code!r}") from None


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise SpeechError(f"{value!r} is not a number")
    text = str(value).strip().replace(" ", "").replace("_", "")
    if isinstance(value, float):
        text = repr(value)
    if not _NUMBER.fullmatch(text):
        raise SpeechError(f"{value!r} is not a number")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise SpeechError(f"{value!r} is not a number") from None


def _date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise SpeechError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def tokens_for(item: dict[str, Any], value: Any, language: str) -> list[str]:
    """The tokens that speak `value` as the play item `item` (number, date or word) says."""
    kind = item["type"]
    if kind == "word":
        key = "" if value is None else str(value).strip()
        if not key:
            raise SpeechError("a word item needs a dictionary key; the value is empty")
        return [key]
    if kind == "date":
        day = _date(value)
        return list(language_module(language).date_words(day, item["format"]))
    mode = item["mode"]
    if mode == "digits":
        # Phone and account numbers arrive as people write them: "06 12-34.56", "(0)6...".
        text = _SEPARATORS.sub("", "" if value is None else str(value))
        return list(language_module(language).digit_words(text))
    amount = _decimal(value)  # the value's problem first: it is what the record must show
    rules = language_module(language)
    if mode == "currency":
        return list(rules.currency_words(amount, item["currency"]))
    if amount == amount.to_integral_value():
        return list(rules.number_words(int(amount)))
    return list(rules.decimal_words(amount))


def files_for(tokens: list[str], dictionary: Dictionary) -> list[str]:
    """The clip files of `tokens`, all checked to exist (FreeSWITCH would skip a missing
    member of a file_string silently, and the caller would hear a number with a hole)."""
    files = []
    for token in tokens:
        path = dictionary.file(token)
        if path is None:
            raise SpeechError(f"no clip for {token!r} in the {dictionary.language!r} dictionary")
        files.append(path)
    return files
