"""English spoken numbers, amounts and dates (controller/speech/lang_en.py).

Every expectation is written by hand: the words as an American English speaker says them,
and the clips (tokens) that say them. A second check joins the clips' recorded text
(`CLIP_TEXT`) and compares it with the words, so the two columns cannot drift apart.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest

from controller.speech import lang_en
from controller.speech.base import SpeechError

# The key format of a dictionary manifest (controller/speech/dictionary.py).
TOKEN_KEY = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")

NUMBERS = [
    (0, "zero", "0"),
    (1, "one", "1"),
    (2, "two", "2"),
    (7, "seven", "7"),
    (10, "ten", "10"),
    (11, "eleven", "11"),
    (12, "twelve", "12"),
    (13, "thirteen", "13"),
    (14, "fourteen", "14"),
    (15, "fifteen", "15"),
    (16, "sixteen", "16"),
    (17, "seventeen", "17"),
    (18, "eighteen", "18"),
    (19, "nineteen", "19"),
    (20, "twenty", "20"),
    (21, "twenty-one", "20 1"),
    (30, "thirty", "30"),
    (45, "forty-five", "40 5"),
    (70, "seventy", "70"),
    (71, "seventy-one", "70 1"),
    (77, "seventy-seven", "70 7"),
    (80, "eighty", "80"),
    (81, "eighty-one", "80 1"),
    (89, "eighty-nine", "80 9"),
    (90, "ninety", "90"),
    (91, "ninety-one", "90 1"),
    (99, "ninety-nine", "90 9"),
    (100, "one hundred", "1 hundred"),
    (101, "one hundred one", "1 hundred 1"),
    (110, "one hundred ten", "1 hundred 10"),
    (119, "one hundred nineteen", "1 hundred 19"),
    (200, "two hundred", "2 hundred"),
    (999, "nine hundred ninety-nine", "9 hundred 90 9"),
    (1000, "one thousand", "1 thousand"),
    (1001, "one thousand one", "1 thousand 1"),
    (1100, "one thousand one hundred", "1 thousand 1 hundred"),
    (2000, "two thousand", "2 thousand"),
    (3000, "three thousand", "3 thousand"),
    (11000, "eleven thousand", "11 thousand"),
    (21000, "twenty-one thousand", "20 1 thousand"),
    (100000, "one hundred thousand", "1 hundred thousand"),
    (999999, "nine hundred ninety-nine thousand nine hundred ninety-nine",
     "9 hundred 90 9 thousand 9 hundred 90 9"),
    (1000000, "one million", "1 million"),
    (1000001, "one million one", "1 million 1"),
    (2000000, "two million", "2 million"),
    (1234567, "one million two hundred thirty-four thousand five hundred sixty-seven",
     "1 million 2 hundred 30 4 thousand 5 hundred 60 7"),
    (1000000000, "one billion", "1 billion"),
    (3000000005, "three billion five", "3 billion 5"),
    (999999999999,
     "nine hundred ninety-nine billion nine hundred ninety-nine million "
     "nine hundred ninety-nine thousand nine hundred ninety-nine",
     "9 hundred 90 9 billion 9 hundred 90 9 million 9 hundred 90 9 thousand 9 hundred 90 9"),
    (-1, "minus one", "minus 1"),
    (-12, "minus twelve", "minus 12"),
    (-1000, "minus one thousand", "minus 1 thousand"),
]  # fmt: skip

BRITISH = [
    (100, "one hundred", "1 hundred"),
    (105, "one hundred and five", "1 hundred and 5"),
    (999, "nine hundred and ninety-nine", "9 hundred and 90 9"),
    (1005, "one thousand and five", "1 thousand and 5"),
    (1105, "one thousand one hundred and five", "1 thousand 1 hundred and 5"),
    (1000001, "one million and one", "1 million and 1"),
    (1000200, "one million two hundred", "1 million 2 hundred"),
    (120005, "one hundred and twenty thousand and five", "1 hundred and 20 thousand and 5"),
    (2009, "two thousand and nine", "2 thousand and 9"),
]

DECIMALS = [
    ("-12.5", "minus twelve point five", "minus 12 point 5"),
    ("3.14", "three point one four", "3 point 1 4"),
    ("0.05", "zero point zero five", "0 point 0 5"),
    ("0.5", "zero point five", "0 point 5"),
    ("1.50", "one point five zero", "1 point 5 0"),
    ("-0.75", "minus zero point seven five", "minus 0 point 7 5"),
    ("1234.567", "one thousand two hundred thirty-four point five six seven",
     "1 thousand 2 hundred 30 4 point 5 6 7"),
    ("-0.0", "zero point zero", "0 point 0"),
    ("42", "forty-two", "40 2"),
]  # fmt: skip

AMOUNTS = [
    ("1234.50", "MAD", "one thousand two hundred thirty-four dirhams and fifty centimes",
     "1 thousand 2 hundred 30 4 dirhams and 50 centimes"),
    ("1", "MAD", "one dirham", "1 dirham"),
    ("0.01", "MAD", "one centime", "1 centime"),
    ("1", "USD", "one dollar", "1 dollar"),
    ("2", "USD", "two dollars", "2 dollars"),
    ("0", "USD", "zero dollars", "0 dollars"),
    ("0.01", "USD", "one cent", "1 cent"),
    ("0.50", "EUR", "fifty cents", "50 cents"),
    ("1.01", "EUR", "one euro and one cent", "1 euro and 1 cent"),
    ("21", "EUR", "twenty-one euros", "20 1 euros"),
    ("101", "USD", "one hundred one dollars", "1 hundred 1 dollars"),
    ("-2.5", "USD", "minus two dollars and fifty cents", "minus 2 dollars and 50 cents"),
    ("1000000", "USD", "one million dollars", "1 million dollars"),
    ("1.500", "MAD", "one dirham and fifty centimes", "1 dirham and 50 centimes"),
    ("99.99", "usd", "ninety-nine dollars and ninety-nine cents",
     "90 9 dollars and 90 9 cents"),
]  # fmt: skip

DATES = [
    ("2026-03-01", "day_month_year", "March first, twenty twenty-six", "march 1st 20 20 6"),
    ("1999-12-31", "day_month_year", "December thirty-first, nineteen ninety-nine",
     "december 30 1st 19 90 9"),
    ("2000-01-01", "day_month_year", "January first, two thousand", "january 1st 2 thousand"),
    ("2009-07-04", "day_month_year", "July fourth, two thousand nine",
     "july 4th 2 thousand 9"),
    ("2010-11-11", "day_month_year", "November eleventh, twenty ten", "november 11th 20 10"),
    ("1905-06-22", "day_month_year", "June twenty-second, nineteen oh five",
     "june 20 2nd 19 oh 5"),
    ("1900-02-03", "day_month_year", "February third, nineteen hundred",
     "february 3rd 19 hundred"),
    ("2026-03-02", "weekday_day_month", "Monday, March second", "monday march 2nd"),
    ("2026-07-14", "weekday_day_month", "Tuesday, July fourteenth", "tuesday july 14th"),
    ("2024-02-29", "weekday_day_month", "Thursday, February twenty-ninth",
     "thursday february 20 9th"),
    ("2026-08-12", "day_month", "August twelfth", "august 12th"),
    ("2026-05-23", "day_month", "May twenty-third", "may 20 3rd"),
    ("2026-09-20", "day_month", "September twentieth", "september 20th"),
    ("2026-10-30", "day_month", "October thirtieth", "october 30th"),
]  # fmt: skip


def said(tokens: list[str]) -> str:
    """What the concatenated clips say, as comparable text."""
    return normal(" ".join(lang_en.CLIP_TEXT[t] for t in tokens))


def normal(words: str) -> str:
    return " ".join(words.lower().replace("-", " ").replace(",", " ").split())


@pytest.mark.parametrize(("value", "words", "tokens"), NUMBERS, ids=[w for _, w, _ in NUMBERS])
def test_whole_numbers(value: int, words: str, tokens: str) -> None:
    assert lang_en.number_words(value) == tokens.split()
    assert said(tokens.split()) == normal(words)


@pytest.mark.parametrize(("value", "words", "tokens"), BRITISH, ids=[w for _, w, _ in BRITISH])
def test_british_and(monkeypatch: pytest.MonkeyPatch, value: int, words: str, tokens: str) -> None:
    monkeypatch.setattr(lang_en, "AND_AFTER_HUNDRED", True)
    assert lang_en.number_words(value) == tokens.split()
    assert said(tokens.split()) == normal(words)


@pytest.mark.parametrize(("value", "words", "tokens"), DECIMALS, ids=[w for _, w, _ in DECIMALS])
def test_decimals_read_the_fraction_digit_by_digit(value: str, words: str, tokens: str) -> None:
    assert lang_en.decimal_words(Decimal(value)) == tokens.split()
    assert said(tokens.split()) == normal(words)


@pytest.mark.parametrize(
    ("amount", "code", "words", "tokens"), AMOUNTS, ids=[w for _, _, w, _ in AMOUNTS]
)
def test_amounts(amount: str, code: str, words: str, tokens: str) -> None:
    assert lang_en.currency_words(Decimal(amount), code) == tokens.split()
    assert said(tokens.split()) == normal(words)


@pytest.mark.parametrize(("day", "style", "words", "tokens"), DATES, ids=[d[2] for d in DATES])
def test_dates(day: str, style: str, words: str, tokens: str) -> None:
    assert lang_en.date_words(datetime.date.fromisoformat(day), style) == tokens.split()
    assert said(tokens.split()) == normal(words)


def test_digits_one_by_one_with_a_leading_plus() -> None:
    assert lang_en.digit_words("0612345678") == list("0612345678")
    assert lang_en.digit_words("+212612345678") == ["plus", *"212612345678"]
    assert lang_en.digit_words("7") == ["7"]


@pytest.mark.parametrize(
    "text", ["", "+", "06 12", "06-12", "12+3", "++1", "1.5", "٣", "½", "06\n", 612, None]
)
def test_digits_refuse_anything_else(text: object) -> None:
    with pytest.raises(SpeechError):
        lang_en.digit_words(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", [10**12, -(10**12), 10**15, "12", 1.5, None, True, Decimal("12"), [1]]
)
def test_whole_numbers_refuse_out_of_range_and_non_integers(value: object) -> None:
    with pytest.raises(SpeechError):
        lang_en.number_words(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [Decimal("1E12"), Decimal("-1000000000000.5"), Decimal("NaN"), Decimal("Infinity"),
     Decimal("1E-16"), "1.5", 1.5, None, False],
)  # fmt: skip
def test_decimals_refuse_out_of_range_and_non_numbers(value: object) -> None:
    with pytest.raises(SpeechError):
        lang_en.decimal_words(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "code"),
    [(Decimal("1.005"), "MAD"), (Decimal("0.001"), "USD"), (Decimal("1E12"), "USD"),
     (Decimal("NaN"), "EUR"), (Decimal("1"), "XYZ"), (Decimal("1"), ""), (Decimal("1"), None),
     ("12", "MAD"), (12.5, "MAD"), (None, "MAD")],
)  # fmt: skip
def test_amounts_refuse_extra_decimals_unknown_currencies_and_non_numbers(
    amount: object, code: object
) -> None:
    with pytest.raises(SpeechError):
        lang_en.currency_words(amount, code)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "style"),
    [(datetime.date(2026, 3, 1), "long"), (datetime.date(2026, 3, 1), ""), ("2026-03-01",
     "day_month"), (None, "day_month_year")],
)  # fmt: skip
def test_dates_refuse_unknown_styles_and_non_dates(value: object, style: str) -> None:
    with pytest.raises(SpeechError):
        lang_en.date_words(value, style)  # type: ignore[arg-type]


def test_an_integral_decimal_and_an_int_are_accepted_as_amounts() -> None:
    assert lang_en.currency_words(5, "USD") == ["5", "dollars"]  # type: ignore[arg-type]
    assert lang_en.decimal_words(5) == ["5"]  # type: ignore[arg-type]


def emitted() -> set[str]:
    """Every token a wide range of values produces."""
    seen: set[str] = set()
    numbers = [*range(-1100, 2100), *range(0, 10**6, 997), *range(0, 10**12, 10**12 // 1013)]
    numbers += [10**k for k in range(13) if 10**k <= lang_en.MAX_NUMBER] + [lang_en.MAX_NUMBER]
    for n in numbers:
        seen.update(lang_en.number_words(n))
        seen.update(lang_en.decimal_words(Decimal(n) / 8))
    for code in lang_en.CURRENCIES:
        for cents in [*range(-250, 250), *range(0, 10**8, 9973)]:
            seen.update(lang_en.currency_words(Decimal(cents) / 100, code))
    day = datetime.date(1000, 1, 1)
    while day.year < 2101:
        for style in lang_en.DATE_STYLES:
            seen.update(lang_en.date_words(day, style))
        day += datetime.timedelta(days=37 if day.year < 2024 else 1)
    seen.update(lang_en.digit_words("+0123456789"))
    return seen


def test_tokens_lists_exactly_what_the_functions_emit() -> None:
    seen = emitted()
    assert seen <= lang_en.TOKENS, sorted(seen - lang_en.TOKENS)
    assert not lang_en.TOKENS - seen, sorted(lang_en.TOKENS - seen)  # no clip recorded for nothing


def test_every_token_is_a_manifest_key_with_a_clip_text() -> None:
    assert all(TOKEN_KEY.match(token) for token in lang_en.TOKENS)
    assert set(lang_en.CLIP_TEXT) == set(lang_en.SPOKEN) == lang_en.TOKENS
    assert all(text.strip() for text in lang_en.CLIP_TEXT.values())


def test_the_module_keeps_the_language_contract() -> None:
    assert lang_en.CODE == "en"
    assert lang_en.MAX_NUMBER >= 999_999_999
    assert isinstance(lang_en.TOKENS, frozenset)
    for name in ("number_words", "decimal_words", "digit_words", "currency_words", "date_words"):
        assert callable(getattr(lang_en, name))
