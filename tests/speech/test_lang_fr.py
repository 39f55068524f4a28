"""French spoken numbers, amounts and dates (controller/speech/lang_fr.py).

Every expectation is written by hand: the words as a French speaker says (and the
Académie writes) them, and the clips (tokens) that say them. A second check joins the
clips' recorded text (`CLIP_TEXT`) and compares it with the words, so the two columns
cannot drift apart. 80 is one clip ("quatre-vingts") that also starts 81-89, whose written
form drops the s ("quatre-vingt-un"): the comparison ignores that silent s.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest

from controller.speech import lang_fr
from controller.speech.base import SpeechError

# The key format of a dictionary manifest (controller/speech/dictionary.py).
TOKEN_KEY = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")

NUMBERS = [
    (0, "zéro", "0"),
    (1, "un", "1"),
    (2, "deux", "2"),
    (7, "sept", "7"),
    (10, "dix", "10"),
    (11, "onze", "11"),
    (12, "douze", "12"),
    (13, "treize", "13"),
    (14, "quatorze", "14"),
    (15, "quinze", "15"),
    (16, "seize", "16"),
    (17, "dix-sept", "17"),
    (18, "dix-huit", "18"),
    (19, "dix-neuf", "19"),
    (20, "vingt", "20"),
    (21, "vingt et un", "21"),
    (22, "vingt-deux", "22"),
    (29, "vingt-neuf", "29"),
    (30, "trente", "30"),
    (31, "trente et un", "30 et 1"),
    (32, "trente-deux", "30 2"),
    (41, "quarante et un", "40 et 1"),
    (51, "cinquante et un", "50 et 1"),
    (58, "cinquante-huit", "50 8"),
    (60, "soixante", "60"),
    (61, "soixante et un", "60 et 1"),
    (69, "soixante-neuf", "60 9"),
    (70, "soixante-dix", "70"),
    (71, "soixante et onze", "71"),
    (72, "soixante-douze", "72"),
    (73, "soixante-treize", "73"),
    (74, "soixante-quatorze", "74"),
    (75, "soixante-quinze", "75"),
    (76, "soixante-seize", "76"),
    (77, "soixante-dix-sept", "77"),
    (78, "soixante-dix-huit", "78"),
    (79, "soixante-dix-neuf", "79"),
    (80, "quatre-vingts", "80"),
    (81, "quatre-vingt-un", "80 1"),
    (82, "quatre-vingt-deux", "80 2"),
    (83, "quatre-vingt-trois", "80 3"),
    (84, "quatre-vingt-quatre", "80 4"),
    (85, "quatre-vingt-cinq", "80 5"),
    (86, "quatre-vingt-six", "80 6"),
    (87, "quatre-vingt-sept", "80 7"),
    (88, "quatre-vingt-huit", "80 8"),
    (89, "quatre-vingt-neuf", "80 9"),
    (90, "quatre-vingt-dix", "90"),
    (91, "quatre-vingt-onze", "91"),
    (92, "quatre-vingt-douze", "92"),
    (93, "quatre-vingt-treize", "93"),
    (94, "quatre-vingt-quatorze", "94"),
    (95, "quatre-vingt-quinze", "95"),
    (96, "quatre-vingt-seize", "96"),
    (97, "quatre-vingt-dix-sept", "97"),
    (98, "quatre-vingt-dix-huit", "98"),
    (99, "quatre-vingt-dix-neuf", "99"),
    (100, "cent", "cent"),
    (101, "cent un", "cent 1"),
    (111, "cent onze", "cent 11"),
    (180, "cent quatre-vingts", "cent 80"),
    (200, "deux cents", "2 cents"),
    (201, "deux cent un", "2 cent 1"),
    (280, "deux cent quatre-vingts", "2 cent 80"),
    (999, "neuf cent quatre-vingt-dix-neuf", "9 cent 99"),
    (1000, "mille", "mille"),
    (1001, "mille un", "mille 1"),
    (1100, "mille cent", "mille cent"),
    (1200, "mille deux cents", "mille 2 cents"),
    (2000, "deux mille", "2 mille"),
    (3000, "trois mille", "3 mille"),
    (11000, "onze mille", "11 mille"),
    (21000, "vingt et un mille", "21 mille"),
    (80000, "quatre-vingt mille", "80 mille"),
    (81000, "quatre-vingt-un mille", "80 1 mille"),
    (100000, "cent mille", "cent mille"),
    (200000, "deux cent mille", "2 cent mille"),
    (201000, "deux cent un mille", "2 cent 1 mille"),
    (999999, "neuf cent quatre-vingt-dix-neuf mille neuf cent quatre-vingt-dix-neuf",
     "9 cent 99 mille 9 cent 99"),
    (1000000, "un million", "1 million"),
    (1001000, "un million mille", "1 million mille"),
    (2000000, "deux millions", "2 millions"),
    (1234567, "un million deux cent trente-quatre mille cinq cent soixante-sept",
     "1 million 2 cent 30 4 mille 5 cent 60 7"),
    (21000000, "vingt et un millions", "21 millions"),
    (80000000, "quatre-vingts millions", "80 millions"),
    (200000000, "deux cents millions", "2 cents millions"),
    (1000000000, "un milliard", "1 milliard"),
    (2000000000, "deux milliards", "2 milliards"),
    (999999999999,
     "neuf cent quatre-vingt-dix-neuf milliards neuf cent quatre-vingt-dix-neuf millions "
     "neuf cent quatre-vingt-dix-neuf mille neuf cent quatre-vingt-dix-neuf",
     "9 cent 99 milliards 9 cent 99 millions 9 cent 99 mille 9 cent 99"),
    (-1, "moins un", "moins 1"),
    (-71, "moins soixante et onze", "moins 71"),
    (-2000, "moins deux mille", "moins 2 mille"),
]  # fmt: skip

DECIMALS = [
    ("-12.5", "moins douze virgule cinq", "moins 12 virgule 5"),
    ("3.14", "trois virgule quatorze", "3 virgule 14"),
    ("0.05", "zéro virgule zéro cinq", "0 virgule 0 5"),
    ("1.50", "un virgule cinquante", "1 virgule 50"),
    ("0.125", "zéro virgule cent vingt-cinq", "0 virgule cent 25"),
    ("0.071", "zéro virgule zéro soixante et onze", "0 virgule 0 71"),
    ("2.005", "deux virgule zéro zéro cinq", "2 virgule 0 0 5"),
    ("3.14159", "trois virgule un quatre un cinq neuf", "3 virgule 1 4 1 5 9"),
    ("-0.0", "zéro virgule zéro", "0 virgule 0"),
    ("80", "quatre-vingts", "80"),
]

AMOUNTS = [
    ("1234.50", "MAD", "mille deux cent trente-quatre dirhams et cinquante centimes",
     "mille 2 cent 30 4 dirhams et 50 centimes"),
    ("0", "MAD", "zéro dirham", "0 dirham"),
    ("1", "MAD", "un dirham", "1 dirham"),
    ("2", "MAD", "deux dirhams", "2 dirhams"),
    ("0.01", "MAD", "un centime", "1 centime"),
    ("0.50", "MAD", "cinquante centimes", "50 centimes"),
    ("200", "MAD", "deux cents dirhams", "2 cents dirhams"),
    ("1.01", "EUR", "un euro et un centime", "1 euro et 1 centime"),
    ("21", "EUR", "vingt et un euros", "21 euros"),
    ("80", "EUR", "quatre-vingts euros", "80 euros"),
    ("1000000", "MAD", "un million de dirhams", "1 million de dirhams"),
    ("2000000", "EUR", "deux millions d'euros", "2 millions d_euros"),
    ("1500000", "USD", "un million cinq cent mille dollars", "1 million 5 cent mille dollars"),
    ("3000000000", "USD", "trois milliards de dollars", "3 milliards de dollars"),
    ("-2.5", "USD", "moins deux dollars et cinquante cents", "moins 2 dollars et 50 cents_us"),
    ("0.99", "USD", "quatre-vingt-dix-neuf cents", "99 cents_us"),
    ("1.500", "mad", "un dirham et cinquante centimes", "1 dirham et 50 centimes"),
]  # fmt: skip

DATES = [
    ("2026-03-01", "day_month_year", "le premier mars deux mille vingt-six",
     "le premier mars 2 mille 26"),
    ("2026-12-31", "day_month_year", "le trente et un décembre deux mille vingt-six",
     "le 30 et 1 decembre 2 mille 26"),
    ("1999-02-11", "day_month_year", "le onze février mille neuf cent quatre-vingt-dix-neuf",
     "le 11 fevrier mille 9 cent 99"),
    ("2000-01-08", "day_month_year", "le huit janvier deux mille", "le 8 janvier 2 mille"),
    ("1980-07-14", "day_month_year", "le quatorze juillet mille neuf cent quatre-vingts",
     "le 14 juillet mille 9 cent 80"),
    ("2026-03-02", "weekday_day_month", "lundi deux mars", "lundi 2 mars"),
    ("2026-03-01", "weekday_day_month", "dimanche premier mars", "dimanche premier mars"),
    ("2025-12-25", "weekday_day_month", "jeudi vingt-cinq décembre", "jeudi 25 decembre"),
    ("2026-07-14", "weekday_day_month", "mardi quatorze juillet", "mardi 14 juillet"),
    ("2026-08-21", "day_month", "le vingt et un août", "le 21 aout"),
    ("2026-05-01", "day_month", "le premier mai", "le premier mai"),
    ("2026-04-17", "day_month", "le dix-sept avril", "le 17 avril"),
]  # fmt: skip


def said(tokens: list[str]) -> str:
    """What the concatenated clips say, as comparable text."""
    return normal(" ".join(lang_fr.CLIP_TEXT[t] for t in tokens))


def normal(words: str) -> str:
    text = words.lower().replace("-", " ").replace("vingts", "vingt")  # the silent s of 80
    return " ".join(text.split())


@pytest.mark.parametrize(("value", "words", "tokens"), NUMBERS, ids=[w for _, w, _ in NUMBERS])
def test_whole_numbers(value: int, words: str, tokens: str) -> None:
    assert lang_fr.number_words(value) == tokens.split()
    assert said(tokens.split()) == normal(words)


def test_every_number_from_0_to_99_is_covered_by_hand() -> None:
    assert {v for v, _, _ in NUMBERS} >= {0, 1, 2, *range(10, 23), *range(70, 100)}


@pytest.mark.parametrize(("value", "words", "tokens"), DECIMALS, ids=[w for _, w, _ in DECIMALS])
def test_decimals(value: str, words: str, tokens: str) -> None:
    assert lang_fr.decimal_words(Decimal(value)) == tokens.split()
    assert said(tokens.split()) == normal(words)


@pytest.mark.parametrize(
    ("amount", "code", "words", "tokens"), AMOUNTS, ids=[w for _, _, w, _ in AMOUNTS]
)
def test_amounts(amount: str, code: str, words: str, tokens: str) -> None:
    assert lang_fr.currency_words(Decimal(amount), code) == tokens.split()
    assert said(tokens.split()) == normal(words)


@pytest.mark.parametrize(("day", "style", "words", "tokens"), DATES, ids=[d[2] for d in DATES])
def test_dates(day: str, style: str, words: str, tokens: str) -> None:
    assert lang_fr.date_words(datetime.date.fromisoformat(day), style) == tokens.split()
    assert said(tokens.split()) == normal(words)


def test_digits_one_by_one_with_a_leading_plus() -> None:
    assert lang_fr.digit_words("0612345678") == list("0612345678")
    assert lang_fr.digit_words("+212612345678") == ["plus", *"212612345678"]


@pytest.mark.parametrize(
    "text", ["", "+", "06 12", "06.12", "12+3", "++1", "-5", "٣", "06\t", 612, None]
)
def test_digits_refuse_anything_else(text: object) -> None:
    with pytest.raises(SpeechError):
        lang_fr.digit_words(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", [10**12, -(10**12), 10**15, "12", 1.5, None, True, Decimal("12"), [1]]
)
def test_whole_numbers_refuse_out_of_range_and_non_integers(value: object) -> None:
    with pytest.raises(SpeechError):
        lang_fr.number_words(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [Decimal("1E12"), Decimal("-1000000000000.5"), Decimal("NaN"), Decimal("-Infinity"),
     Decimal("1E-16"), "1,5", 1.5, None, True],
)  # fmt: skip
def test_decimals_refuse_out_of_range_and_non_numbers(value: object) -> None:
    with pytest.raises(SpeechError):
        lang_fr.decimal_words(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "code"),
    [(Decimal("1.005"), "MAD"), (Decimal("0.001"), "EUR"), (Decimal("1E12"), "MAD"),
     (Decimal("sNaN"), "EUR"), (Decimal("1"), "GBP"), (Decimal("1"), ""), (Decimal("1"), 5),
     ("12", "MAD"), (12.5, "MAD"), (None, "MAD")],
)  # fmt: skip
def test_amounts_refuse_extra_decimals_unknown_currencies_and_non_numbers(
    amount: object, code: object
) -> None:
    with pytest.raises(SpeechError):
        lang_fr.currency_words(amount, code)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "style"),
    [(datetime.date(2026, 3, 1), "long"), (datetime.date(2026, 3, 1), "DAY_MONTH"),
     ("2026-03-01", "day_month"), (20260301, "day_month_year")],
)  # fmt: skip
def test_dates_refuse_unknown_styles_and_non_dates(value: object, style: str) -> None:
    with pytest.raises(SpeechError):
        lang_fr.date_words(value, style)  # type: ignore[arg-type]


def emitted() -> set[str]:
    """Every token a wide range of values produces."""
    seen: set[str] = set()
    numbers = [*range(-1100, 2100), *range(0, 10**6, 997), *range(0, 10**12, 10**12 // 1013)]
    numbers += [k * 10**e for k in (1, 2, 80, 200) for e in (3, 6, 9)] + [lang_fr.MAX_NUMBER]
    for n in numbers:
        seen.update(lang_fr.number_words(n))
        seen.update(lang_fr.decimal_words(Decimal(n) / 8))
    for code in lang_fr.CURRENCIES:
        amounts = [*range(-250, 250), *range(0, 10**8, 9973), 10**8, 2 * 10**8, 10**11, 2 * 10**11]
        for cents in amounts:
            seen.update(lang_fr.currency_words(Decimal(cents) / 100, code))
    day = datetime.date(2024, 1, 1)
    while day.year < 2026:
        for style in lang_fr.DATE_STYLES:
            seen.update(lang_fr.date_words(day, style))
        day += datetime.timedelta(days=1)
    seen.update(lang_fr.digit_words("+0123456789"))
    return seen


def test_tokens_lists_exactly_what_the_functions_emit() -> None:
    seen = emitted()
    assert seen <= lang_fr.TOKENS, sorted(seen - lang_fr.TOKENS)
    assert not lang_fr.TOKENS - seen, sorted(lang_fr.TOKENS - seen)  # no clip recorded for nothing


def test_every_token_is_a_manifest_key_with_a_clip_text() -> None:
    assert all(TOKEN_KEY.match(token) for token in lang_fr.TOKENS)
    assert set(lang_fr.CLIP_TEXT) == set(lang_fr.SPOKEN) == lang_fr.TOKENS
    assert all(text.strip() for text in lang_fr.CLIP_TEXT.values())


def test_the_module_keeps_the_language_contract() -> None:
    assert lang_fr.CODE == "fr"
    assert lang_fr.MAX_NUMBER >= 999_999_999
    assert isinstance(lang_fr.TOKENS, frozenset)
    for name in ("number_words", "decimal_words", "digit_words", "currency_words", "date_words"):
        assert callable(getattr(lang_fr, name))
