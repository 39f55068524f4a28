"""Arabic (ar): numbers, amounts and dates as dictionary tokens, for Moroccan service lines.

Register: Modern Standard Arabic as bank IVRs in Morocco read it, in pause form (waqf): case
endings and nunation are dropped where a word ends its phrase, except where the form itself
changes (dual -ān / -ā, tens -ūn, the accusative of specification -an). Every value is spoken
as the predicate of a sentence like "raṣīduka ... dirhaman" ("your balance is ..."), so
variable words are recorded in the nominative. `RECORDINGS` lists what each token is recorded
as (Arabic script and transliteration); `TOKENS` is its keys.

Sources, cited below by short name:
  Ryding   K. C. Ryding, A Reference Grammar of Modern Standard Arabic (CUP 2005), ch. 15
           "Numerals and numeral constructions".
  Wright   W. Wright, A Grammar of the Arabic Language (3rd ed.), vol. I, "The numerals", and
           vol. II, the syntax of the numerals (government of the counted noun).
  CLDR     Unicode CLDR, rbnf/ar.xml (spell-out rules): ناقص for minus, فاصلة for the point.

Which gender and case forms the dictionary needs (all counted nouns here are masculine:
dirham, santīm, dūlār, sant, yūrū, alf, milyūn, and yawm for days; bare numbers use the same
forms, which are also the abstract counting forms, Ryding ch. 15):

  number      form recorded                         why
  1, 2        masculine: wāḥid, ithnān              1 and 2 agree with the noun (Ryding)
  3-10        with tāʾ marbūṭa: thalātha..ʿashara   polarity: -a with a masculine noun
  3-10 + noun construct: thalāthat ālāf, ʿasharat   construct state before a plural (Wright)
  13-19       construct unit + ʿashar               thalāthata ʿashar (masc.), Ryding
  11, 12      aḥada ʿashar, ithnā ʿashar            own forms; 12 nominative
  20-90       nominative -ūn: ʿishrūn               ("-īn" may be recorded under the same key)
  100-900     pause form / construct form           miʾa / miʾat alf; 200: miʾatān / miʾatā
  noun after  1: singular + wāḥid; 2: dual (nom.); 3-10: plural (gen.); 11-99: singular
              accusative (tamyīz, -an); x00, x000: singular genitive (pause: bare singular)

Feminine forms (wāḥida, ithnatān, thalāth, ...) are not used: no counted noun here is
feminine. A compound's counted noun follows its last element (Ryding; Wright): 1234 dirhams =
alf wa miʾatān wa arbaʿa wa thalāthūn dirhaman. When a number above 100 ends in 1 or 2, the
noun itself says one or two (as in alf layla wa layla): 101 = miʾa wa dirham wāḥid, 102 =
miʾa wa dirhamān, 102 000 = miʾa wa alfān.

Choices: negative "nāqiṣ" (ناقص, CLDR; the word Moroccans also say; sālib is a classroom
word); decimal "fāṣila" (فاصلة, CLDR), the fraction then digit by digit (the contract); a
phone number's plus "zāʾid" (زائد); dates: a cardinal day as Moroccan IVRs say ("khamsa
māris"), the 1st "fātiḥ" (فاتح, Moroccan usage: "fātiḥ māy"), Moroccan month names
(`MONTHS_MOROCCO`; the Mashriq/Egypt-Gulf names, `MONTHS_MASHRIQ` and `MONTHS_EGYPT_GULF`,
can be recorded under the same keys), years as numbers. `MAX_NUMBER` is 999 999 999.
"""

# Transliterations write hamza as ʾ and ʿayn as ʿ (as Ryding and Wright do), not as quotes.
# ruff: noqa: RUF002, RUF003

from __future__ import annotations

import datetime
import unicodedata
from decimal import Decimal
from typing import NamedTuple

from controller.speech.base import SpeechError
from controller.speech.lang_ar_words import WORDS

CODE = "ar"
MAX_NUMBER = 999_999_999
MAX_FRACTION_DIGITS = 12  # a decimal's fraction is read digit by digit: keep it short

# token | Arabic (what is recorded) | transliteration | an optional note for the voice talent
# token -> (Arabic, transliteration): the recording script, in lang_ar_words.py
RECORDINGS: dict[str, tuple[str, str]] = WORDS
TOKENS: frozenset[str] = frozenset(RECORDINGS)

MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# The month names by region, for recording the twelve month tokens. Morocco (and Algeria,
# Tunisia in part) use the French-derived names; this module's dictionary records these.
MONTHS_MOROCCO = {month: RECORDINGS[month] for month in MONTHS}
# Levant and Iraq: the Syriac names.
MONTHS_MASHRIQ = dict(zip(MONTHS, (
    ("كانون الثاني", "kānūn ath-thānī"), ("شباط", "shubāṭ"), ("آذار", "ādhār"),
    ("نيسان", "nīsān"), ("أيار", "ayyār"), ("حزيران", "ḥazīrān"), ("تموز", "tammūz"),
    ("آب", "āb"), ("أيلول", "aylūl"), ("تشرين الأول", "tishrīn al-awwal"),
    ("تشرين الثاني", "tishrīn ath-thānī"), ("كانون الأول", "kānūn al-awwal"),
), strict=True))  # fmt: skip
# Egypt and the Gulf: the English/Latin-derived names.
MONTHS_EGYPT_GULF = dict(zip(MONTHS, (
    ("يناير", "yanāyir"), ("فبراير", "fibrāyir"), ("مارس", "māris"), ("أبريل", "abrīl"),
    ("مايو", "māyū"), ("يونيو", "yūnyū"), ("يوليو", "yūlyū"), ("أغسطس", "aghusṭus"),
    ("سبتمبر", "sibtambar"), ("أكتوبر", "uktūbar"), ("نوفمبر", "nūfambar"),
    ("ديسمبر", "dīsambar"),
), strict=True))  # fmt: skip


_Forms = tuple[str, ...]


class _Noun(NamedTuple):
    """The forms of a counted noun after a number (Ryding ch. 15; Wright vol. II)."""

    one: _Forms  # after 1: singular (+ wāḥid, the adjective, for money)
    two: _Forms  # after 2: the dual alone, nominative (alfān, dirhamān)
    two_construct: _Forms  # the dual in construct before another noun (alfā dirham)
    plural: _Forms  # after 3-10 in construct: genitive plural (thalāthat ālāf)
    acc: _Forms  # after 11-99: accusative singular, tamyīz (alfan, dirhaman)
    acc_construct: _Forms  # the same in construct before another noun (alf dirham)
    gen: _Forms  # after 100s and 1000s: genitive singular (miʾat alf, alf dirham)


def _noun(
    one: _Forms, two: _Forms, plural: _Forms, acc: _Forms, gen: _Forms, *,
    two_c: _Forms = (), acc_c: _Forms = (),
) -> _Noun:  # fmt: skip
    return _Noun(one, two, two_c or two, plural, acc, acc_c or acc, gen)


_THOUSAND = _noun(
    ("thousand",), ("thousand_dual",), ("thousands",), ("thousand_acc",), ("thousand",),
    two_c=("thousand_dual_construct",), acc_c=("thousand",),
)  # fmt: skip
_MILLION = _noun(
    ("million",), ("million_dual",), ("millions",), ("million_acc",), ("million",),
    two_c=("million_dual_construct",), acc_c=("million",),
)  # fmt: skip
# Money: the singular with wāḥid after it (1 = dirham wāḥid: the numeral 1 follows its noun
# as an adjective, Ryding ch. 15); yūrū is an invariable loanword, so 2 says ithnān yūrū.
_DIRHAM = _noun(("dirham", "1"), ("dirham_dual",), ("dirhams",), ("dirham_acc",), ("dirham",))
_CENTIME = _noun(("centime", "1"), ("centime_dual",), ("centimes",), ("centime_acc",), ("centime",))
_DOLLAR = _noun(("dollar", "1"), ("dollar_dual",), ("dollars",), ("dollar_acc",), ("dollar",))
_EURO = _noun(("euro", "1"), ("2", "euro"), ("euro",), ("euro",), ("euro",))
_CENT = _noun(("cent", "1"), ("cent_dual",), ("cents",), ("cent_acc",), ("cent",))
CURRENCIES: dict[str, tuple[_Noun, _Noun]] = {
    "MAD": (_DIRHAM, _CENTIME),  # Moroccan dirham: 100 santīm (Bank Al-Maghrib's word)
    "EUR": (_EURO, _CENT),
    "USD": (_DOLLAR, _CENT),
}


def _below_100(n: int) -> list[str]:
    """1..99. 13-19: the unit with its tāʾ marbūṭa pronounced, then ʿashar (thalāthata
    ʿashar); 21-99: the unit, wa, the ten, units first (arbaʿa wa thalāthūn), Ryding ch. 15."""
    if n <= 12:
        return [str(n)]
    if n < 20:
        return [f"{n - 10}_construct", "teen"]
    unit, ten = n % 10, n - n % 10
    return [str(unit), "wa", str(ten)] if unit else [str(ten)]


def _below_1000(n: int, construct: bool) -> list[str]:
    """1..999: the hundreds first, then wa and the rest (miʾa wa wāḥid). 300-900 are one
    word, thalāth(u) + miʾa (Wright vol. I; the unit takes its short form before miʾa), so
    each is one token; before a noun a bare hundred is in construct (miʾat alf, miʾatā alf)."""
    hundreds, rest = divmod(n, 100)
    words = []
    if hundreds:
        words.append(f"{hundreds}00" + ("_construct" if construct and not rest else ""))
    if rest:
        words += (["wa"] if words else []) + _below_100(rest)
    return words


def _counted(n: int, noun: _Noun, construct: bool) -> list[str]:
    """n (>= 1) followed by its counted noun. The noun's form follows the last element of the
    number (Ryding ch. 15; Wright vol. II); a number ending in 1 or 2 above 100 leaves the 1
    or 2 to the noun (miʾa wa alfān). construct: another noun follows (alf dirham)."""
    tail = n % 100
    if tail == 0:
        return _words(n, construct=True) + list(noun.gen)
    head = [*_words(n - tail), "wa"] if n > tail else []
    if tail == 1:
        return head + list(noun.one)
    if tail == 2:
        return head + list(noun.two_construct if construct else noun.two)
    if tail <= 10:  # 3-10: the number in construct with a genitive plural
        return [*head, f"{tail}_construct", *noun.plural]
    return head + _below_100(tail) + list(noun.acc_construct if construct else noun.acc)


def _words(n: int, construct: bool = False) -> list[str]:
    """0..MAX_NUMBER: millions, wa, thousands, wa, the rest (Ryding ch. 15: larger first)."""
    if n == 0:
        return ["0"]
    millions, thousands, rest = n // 1_000_000, n // 1000 % 1000, n % 1000
    words: list[str] = []
    if millions:
        words += _counted(millions, _MILLION, construct and not thousands and not rest)
    if thousands:
        words += (["wa"] if words else []) + _counted(thousands, _THOUSAND, construct and not rest)
    if rest:
        words += (["wa"] if words else []) + _below_1000(rest, construct)
    return words


def _beyond(value: int | Decimal) -> bool:  # without arithmetic: 1E+999999999 overflows
    if isinstance(value, int):
        return abs(value) > MAX_NUMBER
    return not value.is_zero() and value.adjusted() >= len(str(MAX_NUMBER))


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise SpeechError(f"{value!r} is not a whole number")
    if isinstance(value, Decimal) and not value.is_finite():
        raise SpeechError(f"{value!r} is not a whole number")
    if _beyond(value):
        raise SpeechError(f"{value} is beyond {MAX_NUMBER}, the largest number spoken in Arabic")
    if value != int(value):
        raise SpeechError(f"{value!r} is not a whole number")
    return int(value)


def number_words(value: int) -> list[str]:
    """A whole number, as said standing alone: 34 -> arbaʿa wa thalāthūn."""
    number = _whole(value)
    return (["minus"] if number < 0 else []) + _words(abs(number))


def decimal_words(value: Decimal) -> list[str]:
    """3.14 -> thalātha fāṣila wāḥid arbaʿa: the fraction digit by digit, as written (2.50
    says its zero; quantize first to drop it)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return number_words(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise SpeechError(f"{value!r} is not a number")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if exponent >= 0:
        return number_words(value)
    if -exponent > MAX_FRACTION_DIGITS:
        raise SpeechError(f"{value} has more than {MAX_FRACTION_DIGITS} decimals")
    whole, _, fraction = format(abs(value), "f").partition(".")
    sign = ["minus"] if value < 0 else []
    return sign + number_words(int(whole)) + ["point"] + list(fraction)


_SEPARATORS = frozenset(" -.()/")


def digit_words(text: str) -> list[str]:
    """Digit by digit ("+212 6..." -> zāʾid 2 1 2 6 ...); spaces, dashes, dots, slashes and
    brackets are skipped; Arabic-Indic digits (٠١٢...) are read as their digits."""
    if not isinstance(text, str):
        raise SpeechError(f"{text!r} is not text of digits")
    words = []
    for char in text:
        digit = unicodedata.decimal(char, None)
        if digit is not None:
            words.append(str(digit))
        elif char == "+":
            words.append("plus")
        elif char not in _SEPARATORS and not char.isspace():
            raise SpeechError(f"{text!r} has {char!r}, which is not a digit")
    if not any(word != "plus" for word in words):
        raise SpeechError(f"{text!r} has no digits")
    return words


def _amount(n: int, noun: _Noun) -> list[str]:
    return ["0", *noun.gen] if n == 0 else _counted(n, noun, construct=False)


def currency_words(amount: Decimal, currency: str) -> list[str]:
    """1234.50 MAD -> alf wa miʾatān wa arbaʿa wa thalāthūn dirhaman wa khamsūn santīman.
    A zero part is not said (0.50: khamsūn santīman) unless the amount is zero (ṣifr dirham);
    more than two decimals (other than zeros) is an error: a bank amount is never rounded."""
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
        raise SpeechError(f"{amount!r} is not an amount")
    if isinstance(amount, Decimal) and not amount.is_finite():
        raise SpeechError(f"{amount!r} is not an amount")
    units = CURRENCIES.get(str(currency).upper())
    if units is None:
        known = ", ".join(CURRENCIES)
        raise SpeechError(f"no Arabic words for currency {currency!r} (known: {known})")
    if _beyond(amount) or abs(amount) >= MAX_NUMBER + 1:
        raise SpeechError(f"{amount} is beyond {MAX_NUMBER}, the largest amount spoken in Arabic")
    cents = Decimal(amount).quantize(Decimal("0.01"))
    if cents != amount:
        raise SpeechError(f"{amount} has more than two decimals")
    major, minor = divmod(abs(int(cents * 100)), 100)
    major_noun, minor_noun = units
    words = ["minus"] if cents < 0 else []  # not for -0.00
    if major or not minor:
        words += _amount(major, major_noun)
    if major and minor:
        words.append("wa")
    if minor:
        words += _amount(minor, minor_noun)
    return words


def date_words(value: datetime.date, style: str) -> list[str]:
    """day_month_year: khamsa māris alfān wa sitta wa ʿishrūn; weekday_day_month: al-aḥad
    khamsa māris; day_month: fātiḥ māy. The day is a cardinal (fātiḥ for the 1st)."""
    if not isinstance(value, datetime.date):
        raise SpeechError(f"{value!r} is not a date")
    day = ["first"] if value.day == 1 else number_words(value.day)
    month = MONTHS[value.month - 1]
    if style == "day_month_year":
        return [*day, month, *number_words(value.year)]
    if style == "weekday_day_month":
        return [WEEKDAYS[value.weekday()], *day, month]
    if style == "day_month":
        return [*day, month]
    raise SpeechError(f"unknown date style {style!r}")
