"""Arabic numbers, amounts and dates as dictionary tokens (controller.speech.lang_ar).

Every expected row was written by hand from the grammar (Ryding ch. 15; Wright), as an Arabic
speaker reads the value in a Moroccan bank's IVR; the comment on each row is what is heard.
Token shorthand: "3c" is "3_construct" (thalāthat), "100c" is "100_construct" (miʾat).
"""

# ruff: noqa: RUF002, RUF003
from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest

from controller.speech import lang_ar
from controller.speech.base import SpeechError


def _t(text: str) -> list[str]:
    """'3c thousands' -> ['3_construct', 'thousands']."""
    return [re.sub(r"^(\d+)c$", r"\1_construct", word) for word in text.split()]


NUMBERS = [
    (0, "0"),  # ṣifr
    (1, "1"),  # wāḥid
    (2, "2"),  # ithnān
    (3, "3"),  # thalātha
    (10, "10"),  # ʿashara
    (11, "11"),  # aḥada ʿashar
    (12, "12"),  # ithnā ʿashar
    (13, "3c teen"),  # thalāthat ʿashar
    (14, "4c teen"),  # arbaʿat ʿashar
    (15, "5c teen"),  # khamsat ʿashar
    (16, "6c teen"),  # sittat ʿashar
    (17, "7c teen"),  # sabʿat ʿashar
    (18, "8c teen"),  # thamāniyat ʿashar
    (19, "9c teen"),  # tisʿat ʿashar
    (20, "20"),  # ʿishrūn
    (21, "1 wa 20"),  # wāḥid wa ʿishrūn
    (22, "2 wa 20"),  # ithnān wa ʿishrūn
    (34, "4 wa 30"),  # arbaʿa wa thalāthūn
    (70, "70"),  # sabʿūn
    (71, "1 wa 70"),  # wāḥid wa sabʿūn
    (76, "6 wa 70"),  # sitta wa sabʿūn
    (80, "80"),  # thamānūn
    (83, "3 wa 80"),  # thalātha wa thamānūn
    (88, "8 wa 80"),  # thamāniya wa thamānūn
    (90, "90"),  # tisʿūn
    (92, "2 wa 90"),  # ithnān wa tisʿūn
    (99, "9 wa 90"),  # tisʿa wa tisʿūn
    (100, "100"),  # miʾa
    (101, "100 wa 1"),  # miʾa wa wāḥid
    (115, "100 wa 5c teen"),  # miʾa wa khamsat ʿashar
    (200, "200"),  # miʾatān
    (250, "200 wa 50"),  # miʾatān wa khamsūn
    (300, "300"),  # thalāthumiʾa
    (999, "900 wa 9 wa 90"),  # tisʿumiʾa wa tisʿa wa tisʿūn
    (1000, "thousand"),  # alf
    (1001, "thousand wa 1"),  # alf wa wāḥid
    (1100, "thousand wa 100"),  # alf wa miʾa
    (2000, "thousand_dual"),  # alfān
    (2024, "thousand_dual wa 4 wa 20"),  # alfān wa arbaʿa wa ʿishrūn
    (3000, "3c thousands"),  # thalāthat ālāf
    (10000, "10c thousands"),  # ʿasharat ālāf
    (11000, "11 thousand_acc"),  # aḥada ʿashar alfan
    (21000, "1 wa 20 thousand_acc"),  # wāḥid wa ʿishrūn alfan
    (100000, "100c thousand"),  # miʾat alf
    (102000, "100 wa thousand_dual"),  # miʾa wa alfān
    (105000, "100 wa 5c thousands"),  # miʾa wa khamsat ālāf
    (200000, "200c thousand"),  # miʾatā alf
    (345000, "300 wa 5 wa 40 thousand_acc"),  # thalāthumiʾa wa khamsa wa arbaʿūn alfan
    (1000000, "million"),  # milyūn
    (2000000, "million_dual"),  # milyūnān
    (3000000, "3c millions"),  # thalāthat malāyīn
    (15000000, "5c teen million_acc"),  # khamsat ʿashar milyūnan
    (500000000, "500c million"),  # khamsumiʾat milyūn
    # milyūn wa miʾatān wa arbaʿa wa thalāthūn alfan wa khamsumiʾa wa sabʿa wa sittūn
    (1234567, "million wa 200 wa 4 wa 30 thousand_acc wa 500 wa 7 wa 60"),
    # milyūnān wa alf wa wāḥid
    (2001001, "million_dual wa thousand wa 1"),
    # tisʿumiʾa wa tisʿa wa tisʿūn milyūnan wa tisʿumiʾa wa tisʿa wa tisʿūn alfan wa ...
    (999999999, "900 wa 9 wa 90 million_acc wa 900 wa 9 wa 90 thousand_acc wa 900 wa 9 wa 90"),
    (-1, "minus 1"),  # nāqiṣ wāḥid
    (-34, "minus 4 wa 30"),  # nāqiṣ arbaʿa wa thalāthūn
    (-2000, "minus thousand_dual"),  # nāqiṣ alfān
]


@pytest.mark.parametrize(("value", "expected"), NUMBERS, ids=[str(v) for v, _ in NUMBERS])
def test_number_words(value: int, expected: str) -> None:
    assert lang_ar.number_words(value) == _t(expected)


DECIMALS = [
    ("3.14", "3 point 1 4"),  # thalātha fāṣila wāḥid arbaʿa
    ("-0.5", "minus 0 point 5"),  # nāqiṣ ṣifr fāṣila khamsa
    ("12.05", "12 point 0 5"),  # ithnā ʿashar fāṣila ṣifr khamsa
    ("2.50", "2 point 5 0"),  # ithnān fāṣila khamsa ṣifr (the written precision is said)
    ("1234.5", "thousand wa 200 wa 4 wa 30 point 5"),  # alf wa miʾatān ... fāṣila khamsa
    ("7", "7"),  # sabʿa: no fraction, no fāṣila
    ("1E+3", "thousand"),  # alf
    ("-0.0", "0 point 0"),  # ṣifr fāṣila ṣifr: no minus on zero
]


@pytest.mark.parametrize(("value", "expected"), DECIMALS)
def test_decimal_words(value: str, expected: str) -> None:
    assert lang_ar.decimal_words(Decimal(value)) == _t(expected)


def test_decimal_words_takes_an_int() -> None:
    assert lang_ar.decimal_words(34) == ["4", "wa", "30"]  # arbaʿa wa thalāthūn


AMOUNTS = [
    ("0", "MAD", "0 dirham"),  # ṣifr dirham
    ("1", "MAD", "dirham 1"),  # dirham wāḥid
    ("2", "MAD", "dirham_dual"),  # dirhamān
    ("3", "MAD", "3c dirhams"),  # thalāthat darāhim
    ("10", "MAD", "10c dirhams"),  # ʿasharat darāhim
    ("11", "MAD", "11 dirham_acc"),  # aḥada ʿashar dirhaman
    ("21", "MAD", "1 wa 20 dirham_acc"),  # wāḥid wa ʿishrūn dirhaman
    ("99", "MAD", "9 wa 90 dirham_acc"),  # tisʿa wa tisʿūn dirhaman
    ("100", "MAD", "100c dirham"),  # miʾat dirham
    ("101", "MAD", "100 wa dirham 1"),  # miʾa wa dirham wāḥid
    ("102", "MAD", "100 wa dirham_dual"),  # miʾa wa dirhamān
    ("103", "MAD", "100 wa 3c dirhams"),  # miʾa wa thalāthat darāhim
    ("200", "MAD", "200c dirham"),  # miʾatā dirham
    ("300", "MAD", "300c dirham"),  # thalāthumiʾat dirham
    ("1000", "MAD", "thousand dirham"),  # alf dirham
    ("2000", "MAD", "thousand_dual_construct dirham"),  # alfā dirham
    ("3000", "MAD", "3c thousands dirham"),  # thalāthat ālāf dirham
    ("11000", "MAD", "11 thousand dirham"),  # aḥada ʿashar alf dirham
    ("100000", "MAD", "100c thousand dirham"),  # miʾat alf dirham
    ("1000000", "MAD", "million dirham"),  # milyūn dirham
    ("2000000", "MAD", "million_dual_construct dirham"),  # milyūnā dirham
    ("5000000", "MAD", "5c millions dirham"),  # khamsat malāyīn dirham
    # alf wa miʾatān wa arbaʿa wa thalāthūn dirhaman wa khamsūn santīman
    ("1234.50", "MAD", "thousand wa 200 wa 4 wa 30 dirham_acc wa 50 centime_acc"),
    ("0.50", "MAD", "50 centime_acc"),  # khamsūn santīman
    ("0.01", "MAD", "centime 1"),  # santīm wāḥid
    ("0.02", "MAD", "centime_dual"),  # santīmān
    ("1.10", "MAD", "dirham 1 wa 10c centimes"),  # dirham wāḥid wa ʿasharat santīmāt
    ("5.25", "MAD", "5c dirhams wa 5 wa 20 centime_acc"),  # khamsat darāhim wa khamsa wa ...
    ("-200", "MAD", "minus 200c dirham"),  # nāqiṣ miʾatā dirham
    ("7.000", "mad", "7c dirhams"),  # sabʿat darāhim (zeros beyond the cents are fine)
    ("1", "EUR", "euro 1"),  # yūrū wāḥid
    ("2", "EUR", "2 euro"),  # ithnān yūrū (yūrū has no dual)
    ("3", "EUR", "3c euro"),  # thalāthat yūrū
    ("12.99", "EUR", "12 euro wa 9 wa 90 cent_acc"),  # ithnā ʿashar yūrū wa tisʿa ... santan
    ("0.03", "EUR", "3c cents"),  # thalāthat santāt
    ("1", "USD", "dollar 1"),  # dūlār wāḥid
    ("2", "USD", "dollar_dual"),  # dūlārān
    ("5", "USD", "5c dollars"),  # khamsat dūlārāt
    ("15", "USD", "5c teen dollar_acc"),  # khamsat ʿashar dūlāran
    ("2.01", "USD", "dollar_dual wa cent 1"),  # dūlārān wa sant wāḥid
    ("400.02", "USD", "400c dollar wa cent_dual"),  # arbaʿumiʾat dūlār wa santān
]


@pytest.mark.parametrize(("amount", "currency", "expected"), AMOUNTS)
def test_currency_words(amount: str, currency: str, expected: str) -> None:
    assert lang_ar.currency_words(Decimal(amount), currency) == _t(expected)


def test_currency_words_takes_an_int() -> None:
    assert lang_ar.currency_words(3, "MAD") == ["3_construct", "dirhams"]  # thalāthat darāhim


DATES = [
    # khamsa māris alfān wa sitta wa ʿishrūn
    ("2026-03-05", "day_month_year", "5 march thousand_dual wa 6 wa 20"),
    ("2026-05-01", "day_month", "first may"),  # fātiḥ māy
    ("2024-08-20", "weekday_day_month", "tuesday 20 august"),  # ath-thulāthāʾ ʿishrūn ghusht
    ("2025-01-01", "weekday_day_month", "wednesday first january"),  # al-arbiʿāʾ fātiḥ yanāyir
    # wāḥid wa thalāthūn dujanbir alf wa tisʿumiʾa wa tisʿa wa tisʿūn
    ("1999-12-31", "day_month_year", "1 wa 30 december thousand wa 900 wa 9 wa 90"),
    ("2026-07-17", "weekday_day_month", "friday 7c teen july"),  # al-jumuʿa sabʿat ʿashar yūlyūz
    ("2026-02-12", "day_month", "12 february"),  # ithnā ʿashar fabrāyir
    ("2026-11-02", "day_month", "2 november"),  # ithnān nuwanbir
]


@pytest.mark.parametrize(("day", "style", "expected"), DATES)
def test_date_words(day: str, style: str, expected: str) -> None:
    assert lang_ar.date_words(datetime.date.fromisoformat(day), style) == _t(expected)


def test_months_and_weekdays_in_order() -> None:
    months = [lang_ar.date_words(datetime.date(2026, m, 10), "day_month")[1] for m in range(1, 13)]
    assert months == [
        "january", "february", "march", "april", "may", "june",  # yanāyir fabrāyir māris ...
        "july", "august", "september", "october", "november", "december",  # ... dujanbir
    ]  # fmt: skip
    # 2026-03-02 is a Monday (al-ithnayn) ... 2026-03-08 a Sunday (al-aḥad)
    days = [
        lang_ar.date_words(datetime.date(2026, 3, d), "weekday_day_month")[0] for d in range(2, 9)
    ]
    assert days == ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    assert lang_ar.RECORDINGS["august"] == ("غُشْت", "ghusht")
    assert lang_ar.MONTHS_MASHRIQ["august"][0] == "آب"
    assert lang_ar.MONTHS_EGYPT_GULF["august"][0] == "أغسطس"


DIGITS = [
    ("0612345678", "0 6 1 2 3 4 5 6 7 8"),  # ṣifr sitta wāḥid ithnān ...
    ("+212 6-12.34", "plus 2 1 2 6 1 2 3 4"),  # zāʾid ithnān wāḥid ithnān sitta ...
    ("(05) 22/00", "0 5 2 2 0 0"),  # separators are not said
    ("٠٦١٢", "0 6 1 2"),  # Arabic-Indic digits: ṣifr sitta wāḥid ithnān
    ("۰۹", "0 9"),  # Eastern Arabic-Indic (Persian) digits
]


@pytest.mark.parametrize(("text", "expected"), DIGITS)
def test_digit_words(text: str, expected: str) -> None:
    assert lang_ar.digit_words(text) == expected.split()


def _everything_spoken() -> set[str]:
    spoken: set[str] = set()
    numbers = [*range(-120, 2101), lang_ar.MAX_NUMBER, -lang_ar.MAX_NUMBER]
    numbers += [
        m * 10**e for m in range(1, 1000) for e in (3, 6) if m * 10**e <= lang_ar.MAX_NUMBER
    ]
    numbers += [n * 1001 + 7 for n in range(0, 999_999, 4_099)]
    for n in numbers:
        spoken.update(lang_ar.number_words(n))
        for currency in lang_ar.CURRENCIES:
            spoken.update(lang_ar.currency_words(Decimal(abs(n)) / 100, currency))
            spoken.update(lang_ar.currency_words(Decimal(abs(n)), currency))
    spoken.update(lang_ar.decimal_words(Decimal("-1.5")))
    spoken.update(lang_ar.digit_words("+0123456789"))
    day = datetime.date(2024, 1, 1)
    while day.year == 2024:
        for style in ("day_month_year", "weekday_day_month", "day_month"):
            spoken.update(lang_ar.date_words(day, style))
        day += datetime.timedelta(days=1)
    return spoken


def test_every_token_is_in_the_inventory_and_every_entry_is_used() -> None:
    spoken = _everything_spoken()
    assert spoken <= lang_ar.TOKENS, sorted(spoken - lang_ar.TOKENS)
    assert spoken >= lang_ar.TOKENS, sorted(lang_ar.TOKENS - spoken)  # no dead clips


def test_recordings_name_a_clip_key_an_arabic_word_and_a_transliteration() -> None:
    assert lang_ar.CODE == "ar"
    assert set(lang_ar.RECORDINGS) == lang_ar.TOKENS
    for token, (arabic, latin) in lang_ar.RECORDINGS.items():
        assert re.fullmatch(r"[A-Za-z0-9_.+-]{1,64}", token)  # a manifest key (dictionary.py)
        assert re.search(r"[\u0600-\u06ff]", arabic) and "(" not in arabic, token
        assert latin and not re.search(r"[\u0600-\u06ff]", latin), token


@pytest.mark.parametrize(
    "value",
    [
        lang_ar.MAX_NUMBER + 1,
        -lang_ar.MAX_NUMBER - 1,
        1.5,
        "12",
        True,
        None,
        Decimal("1.5"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1E+999999999"),
        Decimal("1E-999999999"),
    ],
)
def test_number_words_refuses(value: object) -> None:
    with pytest.raises(SpeechError):
        lang_ar.number_words(value)  # type: ignore[arg-type]


def test_number_words_takes_a_whole_decimal() -> None:
    assert lang_ar.number_words(Decimal("11")) == ["11"]  # aḥada ʿashar


@pytest.mark.parametrize(
    "value",
    [
        "1.2",
        1.2,
        None,
        False,
        Decimal("NaN"),
        Decimal("-Infinity"),
        Decimal("1E-13"),  # more decimals than are read digit by digit
        Decimal("1000000000.5"),
    ],
)
def test_decimal_words_refuses(value: object) -> None:
    with pytest.raises(SpeechError):
        lang_ar.decimal_words(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        (Decimal("1"), "GBP"),  # no words for pounds
        (Decimal("1"), ""),
        (Decimal("1.005"), "MAD"),  # a bank amount is never rounded
        (Decimal("1000000000"), "MAD"),
        (Decimal("999999999.995"), "MAD"),
        (Decimal("-1E+999999999"), "MAD"),
        (Decimal("1E-999999999"), "MAD"),
        (Decimal("NaN"), "MAD"),
        ("12", "MAD"),
        (1.5, "MAD"),
        (True, "MAD"),
    ],
)
def test_currency_words_refuses(amount: object, currency: str) -> None:
    with pytest.raises(SpeechError):
        lang_ar.currency_words(amount, currency)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["12a4", "", "+", " - ", "12*3", "#"])
def test_digit_words_refuses(text: str) -> None:
    with pytest.raises(SpeechError):
        lang_ar.digit_words(text)


def test_digit_words_refuses_a_non_string() -> None:
    with pytest.raises(SpeechError):
        lang_ar.digit_words(612)  # type: ignore[arg-type]


def test_date_words_refuses() -> None:
    with pytest.raises(SpeechError):
        lang_ar.date_words(datetime.date(2026, 3, 5), "month_day")
    with pytest.raises(SpeechError):
        lang_ar.date_words("2026-03-05", "day_month")  # type: ignore[arg-type]


def test_the_play_node_finds_arabic() -> None:
    from controller.speech import compose  # noqa: PLC0415

    item = {"type": "number", "mode": "currency", "currency": "MAD"}
    # alf wa miʾatān wa arbaʿa wa thalāthūn dirhaman wa khamsūn santīman
    assert compose.tokens_for(item, "1234.50", "ar") == _t(
        "thousand wa 200 wa 4 wa 30 dirham_acc wa 50 centime_acc"
    )
