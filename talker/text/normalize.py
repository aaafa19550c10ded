"""Text normalisation before speech synthesis: what a person would *say* for what is written.

The voices read letters, not symbols: "$5.50" or "2024年" must be spelled out first or a voice
skips them, spells them digit by digit, or reads them in the wrong language. English and
Mandarin are covered; other languages only get the script-neutral clean-up (emoji, quotes,
whitespace).

Number spelling is implemented here rather than taken from a library: ``num2words`` is LGPL
and ``cn2an`` pulls in an unmaintained helper package, while the rules needed (cardinals,
ordinals, years, decimals, Chinese numerals with 零/两) are short and fully unit-tested.

Heuristics worth knowing:
- A bare 4-digit number from 1100 to 2099 is read as a year ("1999" -> "nineteen ninety-nine").
- Latin-script text cannot be told apart by script; :func:`detect_script_language` calls it "en".
- URLs are reduced to their host ("example dot com"); e-mail addresses are read out.
"""

from __future__ import annotations

import re
import unicodedata

# --------------------------------------------------------------------------- script detection

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{_HAN}]")
_KANA_RE = re.compile(r"[\u3040-\u30ff]")
_HANGUL_RE = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_SCRIPTS = (
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
)
_LATIN_WORD_RE = re.compile(r"[A-Za-z\u00c0-\u024f]+")


def detect_script_language(text: str) -> str:
    """Language guessed from the writing system: "zh", "en", "ja", "ko", ... or "" if no letters.

    Han characters win over Latin words when they outnumber them, so mixed text such as
    "我喜欢Python编程" is Chinese. All Latin-script text is reported as "en".
    """
    text = text or ""
    if _KANA_RE.search(text):
        return "ja"
    han = len(_HAN_RE.findall(text))
    hangul = len(_HANGUL_RE.findall(text))
    latin_words = len(_LATIN_WORD_RE.findall(text))
    if hangul and hangul >= han and hangul > latin_words:
        return "ko"
    if han and han > latin_words:
        return "zh"
    counts = {code: len(rx.findall(text)) for code, rx in _SCRIPTS}
    best = max(counts, key=counts.get)
    if counts[best] and counts[best] > latin_words:
        return best
    if latin_words:
        return "en"
    if han:
        return "zh"
    return ""


def has_speakable(text: str) -> bool:
    """True when there is at least one letter or digit to say (emoji and punctuation are not)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in remove_emoji(text or ""))


# --------------------------------------------------------------------------- shared clean-up

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u3000": " ", "\t": " ",
})
_EMOJI_EXTRA = {"\u200d", "\ufe0e", "\ufe0f", "\u20e3"}  # ZWJ, variation selectors, keycap


def remove_emoji(text: str) -> str:
    """Drop pictographs, their modifiers and joiners; keep letters, digits, punctuation, currency."""
    out = []
    for ch in text:
        if ch in _EMOJI_EXTRA:
            continue
        cat = unicodedata.category(ch)
        if cat in ("So", "Cs", "Co", "Cn") or (cat == "Sk" and ord(ch) > 0x2000):
            continue
        out.append(ch)
    return "".join(out)


def _collapse(text: str) -> str:
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" *\n[ \n]*", "\n", text)
    text = re.sub(r" +([,.!?;:])", r"\1", text)
    return text.strip()


def _basic(text: str) -> str:
    text = unicodedata.normalize("NFC", text or "")
    text = text.translate(_QUOTES)
    text = re.sub(r"</?[A-Za-z][^<>]{0,200}>", " ", text)  # markup pasted with the text
    text = "".join(ch for ch in text if ch in "\n" or unicodedata.category(ch) not in ("Cc", "Cf")
                   or ch in _EMOJI_EXTRA)
    return text


# --------------------------------------------------------------------------- English numbers

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_ORDINAL_IRREGULAR = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                      "nine": "ninth", "twelve": "twelfth"}


def _under_100(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def _under_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts = [f"{_ONES[hundreds]} hundred"] if hundreds else []
    if rest:
        parts.append(_under_100(rest))
    return " ".join(parts)


def digits_en(digits: str) -> str:
    return " ".join(_ONES[int(d)] for d in digits if d.isdigit())


def cardinal_en(n: int) -> str:
    """American English, no "and": 1234 -> "one thousand two hundred thirty-four"."""
    if n < 0:
        return "minus " + cardinal_en(-n)
    if n == 0:
        return "zero"
    if n >= 10**15:
        return digits_en(str(n))
    parts = []
    for value, name in _SCALES:
        if n >= value:
            parts.append(f"{_under_1000(n // value)} {name}")
            n %= value
    if n:
        parts.append(_under_1000(n))
    return " ".join(parts)


def ordinal_en(n: int) -> str:
    words = cardinal_en(n)
    head, sep, last = words.rpartition(" ")
    pre, hyphen, last = last.rpartition("-")
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + pre + hyphen + last


def year_en(y: int) -> str:
    """1999 -> nineteen ninety-nine, 2005 -> two thousand five, 1905 -> nineteen oh five."""
    if y < 1000 or y >= 10000 or 2000 <= y <= 2009 or y % 1000 == 0:
        return cardinal_en(y)
    hi, lo = divmod(y, 100)
    if lo == 0:
        return f"{_under_100(hi)} hundred"
    if lo < 10:
        return f"{_under_100(hi)} oh {_ONES[lo]}"
    return f"{_under_100(hi)} {_under_100(lo)}"


def _plural_en(words: str) -> str:
    """The plural of a spelled number, for decades: "nineteen ninety" -> "nineteen nineties"."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith("x"):
        return words + "es"
    return words + "s"


def number_en(token: str) -> str:
    """A numeral as written (commas, decimals, leading zeros) to words."""
    token = token.replace(",", "")
    neg = token.startswith("-")
    token = token.lstrip("-+")
    whole, _, frac = token.partition(".")
    if len(whole) > 1 and whole.startswith("0"):
        words = digits_en(whole)
    else:
        words = cardinal_en(int(whole or "0"))
    if frac:
        words += " point " + digits_en(frac)
    return ("minus " + words) if neg else words


# --------------------------------------------------------------------------- English rules

_MONTHS = ("January February March April May June July August September October November December").split()
_MONTH_ABBR = {m[:3].lower(): i for i, m in enumerate(_MONTHS)} | {"sept": 8}
_MONTH_RE = r"(January|February|March|April|May|June|July|August|September|October|November|December|" \
            r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"

_CURRENCY_EN = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
                "£": ("pound", "pounds", "penny", "pence"), "¥": ("yen", "yen", "sen", "sen"),
                "₹": ("rupee", "rupees", "paisa", "paise")}
_MAGNITUDE = {"k": "thousand", "thousand": "thousand", "m": "million", "mn": "million", "million": "million",
              "b": "billion", "bn": "billion", "billion": "billion", "t": "trillion", "trillion": "trillion"}

# Abbreviation -> expansion. Those in _MAY_END can close a sentence, so their period is kept
# when the next word starts a new sentence.
_ABBREVIATIONS = {
    "Dr.": "Doctor", "Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "Prof.": "Professor",
    "Jr.": "Junior", "Sr.": "Senior", "Mt.": "Mount", "Capt.": "Captain", "Gen.": "General",
    "Gov.": "Governor", "Sen.": "Senator", "Rep.": "Representative", "Lt.": "Lieutenant", "Col.": "Colonel",
    "Sgt.": "Sergeant", "Ave.": "Avenue", "Blvd.": "Boulevard", "Rd.": "Road", "Dept.": "Department",
    "Inc.": "Incorporated", "Ltd.": "Limited", "Corp.": "Corporation", "Co.": "Company",
    "etc.": "et cetera", "vs.": "versus", "vs": "versus", "approx.": "approximately", "est.": "established",
    "e.g.": "for example", "i.e.": "that is", "a.k.a.": "also known as", "aka": "also known as",
    "cf.": "compare", "min.": "minutes", "max.": "maximum", "fig.": "figure", "Fig.": "figure",
}
_MAY_END = {"Jr.", "Sr.", "Inc.", "Ltd.", "Corp.", "Co.", "etc.", "Ave.", "Blvd.", "Rd.", "Dept."}

_UNITS_EN = {
    "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"), "mm": ("millimeter", "millimeters"),
    "kg": ("kilogram", "kilograms"), "mg": ("milligram", "milligrams"), "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"), "oz": ("ounce", "ounces"), "mph": ("mile per hour", "miles per hour"),
    "km/h": ("kilometer per hour", "kilometers per hour"), "kph": ("kilometer per hour", "kilometers per hour"),
    "ms": ("millisecond", "milliseconds"), "GB": ("gigabyte", "gigabytes"), "MB": ("megabyte", "megabytes"),
    "KB": ("kilobyte", "kilobytes"), "TB": ("terabyte", "terabytes"), "GHz": ("gigahertz", "gigahertz"),
    "MHz": ("megahertz", "megahertz"), "kHz": ("kilohertz", "kilohertz"), "Hz": ("hertz", "hertz"),
    "kW": ("kilowatt", "kilowatts"), "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"), "°": ("degree", "degrees"),
}
_FRACTIONS_EN = {(1, 2): "one half", (1, 3): "one third", (2, 3): "two thirds", (1, 4): "one quarter",
                 (3, 4): "three quarters"}

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"


def _sentence_follows(text: str, end: int) -> bool:
    """Whether the text after ``end`` starts a new sentence (end of text or a capitalised word)."""
    rest = text[end:]
    return not rest.strip() or bool(re.match(r"\s+[\"'(]?[A-Z]", rest))


def _host_words(host: str) -> str:
    host = re.sub(r"^www\.", "", host.lower())
    return " dot ".join(p for p in host.split(".") if p)


def _url(m: re.Match) -> str:
    host = re.split(r"[/:?#]", re.sub(r"^[a-z]+://", "", m.group(0), flags=re.I), maxsplit=1)[0]
    return " " + _host_words(host) + " "


def _email(m: re.Match) -> str:
    user = re.sub(r"[._]", " dot ", m.group(1)).replace("+", " plus ").replace("-", " dash ")
    return f" {user} at {_host_words(m.group(2))} "


def _money(m: re.Match) -> str:
    symbol, amount, magnitude = m.group(1), m.group(2).replace(",", ""), m.group(3)
    one, many, sub_one, sub_many = _CURRENCY_EN[symbol]
    if magnitude:
        return f"{number_en(amount)} {_MAGNITUDE[magnitude.lower()]} {many}"
    whole, _, frac = amount.partition(".")
    units = int(whole or "0")
    if frac and len(frac) == 2:
        cents = int(frac)
        parts = []
        if units or not cents:
            parts.append(f"{cardinal_en(units)} {one if units == 1 else many}")
        if cents:
            parts.append(f"{cardinal_en(cents)} {sub_one if cents == 1 else sub_many}")
        return " and ".join(parts)
    if frac:
        return f"{number_en(amount)} {many}"
    return f"{cardinal_en(units)} {one if units == 1 else many}"


def _time(m: re.Match) -> str:
    hour, minute, ampm = int(m.group(1)), int(m.group(2)), m.group(3)
    if hour > 24 or minute > 59:
        return m.group(0)
    if minute == 0:
        words = cardinal_en(hour) + ("" if ampm else " o'clock")
    elif minute < 10:
        words = f"{cardinal_en(hour)} oh {_ONES[minute]}"
    else:
        words = f"{cardinal_en(hour)} {_under_100(minute)}"
    if ampm:
        words += " AM" if ampm[0].lower() == "a" else " PM"
        if ampm.endswith(".") and _sentence_follows(m.string, m.end()):
            words += "."
    return words


def _date_words(month: int, day: int, year: str | None) -> str:
    words = f"{_MONTHS[month]} {ordinal_en(day)}"
    return words + (f", {year_en(int(year))}" if year else "")


def _month_day(m: re.Match) -> str:
    name = m.group(1)
    month = _MONTHS.index(name) if name in _MONTHS else _MONTH_ABBR[name.lower()]
    day = int(m.group(2))
    if not 1 <= day <= 31:
        return m.group(0)
    return _date_words(month, day, m.group(4))


def _iso_date(m: re.Match) -> str:
    year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    return _date_words(month - 1, day, year)


def _us_date(m: re.Match) -> str:
    month, day, year = int(m.group(1)), int(m.group(2)), m.group(3)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    if len(year) == 2:
        year = "20" + year
    return _date_words(month - 1, day, year)


def _unit(m: re.Match) -> str:
    number, unit = m.group(1), m.group(2)
    one, many = _UNITS_EN[unit]
    return f"{number_en(number)} {one if number.replace(',', '') in ('1', '1.0') else many}"


def _fraction(m: re.Match) -> str:
    num, den = int(m.group(1)), int(m.group(2))
    if (num, den) in _FRACTIONS_EN:
        return _FRACTIONS_EN[(num, den)]
    return f"{cardinal_en(num)} over {cardinal_en(den)}"


def _abbreviation(m: re.Match) -> str:
    abbr = m.group(0)
    words = _ABBREVIATIONS[abbr]
    if abbr in _MAY_END and _sentence_follows(m.string, m.end()):
        words += "."
    return words


def _saint_or_street(m: re.Match) -> str:
    """"Main St." is a street (a name comes before it); "St. Louis" is a saint."""
    before = m.string[:m.start()].rstrip()
    after_name = bool(re.search(r"[A-Z][a-z]+$", before)) and not re.search(r"(^|[.!?])\s*[A-Z][a-z]+$", before)
    if after_name or not re.match(r"\s+[A-Z]", m.string[m.end():]):
        return "Street." if _sentence_follows(m.string, m.end()) and after_name else "Street"
    return "Saint"


_ABBR_RE = re.compile(
    r"(?<![\w.])(" + "|".join(re.escape(a) for a in sorted(_ABBREVIATIONS, key=len, reverse=True)) + r")(?![\w])"
)
_UNIT_RE = re.compile(
    r"(?<![\w.])(" + _NUM + r")\s?(" + "|".join(re.escape(u) for u in sorted(_UNITS_EN, key=len, reverse=True))
    + r")(?![\w/])"
)


def normalize_en(text: str) -> str:
    """Written English to speakable English. Idempotent on its own output."""
    t = _basic(text)
    t = re.sub(r"[\u2013\u2014\u2015]", ", ", t)          # en/em dashes read as a pause
    t = t.replace("\u2026", "...").replace("\u2212", "-")

    # Addresses before anything touches their dots and @.
    t = re.sub(r"\b(?:https?://|ftp://|www\.)[^\s<>\"]+[^\s<>\".,!?;:)]", _url, t, flags=re.I)
    t = re.sub(r"\b([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)\b", _email, t)

    # Dates and times before their digits are read as plain numbers.
    t = re.sub(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", _iso_date, t)
    t = re.sub(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b", _us_date, t)
    t = re.sub(r"\b" + _MONTH_RE + r"\.?\s+(\d{1,2})(st|nd|rd|th)?\b(?:,?\s+(\d{4})\b)?", _month_day, t)
    t = re.sub(r"\b(\d{1,2}):(\d{2})(?::\d{2})?(?:\s*([ap]\.m\.|[ap]m\b))?", _time, t, flags=re.I)

    # Money, percentages, units, ordinals, decades, fractions.
    t = re.sub(r"([$€£¥₹])\s?(" + _NUM + r")(?:\s?(thousand|million|billion|trillion|bn|mn|k|m|b|t)\b)?",
               _money, t, flags=re.I)
    t = re.sub(r"(" + _NUM + r")\s?%", lambda m: f"{number_en(m.group(1))} percent", t)
    t = _UNIT_RE.sub(_unit, t)
    t = re.sub(r"\b(\d+)(?:st|nd|rd|th)\b", lambda m: ordinal_en(int(m.group(1))), t, flags=re.I)
    t = re.sub(r"\b(\d{4})'?s\b", lambda m: _plural_en(year_en(int(m.group(1)))), t)
    t = re.sub(r"(?<![\w/])(\d{1,2})/(\d{1,2})(?![\w/])", _fraction, t)
    t = re.sub(r"#\s?(\d)", r"number \1", t)
    t = re.sub(r"\bNo\.\s?(\d)", r"number \1", t)

    # Abbreviations and symbols.
    t = _ABBR_RE.sub(_abbreviation, t)
    t = re.sub(r"(?<![\w.])St\.", _saint_or_street, t)
    t = re.sub(r"\s*&\s*", " and ", t)
    t = re.sub(r"(?<=\d)\s*[x×]\s*(?=\d)", " times ", t)
    t = re.sub(r"\s*\+\s*(?=\d)", " plus ", t)
    t = re.sub(r"(?<=\s)\+(?=\s)", "plus", t)
    t = re.sub(r"\s*=\s*", " equals ", t)
    t = re.sub(r"\s*±\s*", " plus or minus ", t)
    t = re.sub(r"\s*@\s*", " at ", t)
    t = re.sub(r"(?<=\w)/(?=\w)", " ", t)

    # Numbers left: ranges, years, negatives, plain.
    t = re.sub(r"(?<![\w.,])(\d{1,4})\s?-\s?(\d{1,4})(?![\w.,]|-\d)", r"\1 to \2", t)
    t = re.sub(r"(?<![\w.,$-])(1[1-9]\d\d|20\d\d)(?![\w.,]\d|\d)", lambda m: year_en(int(m.group(1))), t)
    t = re.sub(r"(?<![\w.])-(?=\d)", "minus ", t)
    t = re.sub(_NUM, lambda m: number_en(m.group(0)), t)

    t = remove_emoji(t)
    t = "".join(ch for ch in t if unicodedata.category(ch)[0] not in "S" or ch in "'")
    t = re.sub(r"[\"*_~^|<>\[\]{}]", " ", t)
    return _collapse(t)


# --------------------------------------------------------------------------- Chinese numbers

_ZH_DIGITS = "零一二三四五六七八九"
_ZH_GROUPS = ("", "万", "亿", "万亿")
_ZH_MEASURE = "个位只本件条张次天人种份名辆台家块岁元斤杯碗双对年周月"


def digits_zh(digits: str) -> str:
    return "".join(_ZH_DIGITS[int(d)] for d in digits if d.isdigit())


def _zh_section(n: int) -> str:
    out, pending_zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d == 0:
            pending_zero = bool(out)
        else:
            if pending_zero:
                out += "零"
                pending_zero = False
            out += _ZH_DIGITS[d] + unit
    return out


def cardinal_zh(n: int) -> str:
    """10086 -> 一万零八十六, 15 -> 十五, 2000 -> 两千; beyond 10^16 digit by digit."""
    if n < 0:
        return "负" + cardinal_zh(-n)
    if n == 0:
        return "零"
    if n >= 10**16:
        return digits_zh(str(n))
    groups = []
    while n:
        n, g = divmod(n, 10000)
        groups.append(g)
    out, pending_zero = "", False
    for i in reversed(range(len(groups))):
        g = groups[i]
        if g == 0:
            pending_zero = bool(out)
            continue
        if out and (pending_zero or g < 1000):
            out += "零"
        out += _zh_section(g) + _ZH_GROUPS[i]
        pending_zero = False
    if out.startswith("一十"):
        out = out[1:]
    if len(out) >= 2 and out[0] == "二" and out[1] in "千万亿":
        out = "两" + out[1:]
    return out


def number_zh(token: str) -> str:
    token = token.replace(",", "")
    neg = token.startswith("-")
    token = token.lstrip("-+")
    whole, _, frac = token.partition(".")
    words = digits_zh(whole) if len(whole) > 1 and whole.startswith("0") else cardinal_zh(int(whole or "0"))
    if frac:
        words += "点" + digits_zh(frac)
    return ("负" + words) if neg else words


_CURRENCY_ZH = {"$": "美元", "€": "欧元", "£": "英镑", "¥": "元", "￥": "元", "₹": "卢比"}
_FW_PUNCT = {",": "，", ".": "。", "!": "！", "?": "？", ";": "；", ":": "：", "(": "（", ")": "）"}
_MAGNITUDE_ZH = {"k": "千", "K": "千", "w": "万", "W": "万", "万": "万", "亿": "亿", "千": "千", "百": "百"}


def _zh_time(m: re.Match) -> str:
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 24 or minute > 59:
        return m.group(0)
    words = cardinal_zh(hour).replace("二", "两") if hour == 2 else cardinal_zh(hour)
    words += "点"
    if minute:
        words += ("零" + _ZH_DIGITS[minute] if minute < 10 else cardinal_zh(minute)) + "分"
    return words


def _zh_date(m: re.Match) -> str:
    year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    return f"{digits_zh(year)}年{cardinal_zh(month)}月{cardinal_zh(day)}日"


def _zh_money(m: re.Match) -> str:
    amount = m.group(2).replace(",", "")
    if "." in amount:
        amount = amount.rstrip("0").rstrip(".")
    return number_zh(amount) + (_MAGNITUDE_ZH.get(m.group(3) or "", "")) + _CURRENCY_ZH[m.group(1)]


def _zh_integer(m: re.Match) -> str:
    token = m.group(1)
    following = m.string[m.end():m.end() + 1]
    if token == "2" and following and following in _ZH_MEASURE and following != "月":
        return "两"
    return number_zh(token)


def _fullwidth_punct(text: str) -> str:
    """ASCII punctuation next to a Han character becomes full-width; inside Latin runs it stays."""
    chars = list(text)
    for i, ch in enumerate(chars):
        if ch not in _FW_PUNCT:
            continue
        j = i - 1
        while j >= 0 and chars[j] == " ":
            j -= 1
        k = i + 1
        while k < len(chars) and chars[k] == " ":
            k += 1
        prev_han = j >= 0 and bool(_HAN_RE.match(chars[j]))
        next_han = k < len(chars) and bool(_HAN_RE.match(chars[k]))
        if prev_han or next_han:
            chars[i] = _FW_PUNCT[ch]
    out = "".join(chars)
    # No spaces around full-width punctuation.
    return re.sub(r" *([，。！？；：（）、]) *", r"\1", out)


def _fullwidth_alnum(text: str) -> str:
    """Full-width Latin letters and digits (Ａ, １) to ASCII; CJK punctuation is left alone."""
    return "".join(chr(ord(ch) - 0xFEE0) if "\uff10" <= ch <= "\uff19" or "\uff21" <= ch <= "\uff3a"
                   or "\uff41" <= ch <= "\uff5a" else ch for ch in text)


def normalize_zh(text: str) -> str:
    """Written Mandarin to speakable Mandarin; Latin words inside it are kept as they are."""
    t = _fullwidth_alnum(_basic(text))
    t = t.replace("％", "%").replace("＄", "$").replace("＋", "+").replace("－", "-").replace("：", ":")
    t = t.replace("．", ".").replace("／", "/").replace("…", "...")
    t = re.sub(r"\b(?:https?://|www\.)[^\s<>\"\u3000-\u9fff]+", lambda m: " " + _url(m).strip() + " ", t, flags=re.I)

    t = re.sub(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})日?", _zh_date, t)
    t = re.sub(r"(\d{4})\s?年", lambda m: digits_zh(m.group(1)) + "年", t)
    t = re.sub(r"(?<!\d)(\d{1,2}):(\d{2})(?::\d{2})?(?!\d)", _zh_time, t)
    t = re.sub(r"([$€£¥￥₹])\s?(" + _NUM + r")\s?(万|亿|千|百|[kKwW](?![A-Za-z]))?", _zh_money, t)
    t = re.sub(r"(" + _NUM + r")\s?(元|块)", lambda m: number_zh(m.group(1)) + m.group(2), t)
    t = re.sub(r"(" + _NUM + r")\s?%", lambda m: "百分之" + number_zh(m.group(1)), t)
    t = re.sub(r"(?<![\d/])(\d+)/(\d+)(?![\d/])", lambda m: f"{cardinal_zh(int(m.group(2)))}分之"
               f"{cardinal_zh(int(m.group(1)))}", t)
    t = re.sub(r"(?<![0-9A-Za-z.])-(?=\d)", "负", t)
    t = re.sub(r"(\d+\.\d+)", lambda m: number_zh(m.group(1)), t)
    t = re.sub(r"(?<!\d)(\d{1,3}(?:,\d{3})+)(?!\d)", lambda m: number_zh(m.group(1)), t)
    t = re.sub(r"(\d+)", _zh_integer, t)
    t = t.replace("&", "和").replace("+", "加").replace("=", "等于").replace("@", " at ")

    t = remove_emoji(t)
    t = "".join(ch for ch in t if unicodedata.category(ch)[0] != "S")
    t = re.sub(r"[\"*_~^|<>\[\]{}]", " ", t)
    t = _fullwidth_punct(_collapse(t))
    # Spaces only make sense between Latin words.
    t = re.sub(f"(?<=[{_HAN}]) +(?=[{_HAN}])", "", t)
    return t.strip()


# --------------------------------------------------------------------------- entry point


def normalize_text(text: str, language: str = "en") -> str:
    """Speakable text for ``language`` ("en", "zh"; others get only the script-neutral clean-up)."""
    lang = (language or "").lower().split("-")[0]
    if lang == "en":
        return normalize_en(text)
    if lang in ("zh", "cmn"):
        return normalize_zh(text)
    return _collapse(remove_emoji(_basic(text)))
