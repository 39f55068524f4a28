"""French: numbers, amounts and dates as dictionary tokens (see `base.Language`).

Tokens are clip keys; `CLIP_TEXT` says what each clip must say (the recording script);
`SPOKEN` is that text respelt for the demo synthesizer where it would misread a word. Keys
are ASCII (`dictionary._TOKEN` refuses accents and apostrophes): "fevrier", "aout",
"decembre", "d_euros" ("d'euros").

Numbers (0 .. 999 999 999 999), as in France and Morocco (not the Belgian/Swiss septante,
huitante/octante, nonante). Written forms follow the Dictionnaire de l'Académie française
(9e éd., entries CENT, VINGT, MILLE, MILLION) and Bescherelle / Grevisse (Le Bon Usage); the
1990 rectifications only add hyphens, which are not heard.
    Clips, and why (a clip is spoken alone, so a join must not change how a word sounds):
    - "0".."19". 17-19 are their own clips: "dix-huit" [dizɥit] and "dix-neuf" [diznœf]
      voice the x, which "dix" + "huit" from two clips would not.
    - "20".."29". "vingt" alone is [vɛ̃], but its t is heard in 22-29 ([vɛ̃t.dø]) and in
      "vingt et un" ([vɛ̃.te.œ̃]): "vingt" + "deux" would drop it.
    - "30","40","50","60"; 31-69 are composed: "trente", "quarante", "cinquante",
      "soixante" end in a pronounced t, so "trente" + "deux" sounds like "trente-deux".
      x1 takes "et": "trente et un" = "30" "et" "1" (Académie: "et" in 21, 31, 41, 51, 61
      and 71 only; never "quatre-vingt-un", "cent un", "mille un").
    - "70".."79" and "90".."99": recorded whole. Composing them ("soixante" + "dix-sept",
      "quatre-vingt" + "onze") gives a two-part number where speakers say one word
      ("soixante et onze", "quatre-vingt-dix-sept"), and would need "soixante" + "et" +
      "onze" for 71. Twenty clips keep them natural.
    - "80" ("quatre-vingts"); 81-89 are "80" + unit: "quatre-vingt-un" sounds exactly like
      "quatre-vingts" + "un" (no liaison, the t of vingt is silent after "quatre-").
      Written, 80 takes an s and 81-99 do not (Académie, VINGT); the sound is the same,
      hence one clip.
    - "cent" / "cents": cent takes an s when multiplied and nothing follows (200 "deux
      cents", 201 "deux cent un"), also before million(s)/milliard(s), which are nouns
      ("deux cents millions"), never before mille, a numeral ("deux cent mille"); 100 is
      "cent", never "un cent". The two clips sound alike except for the liaison in "deux
      cents euros"; operators may record the same word twice.
    - "mille", invariable and never preceded by "un": 1000 "mille", 2000 "deux mille",
      1001 "mille un", 21000 "vingt et un mille".
    - "million"/"millions", "milliard"/"milliards": nouns, plural from two ("un million",
      "deux millions", "vingt et un millions").
    Negative numbers start with "moins".
    Known limit of any clip concatenation: "six", "huit", "dix" (and "cinq") lose their final
    consonant before a consonant in careful speech ("six cents" said "si cents"); clips say the
    full word, an accepted imperfection of clip-based prompts.

Decimals: whole part, "virgule", then the fractional part the way French speakers read
    it: as a number after one "zéro" per leading zero, when it has at most
    `FRACTION_AS_NUMBER_MAX_DIGITS` digits (3,14 "trois virgule quatorze"; 0,05 "zéro
    virgule zéro cinq"; 1,50 "un virgule cinquante", the digits the Decimal carries);
    longer parts digit by digit (3,14159 "trois virgule un quatre un cinq neuf").
    At most `MAX_FRACTION_DIGITS` fractional digits.

Digits ("0612", "+212612"): one clip per digit, "+" is "plus" (said "pluss", as in
    arithmetic). Anything else is refused. Unambiguous for account numbers; French phone
    numbers are usually read in pairs, which this does not do.

Amounts: MAD dirham(s)/centime(s), EUR euro(s)/centime(s) (French for the euro cent:
    Code monétaire et financier art. L111-1 "l'euro est divisé en cent centimes", and it
    avoids "cent" = 100), USD dollar(s)/cent(s) (the US cent; clips "cent_us"/"cents_us"
    to keep them apart from "cent" = 100). Plural from 2: "zéro dirham", "un dirham",
    "deux dirhams" (the noun after zéro is singular: Office québécois de la langue
    française, Banque de dépannage linguistique, "Zéro"; Le Robert, "accord du nom après
    zéro"). "de" after million(s)/milliard(s), which are nouns: "un million de dirhams",
    "deux millions d'euros" ("d_euros" is one clip: the elision is one syllable), but
    "un million cinq cent mille dirhams". Major and minor joined by "et": "mille deux cent
    trente-quatre dirhams et cinquante centimes". The minor part is left out when 0; the
    major part when 0 and the minor part is not ("cinquante centimes"). Negative: "moins"
    first. More than two decimals: refused (SpeechError) unless the extra digits are zeros
    (1,500 is fine); rounding money silently would speak a balance the caller does not
    have.

Dates: "le premier mars deux mille vingt-six", "lundi deux mars", "le premier mars".
    Only day 1 is an ordinal ("le premier mai", "le deux mai", "le vingt et un mai":
    Académie, PREMIER; Grevisse). "le" starts day_month_year and day_month ("votre
    rendez-vous est le deux mars"), not weekday_day_month ("est lundi deux mars"); no
    elision before "huit" and "onze" ("le huit", "le onze"). The year is a number: 2026
    "deux mille vingt-six", 1999 "mille neuf cent quatre-vingt-dix-neuf".
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

CODE = "fr"
MAX_NUMBER = 999_999_999_999
MAX_FRACTION_DIGITS = 15
FRACTION_AS_NUMBER_MAX_DIGITS = 3
DATE_STYLES = ("day_month_year", "weekday_day_month", "day_month")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_UNITS = _words(
    "zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze "
    "seize dix-sept dix-huit dix-neuf"
)
_TENS = {20: "vingt", 30: "trente", 40: "quarante", 50: "cinquante", 60: "soixante"}
_MONTHS = _words(
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
)
_WEEKDAYS = _words("lundi mardi mercredi jeudi vendredi samedi dimanche")  # date.weekday()
_ASCII = str.maketrans("éû", "eu")

# ISO code -> (major singular, major plural, minor singular, minor plural); minor = 1/100.
CURRENCIES = {
    "MAD": ("dirham", "dirhams", "centime", "centimes"),
    "EUR": ("euro", "euros", "centime", "centimes"),
    "USD": ("dollar", "dollars", "cent_us", "cents_us"),
}
_DE = {"euros": ["d_euros"]}  # "deux millions d'euros"; otherwise "de" + the unit
_NOUN_SCALES = {"million", "millions", "milliard", "milliards"}


def _spoken_under_100(n: int) -> str:
    if n < 20:
        return _UNITS[n]
    if n in _TENS:
        return _TENS[n]
    tens, unit = divmod(n, 10)
    if n < 80:
        tens, unit = (tens, unit) if n < 70 else (6, unit + 10)
        joint = " et " if unit in (1, 11) else "-"
        return f"{_TENS[tens * 10]}{joint}{_UNITS[unit]}"
    return "quatre-vingts" if n == 80 else f"quatre-vingt-{_UNITS[n - 80]}"


_RECORDED = (*range(31), 40, 50, 60, *range(70, 81), *range(90, 100))  # the rest is composed
CLIP_TEXT: dict[str, str] = {str(n): _spoken_under_100(n) for n in _RECORDED}
CLIP_TEXT |= {w: w for w in ("et", "cent", "cents", "mille", "million", "millions")}
CLIP_TEXT |= {w: w for w in ("milliard", "milliards", "moins", "virgule", "plus")}
CLIP_TEXT |= {"de": "de", "d_euros": "d'euros", "le": "le", "premier": "premier"}
CLIP_TEXT |= {w.translate(_ASCII): w for w in (*_MONTHS, *_WEEKDAYS)}
CLIP_TEXT |= {w: w for names in CURRENCIES.values() for w in names}
CLIP_TEXT |= {"cent_us": "cent", "cents_us": "cents"}  # the US coin: said "sennt", unlike 100

TOKENS: frozenset[str] = frozenset(CLIP_TEXT)

# What the demo synthesizer (controller/speech/demo.py, espeak-ng) reads for each token:
# CLIP_TEXT, respelt where a word alone would be misread ("plus" alone is "plu", the US
# "cent" is said "sènnte", not like 100).
SPOKEN: dict[str, str] = CLIP_TEXT | {"plus": "plusse", "cent_us": "sènnte", "cents_us": "sènntes"}


def _under_100(n: int) -> list[str]:
    """1 <= n <= 99."""
    if n < 30 or 70 <= n < 80 or n >= 90 or n % 10 == 0:
        return [str(n)]
    tens, unit = divmod(n, 10)
    if n > 80:
        return ["80", str(unit)]  # quatre-vingt-un: no "et"
    return [f"{tens}0", "et", "1"] if unit == 1 else [f"{tens}0", str(unit)]


def _under_1000(n: int, *, before_mille: bool = False) -> list[str]:
    """1 <= n <= 999; `before_mille`: "cent" keeps no s before "mille" (deux cent mille)."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds == 1:
        words.append("cent")
    elif hundreds:
        words += [str(hundreds), "cent" if rest or before_mille else "cents"]
    return words + _under_100(rest) if rest else words


def _cardinal(n: int) -> list[str]:
    """0 <= n <= MAX_NUMBER."""
    if n == 0:
        return ["0"]
    words: list[str] = []
    for scale, one, many in ((10**9, "milliard", "milliards"), (10**6, "million", "millions")):
        count, n = divmod(n, scale)
        if count:
            words += [*_under_1000(count), one if count == 1 else many]
    thousands, n = divmod(n, 1000)
    if thousands:
        words += [] if thousands == 1 else _under_1000(thousands, before_mille=True)
        words.append("mille")
    return words + _under_1000(n) if n else words


def number_words(value: int) -> list[str]:
    """1234 -> mille 2 cent 30 4; -5 -> moins 5; 80 -> 80; 200 -> 2 cents."""
    value = checked_whole(value, MAX_NUMBER)
    return ["moins", *_cardinal(-value)] if value < 0 else _cardinal(value)


def _fraction(digits: str) -> list[str]:
    if len(digits) > FRACTION_AS_NUMBER_MAX_DIGITS:
        return list(digits)
    significant = digits.lstrip("0")
    zeros = ["0"] * (len(digits) - len(significant))
    return zeros + _cardinal(int(significant)) if significant else zeros


def decimal_words(value: Decimal) -> list[str]:
    """-12.5 -> moins 12 virgule 5; 3.14 -> 3 virgule 14; 0.05 -> 0 virgule 0 5."""
    number = checked_decimal(value, MAX_NUMBER)
    if number.as_tuple().exponent < -MAX_FRACTION_DIGITS:
        raise SpeechError(f"{value} has more than {MAX_FRACTION_DIGITS} decimals")
    whole, _, fraction = format(abs(number), "f").partition(".")
    words = ["moins"] if number < 0 else []  # -0,0 is "zéro virgule zéro"
    words += _cardinal(int(whole))
    return [*words, "virgule", *_fraction(fraction)] if fraction else words


def digit_words(text: str) -> list[str]:
    """ "0612" -> 0 6 1 2; "+212 ..." -> plus 2 1 2 ..."""
    return plain_digits(text)


def currency_words(amount: Decimal, currency: str) -> list[str]:
    """1234.50 MAD -> mille 2 cent 30 4 dirhams et 50 centimes; 2000000 EUR -> 2 millions
    d_euros; 0 MAD -> 0 dirham."""
    names = CURRENCIES.get(currency.upper()) if isinstance(currency, str) else None
    if names is None:
        raise SpeechError(f"no French names for currency {currency!r}")
    one, many, minor_one, minor_many = names
    negative, major, minor = split_amount(amount, MAX_NUMBER)
    words = ["moins"] if negative else []
    if major or not minor:
        words += _cardinal(major)
        unit = one if major < 2 else many
        words += (_DE.get(unit) or ["de", unit]) if words[-1] in _NOUN_SCALES else [unit]
    if minor:
        if major:
            words.append("et")
        words += [*_cardinal(minor), minor_one if minor < 2 else minor_many]
    return words


def date_words(value: datetime.date, style: str) -> list[str]:
    """day_month_year: le premier mars 2 mille 26; weekday_day_month: lundi 2 mars;
    day_month: le premier mars."""
    if not isinstance(value, datetime.date):
        raise SpeechError(f"{value!r} is not a date")
    month = _MONTHS[value.month - 1].translate(_ASCII)
    day = ["premier"] if value.day == 1 else _under_100(value.day)
    if style == "day_month_year":
        return ["le", *day, month, *_cardinal(value.year)]
    if style == "weekday_day_month":
        return [_WEEKDAYS[value.weekday()], *day, month]
    if style == "day_month":
        return ["le", *day, month]
    raise SpeechError(f"unknown date style {style!r} (one of {', '.join(DATE_STYLES)})")
