"""English: numbers, amounts and dates as dictionary tokens (see `base.Language`).

Tokens are clip keys; `CLIP_TEXT` says what each clip must say (the recording script, and
`SPOKEN`, the text the demo synthesizer reads). Keys are ASCII (`dictionary._TOKEN`).

Numbers (0 .. 999,999,999,999)
    Clips "0".."19", "20","30",..,"90", "hundred", "thousand", "million", "billion".
    Compounds 21..99 are tens + unit ("twenty-one" = "20" "1"): English says them as two
    stressed words, so the join sounds natural and 28 clips cover 0..99. Scale words are
    never pluralised ("two million", not "two millions").
    "and": `AND_AFTER_HUNDRED` picks the usage. False (the default) is American usage as
    taught in US school arithmetic, where "and" is kept for the decimal point: 105 "one
    hundred five", 2026 "two thousand twenty-six" (many Americans do say "and"; both are
    understood). True is British usage (as in British style guides and ELT grammars):
    "and" after "hundred" when something follows, and before a last group under 100 that
    follows a thousand/million/billion: 105 "one hundred and five", 1005 "one thousand and
    five", 1,000,001 "one million and one", but 1,000,200 "one million two hundred".
    "one" rather than "a" is always said ("one hundred", not "a hundred").
    Negative numbers start with "minus".

Decimals
    Whole part as a number, "point", then each digit of the fractional part ("three point
    one four", not "point fourteen": the usual English reading). The digits are the ones the
    Decimal carries, so 1.50 is "one point five zero"; 0.05 is "zero point zero five".
    At most `MAX_FRACTION_DIGITS` fractional digits.

Digits ("0612", "+212612"): one clip per digit; a leading "+" is "plus". "0" is "zero"
    (not "oh", which phone readings sometimes use). Anything else is refused.

Amounts: MAD dirham(s)/centime(s) (the Moroccan dirham's hundredth is the centime), EUR
    euro(s)/cent(s) (plural "euros": the EU Interinstitutional Style Guide keeps the
    invariable "euro" for legislation only), USD dollar(s)/cent(s). Singular only for
    exactly one ("one dollar", "one cent"; "zero dollars", "two dollars", "one hundred one
    dollars"). Major and minor joined by "and": "two dollars and fifty cents". The minor
    part is left out when 0 ("two dollars"), the major part when 0 and the minor part is
    not ("fifty cents"); nothing at all is "zero dollars". A negative amount starts with
    "minus". More than two decimals: refused (SpeechError) unless the extra digits are
    zeros (1.500 is fine): rounding money silently would speak a balance the caller does
    not have; round the value before playing it.

Dates (American usage, like `AND_AFTER_HUNDRED` = False: month first, the day said as an
    ordinal even where it is written as a cardinal, "March 1, 2026" read "March first,
    twenty twenty-six"; the Chicago Manual of Style writes dates month-day-year):
    day_month_year    "March first, twenty twenty-six"    march 1st 20 20 6
    weekday_day_month "Monday, March second"              monday march 2nd
    day_month         "March first"                       march 1st
    Days are ordinals: clips "1st".."20th" and "30th"; 21st..29th and 31st are "20"/"30" +
    "1st".."9th" ("twenty-first" joins like "twenty-one"). Years in common usage are read
    in pairs: 2026 "twenty twenty-six", 1999 "nineteen ninety-nine", 1905 "nineteen oh
    five" (clip "oh"), 1900 "nineteen hundred"; a year whose last three digits are under 10
    is read as a number: 2000 "two thousand", 2009 "two thousand nine" (British: "two
    thousand and nine"); years before 1000 as a number.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from controller.speech.base import (
    SpeechError,
    checked_decimal,
    checked_whole,
    plain_digits,
    split_amount,
)

CODE = "en"
MAX_NUMBER = 999_999_999_999
MAX_FRACTION_DIGITS = 15
AND_AFTER_HUNDRED = False  # American "one hundred five"; True: British "one hundred and five"
DATE_STYLES = ("day_month_year", "weekday_day_month", "day_month")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_UNITS = _words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TENS = _words("twenty thirty forty fifty sixty seventy eighty ninety")  # 20, 30, .. 90
_ORDINALS = _words(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
)
_SUFFIX = {1: "st", 2: "nd", 3: "rd"}  # 11th, 12th, 13th
_ORDINAL_TOKENS = {n: f"{n}{_SUFFIX.get(n, 'th')}" for n in (*range(1, 21), 30)}
_MONTHS = _words(
    "january february march april may june july august september october november december"
)
_WEEKDAYS = _words("monday tuesday wednesday thursday friday saturday sunday")  # date.weekday()
_SCALES = ((10**9, "billion"), (10**6, "million"), (10**3, "thousand"))

# ISO code -> (major singular, major plural, minor singular, minor plural); minor = 1/100.
CURRENCIES = {
    "MAD": ("dirham", "dirhams", "centime", "centimes"),
    "EUR": ("euro", "euros", "cent", "cents"),
    "USD": ("dollar", "dollars", "cent", "cents"),
}

CLIP_TEXT: dict[str, str] = {str(n): word for n, word in enumerate(_UNITS)}
CLIP_TEXT |= {f"{n}0": word for n, word in enumerate(_TENS, start=2)}
CLIP_TEXT |= {_ORDINAL_TOKENS[n]: word for n, word in enumerate(_ORDINALS, start=1)}
CLIP_TEXT |= {"30th": "thirtieth", "oh": "oh"}
CLIP_TEXT |= {w: w for w in ("hundred", "thousand", "million", "billion")}
CLIP_TEXT |= {w: w for w in ("and", "minus", "point", "plus")}
CLIP_TEXT |= {m: m.capitalize() for m in (*_MONTHS, *_WEEKDAYS)}
CLIP_TEXT |= {w: w for names in CURRENCIES.values() for w in names}

TOKENS: frozenset[str] = frozenset(CLIP_TEXT)
SPOKEN: dict[str, str] = CLIP_TEXT  # what the demo synthesizer (controller/speech/demo.py) reads


def _under_100(n: int) -> list[str]:
    if n < 20:
        return [str(n)]
    tens, unit = divmod(n, 10)
    return [f"{tens}0", str(unit)] if unit else [f"{tens}0"]


def _under_1000(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = [str(hundreds), "hundred"] if hundreds else []
    if hundreds and rest and AND_AFTER_HUNDRED:
        words.append("and")
    return words + _under_100(rest) if rest else words


def _cardinal(n: int) -> list[str]:
    """0 <= n <= MAX_NUMBER."""
    if n == 0:
        return ["0"]
    words: list[str] = []
    for scale, name in _SCALES:
        count, n = divmod(n, scale)
        if count:
            words += [*_under_1000(count), name]
    if n:
        if words and n < 100 and AND_AFTER_HUNDRED:
            words.append("and")
        words += _under_1000(n)
    return words


def number_words(value: int) -> list[str]:
    """1234 -> 1 thousand 2 hundred 30 4; -5 -> minus 5."""
    value = checked_whole(value, MAX_NUMBER)
    return ["minus", *_cardinal(-value)] if value < 0 else _cardinal(value)


def decimal_words(value: Decimal) -> list[str]:
    """-12.5 -> minus 12 point 5; 0.05 -> 0 point 0 5; an integral value has no "point"."""
    number = checked_decimal(value, MAX_NUMBER)
    if number.as_tuple().exponent < -MAX_FRACTION_DIGITS:
        raise SpeechError(f"{value} has more than {MAX_FRACTION_DIGITS} decimals")
    whole, _, fraction = format(abs(number), "f").partition(".")
    words = ["minus"] if number < 0 else []  # -0.0 is "zero point zero"
    words += _cardinal(int(whole))
    return [*words, "point", *fraction] if fraction else words


def digit_words(text: str) -> list[str]:
    """ "0612" -> 0 6 1 2; "+212 ..." -> plus 2 1 2 ..."""
    return plain_digits(text)


def currency_words(amount: Decimal, currency: str) -> list[str]:
    """2.50 USD -> 2 dollars and 50 cents; 0.01 -> 1 cent; -1 -> minus 1 dollar."""
    names = CURRENCIES.get(currency.upper()) if isinstance(currency, str) else None
    if names is None:
        raise SpeechError(f"no English names for currency {currency!r}")
    one, many, minor_one, minor_many = names
    negative, major, minor = split_amount(amount, MAX_NUMBER)
    words = ["minus"] if negative else []
    if major or not minor:
        words += [*_cardinal(major), one if major == 1 else many]
    if minor:
        if major:
            words.append("and")
        words += [*_cardinal(minor), minor_one if minor == 1 else minor_many]
    return words


def _ordinal(day: int) -> list[str]:
    if day in _ORDINAL_TOKENS:
        return [_ORDINAL_TOKENS[day]]
    tens, unit = divmod(day, 10)
    return [f"{tens}0", _ORDINAL_TOKENS[unit]]


def _year(year: int) -> list[str]:
    if year < 1000 or year % 1000 < 10:
        return _cardinal(year)  # 2000 "two thousand", 2009 "two thousand nine"
    century, rest = divmod(year, 100)
    if rest == 0:
        return [*_under_100(century), "hundred"]  # 1900 "nineteen hundred"
    if rest < 10:
        return [*_under_100(century), "oh", str(rest)]  # 1905 "nineteen oh five"
    return _under_100(century) + _under_100(rest)  # 2026 "twenty twenty-six"


def date_words(value: datetime.date, style: str) -> list[str]:
    """day_month_year: march 1st 20 20 6; weekday_day_month: monday march 2nd;
    day_month: march 1st."""
    if not isinstance(value, datetime.date):
        raise SpeechError(f"{value!r} is not a date")
    month, day = _MONTHS[value.month - 1], _ordinal(value.day)
    if style == "day_month_year":
        return [month, *day, *_year(value.year)]
    if style == "weekday_day_month":
        return [_WEEKDAYS[value.weekday()], month, *day]
    if style == "day_month":
        return [month, *day]
    raise SpeechError(f"unknown date style {style!r} (one of {', '.join(DATE_STYLES)})")
