"""Text as a person would say it, for the TTS service: Pipecat text filters and a text transform.

What reaches TTS comes from an LLM (Markdown, links, emoji) and from data a user typed (a role title such as
"Sr. Backend Eng. (C++/Go) II"). A TTS voice reads such text literally: "asterisk asterisk", "h t t p s
colon slash slash", "smiling face with smiling eyes", "ess are". Every TTS service (agent.speech.create_tts)
gets, in order:

Text filters (`spoken_text_filters`), which decide what is said; Pipecat 1.4 builds the TTSTextFrame, and
so the transcript and the LLM context, from their output:
1. `CodeBlockFilter` drops fenced code blocks (a listener cannot follow code read aloud).
2. Pipecat's `MarkdownTextFilter` removes Markdown (emphasis, headings, lists, inline code, links become
   their text, tables) and the `https://` of a URL.
3. `SpokenTextFilter` removes what nobody says: emoji (ZWJ sequences, flags and skin tones included), a
   link's path (its host stays: "docs.python.org"), leftover markup characters.

A text transform (`spoken_text_transforms`), which decides how it is said, for the voice only: a host or
an email with "dot" and "at", symbols as words ("&" -> "and", "%" -> "percent", "C++" -> "C plus plus"),
title abbreviations expanded ("Sr." -> "Senior"), initialisms spelled ("SRE" -> "S R E"), versions ("v2"
-> "version 2"), multipliers, ordinals and Roman numerals in titles as words. Plain numbers stay digits:
every supported voice reads those correctly.

Both are stateless per piece of text except CodeBlockFilter, and Pipecat applies them to each sentence its
aggregator hands over, so a sentence split inside a role title is still said in words piece by piece.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Awaitable, Callable

from pipecat.utils.text.base_text_aggregator import AggregationType
from pipecat.utils.text.base_text_filter import BaseTextFilter
from pipecat.utils.text.markdown_text_filter import MarkdownTextFilter

# Whole tokens whose reading no general rule gets right. Matched case-sensitively as whole tokens.
TECH_TERMS: dict[str, str] = {
    "C++": "C plus plus",
    "C#": "C sharp",
    "F#": "F sharp",
    "ASP.NET": "A S P dot net",
    ".NET": "dot net",
    "PostgreSQL": "Postgres Q L",
    "MySQL": "My S Q L",
    "NoSQL": "No S Q L",
    "GraphQL": "Graph Q L",
    "SQLite": "S Q Lite",
    "iOS": "i O S",
    "macOS": "mac O S",
    "k8s": "Kubernetes",
    "K8s": "Kubernetes",
    "gRPC": "g R P C",
    "i18n": "internationalization",
    "a11y": "accessibility",
    "CI/CD": "C I C D",
    "I/O": "I O",
    "UI/UX": "U I U X",
    "TCP/IP": "T C P I P",
    "A/B": "A B",
    "24/7": "24 7",
    "e.g.": "for example",
    "i.e.": "that is",
    "etc.": "et cetera",
    "vs.": "versus",
    "vs": "versus",
    "w/": "with",
    "w/o": "without",
    "approx.": "approximately",
}

# Job-title and everyday abbreviations, with or without their period.
ABBREVIATIONS: dict[str, str] = {
    "Sr": "Senior",
    "Snr": "Senior",
    "Jr": "Junior",
    "Jnr": "Junior",
    "Eng": "Engineer",
    "Engr": "Engineer",
    "Mgr": "Manager",
    "Mgmt": "Management",
    "Dir": "Director",
    "Assoc": "Associate",
    "Asst": "Assistant",
    "Dept": "Department",
    "Dr": "Doctor",
    "Prof": "Professor",
    "Intl": "International",
}
# "Eng Manager" is an Engineering Manager, not an Engineer Manager.
_ENGINEERING_BEFORE = re.compile(r"(Manager|Lead|Director|Team|Org|Department)\b")

# All-caps words said as words, not letter by letter.
SAID_AS_WORDS = frozenset(
    {"JSON", "REST", "YAML", "CRUD", "NASA", "RAM", "ROM", "LAN", "WAN", "GIF", "JPEG", "SOAP", "CORS",
     "OAUTH", "ASCII", "RAID", "LINQ", "SCRUM", "NATO", "GUI", "SAAS", "PAAS", "IAAS", "DAO", "WASM",
     "OK", "TOML", "AJAX", "POSIX", "CAN", "NOT", "AND", "OR", "THE", "ALL", "NEW", "NOW", "YES", "NO"}
)  # fmt: skip
SPELLED_EVEN_WITH_VOWELS = frozenset({"UUID", "GUID", "IEEE", "HTTPS", "OIDC", "AWS", "IAM", "API", "UI"})

_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
]  # fmt: skip
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_ROMAN = {"II": 2, "III": 3, "IV": 4, "VI": 6, "VII": 7, "VIII": 8, "IX": 9}

# Common top-level domains: a token like "example.com/docs" (Markdown filtering already took its
# "https://") is a URL, while "Node.js" or "3.11" is not.
_TLDS = (
    "com|org|net|io|dev|ai|app|co|edu|gov|info|biz|me|tech|cloud|uk|us|ca|de|fr|eu|nl|au|in|jp|ch|se|"
    "es|it|pl|be|at|dk|no|fi|ie|nz|sh|xyz|ly|gg|tv"
)
_URL = re.compile(
    rf"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s<>\"']+"  # with a scheme or www.
    rf"|\b(?:[A-Za-z0-9-]+\.)+(?:{_TLDS})\b(?:/[^\s<>\"']*)?",  # a bare host (and path)
    re.IGNORECASE,
)
_EMAIL = re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b")
_TRAILING_PUNCT = ".,;:!?)]}'\""


TextTransform = Callable[[str, str | AggregationType], Awaitable[str]]
_LEFTOVER_MARKUP = re.compile(r"[*`|]+")


def number_words(n: int) -> str:
    """A cardinal 0..999,999 in words ("twenty-four"); larger numbers stay digits."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    if n < 1_000_000:
        thousands, rest = divmod(n, 1000)
        return f"{number_words(thousands)} thousand" + (f" {number_words(rest)}" if rest else "")
    return str(n)


def ordinal_words(n: int) -> str:
    """An ordinal in words ("twenty-first"); the cardinal's last word is made ordinal."""
    cardinal = number_words(n)
    if cardinal.isdigit():
        return f"{cardinal}th"
    head, sep, last = cardinal.rpartition(" " if "-" not in cardinal.split(" ")[-1] else "-")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def spell(letters: str) -> str:
    """An initialism letter by letter, as TTS voices read single capitals: "SRE" -> "S R E"."""
    return " ".join(letters)


def _is_emoji_part(char: str) -> bool:
    """Pictographs, flags (regional indicators), skin tones, ZWJ, variation selectors, keycaps, tags."""
    code = ord(char)
    if char in "\u200d\ufe0e\ufe0f\u20e3" or 0xE0020 <= code <= 0xE007F:
        return True
    if 0x1F1E6 <= code <= 0x1F1FF or 0x1F3FB <= code <= 0x1F3FF:
        return True
    if unicodedata.category(char) != "So":
        return False
    # Symbols a person reads aloud are handled in _SYMBOLS, before this runs.
    return code >= 0x2190


def _say_url(match: re.Match[str]) -> str:
    host, trailing = _split_url(match.group(0))
    return " dot ".join(host.split(".")) + trailing


def _say_email(match: re.Match[str]) -> str:
    user, _, host = match.group(0).partition("@")
    return f"{' dot '.join(user.split('.'))} at {' dot '.join(host.split('.'))}"


def _say_abbreviation(match: re.Match[str]) -> str:
    word, period = match.group(1), match.group(2) or ""
    expansion = ABBREVIATIONS[word]
    rest = match.string[match.end() :]
    if word == "Eng" and _ENGINEERING_BEFORE.match(rest.lstrip()):
        expansion = "Engineering"
    # The period of an abbreviation is not a sentence end, unless nothing follows it.
    keep_period = period and not rest.strip()
    return expansion + ("." if keep_period else "")


_COMPARATIVE = re.compile(
    r"more|less|fewer|better|worse|faster|slower|quicker|bigger|smaller|larger|higher|lower|cheaper|"
    r"greater|longer|shorter",
    re.IGNORECASE,
)


def _say_multiplier(match: re.Match[str]) -> str:
    number, following = match.group(1), match.group(2)
    # "10x faster" is "ten times faster"; a "10x engineer" is a "ten X engineer".
    if following and _COMPARATIVE.fullmatch(following):
        return f"{number} times {following}"
    return f"{number} X" + (f" {following}" if following else "")


def _say_version(match: re.Match[str]) -> str:
    return "version " + " point ".join(match.group(1).split("."))


def _say_dotted_number(match: re.Match[str]) -> str:
    return " point ".join(match.group(0).split("."))


def _say_initialism(match: re.Match[str]) -> str:
    word, plural = match.group(1), match.group(2)
    if word in SAID_AS_WORDS:
        return match.group(0)
    has_vowel = any(c in "AEIOUY" for c in word)
    if len(word) <= 3 or not has_vowel or word in SPELLED_EVEN_WITH_VOWELS:
        return spell(word) + ("'s" if plural else "")
    return match.group(0)


def _say_camel_initialism(match: re.Match[str]) -> str:
    return f"{match.group(1)} {spell(match.group(2))}"


_MAGNITUDES = {"k": " thousand", "m": " million", "b": " billion"}


def _say_currency(unit: str) -> Callable[[re.Match[str]], str]:
    def say(match: re.Match[str]) -> str:
        magnitude = _MAGNITUDES.get((match.group(2) or "").strip().lower(), "")
        return f"{match.group(1)}{magnitude} {unit}"

    return say


def _token(term: str) -> re.Pattern[str]:
    # A whole token: not preceded or followed by a letter, digit or a symbol that would extend it.
    return re.compile(rf"(?<![\w.+#]){re.escape(term)}(?![\w+#]|\.\w)")


_TECH_TERMS = sorted(((_token(t), s) for t, s in TECH_TERMS.items()), key=lambda p: -len(p[0].pattern))
_JS_SUFFIX = re.compile(r"\b([A-Z][A-Za-z0-9]*)\.js\b", re.IGNORECASE)
_ABBREVIATION = re.compile(rf"\b({'|'.join(ABBREVIATIONS)})\b(\.)?(?!\w)")
_VERSION = re.compile(r"\bv(\d+(?:\.\d+)*)\b")
_DOTTED_NUMBER = re.compile(r"\b\d+\.\d+\.\d+(?:\.\d+)*\b")
_MULTIPLIER = re.compile(r"\b(\d+(?:\.\d+)?)x\b(?:\s+(\w+))?")
_ORDINAL = re.compile(r"\b(\d{1,6})(st|nd|rd|th)\b")
_ROMAN_IN_TITLE = re.compile(rf"(?<=[A-Za-z,)] )({'|'.join(_ROMAN)})\b(?!')")
_INITIALISM = re.compile(r"\b([A-Z]{2,5})(s)?\b")
_CAMEL_INITIALISM = re.compile(r"\b([A-Z]?[a-z]{2,})([A-Z]{2,4})\b")

# Symbols read as words, in this order. Each is (pattern, replacement).
_SYMBOLS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"\$(\d[\d,]*(?:\.\d+)?)(\s?[kKmMbB]\b)?"), _say_currency("dollars")),
    (re.compile(r"€(\d[\d,]*(?:\.\d+)?)(\s?[kKmMbB]\b)?"), _say_currency("euros")),
    (re.compile(r"£(\d[\d,]*(?:\.\d+)?)(\s?[kKmMbB]\b)?"), _say_currency("pounds")),
    (re.compile(r"(\d)\s?%"), r"\1 percent"),
    (re.compile(r"%"), " percent "),
    (re.compile(r"\s*&\s*"), " and "),
    (re.compile(r"(?<=\d)\s?°\s?([CF])\b"), r" degrees \1"),
    (re.compile(r"°"), " degrees"),
    (re.compile(r"\s*(?:->|→|=>)\s*"), " to "),
    (re.compile(r"(?<=\d)\s?-\s?(?=\d)"), " to "),  # ranges: "3-5 years"
    (re.compile(r"(?<=\d)\s?\+(?=\s|$|[.,;])"), " plus"),  # "5+ years"
    (re.compile(r"(?<=\w)\s?\+\s?(?=\w)"), " plus "),
    (re.compile(r"(?<=\s)=(?=\s)"), "equals"),
    (re.compile(r"#(?=\d)"), "number "),
    (re.compile(r"\s@\s"), " at "),
    (re.compile(r"(?<=\w)/(?=\w)"), " slash "),
    (re.compile(r"~(?=\d)"), "about "),
    # Dashes (hyphen-minus between spaces, en and em dash) as a pause; a hyphen inside a word stays.
    (re.compile("\\s[-\u2013\u2014]+\\s|[\u2013\u2014]"), ", "),
    # An opening bracket is a short pause; the closing one needs none ("Engineer, C plus plus role").
    (re.compile(r"\s*[(\[{]\s*"), ", "),
    (re.compile(r"\s*[)\]}]"), ""),
    (re.compile(r"(?<=[a-z_])\.(?=[a-z_])"), " dot "),  # identifiers: "asyncio.gather"
    (re.compile(r"[*_`~^|<>\\#=+™®©]+"), " "),  # leftover markup and symbols nobody reads aloud
]
_PUNCTUATION_CLEANUP: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\s+([,.;:!?])(?!\w)"), r"\1"),  # not before ".NET"
    (re.compile(r",+\s*(?=[.;:!?]|$)"), ""),  # "Go),." -> "Go."
    (re.compile(r"(?:,\s*){2,}"), ", "),
    (re.compile(r"^\s*,\s*"), ""),
    (re.compile(r"[ \t]{2,}"), " "),
]


def _split_url(url: str) -> tuple[str, str]:
    """A URL's host (no scheme, no "www.") and the punctuation that followed the URL in the sentence."""
    trailing = ""
    while url and url[-1] in _TRAILING_PUNCT:
        trailing = url[-1] + trailing
        url = url[:-1]
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url, flags=re.IGNORECASE)
    host = re.split(r"[/?#:]", host, maxsplit=1)[0]
    return re.sub(r"^www\.", "", host, flags=re.IGNORECASE), trailing


def _url_host(match: re.Match[str]) -> str:
    # The path of a link is noise when heard; the host tells the listener where to go.
    host, trailing = _split_url(match.group(0))
    return host + trailing


def _keep_spaces(text: str, convert: Callable[[str], str]) -> str:
    # Leading and trailing whitespace is kept: when a TTS service streams tokens, the spaces between
    # pieces matter.
    body = text.strip()
    if not body:
        return text
    body = convert(body)
    if not any(c.isalnum() for c in body):
        return ""
    return text[: len(text) - len(text.lstrip())] + body + text[len(text.rstrip()) :]


def _without_unspeakables(body: str) -> str:
    body = html.unescape(body)
    body = _URL.sub(_url_host, body)
    body = "".join(c for c in body if not _is_emoji_part(c))
    body = _LEFTOVER_MARKUP.sub(" ", body)
    for pattern, replacement in _PUNCTUATION_CLEANUP:
        body = pattern.sub(replacement, body)
    return body.strip()


def _as_spoken(body: str) -> str:
    body = _EMAIL.sub(_say_email, body)
    for pattern, spoken in _TECH_TERMS:
        body = pattern.sub(spoken, body)
    body = _JS_SUFFIX.sub(r"\1 J S", body)
    body = _URL.sub(_say_url, body)
    body = _ABBREVIATION.sub(_say_abbreviation, body)
    body = _VERSION.sub(_say_version, body)
    body = _DOTTED_NUMBER.sub(_say_dotted_number, body)
    body = _MULTIPLIER.sub(_say_multiplier, body)
    body = _ORDINAL.sub(lambda m: ordinal_words(int(m.group(1))), body)
    body = _ROMAN_IN_TITLE.sub(lambda m: number_words(_ROMAN[m.group(1)]), body)
    body = _CAMEL_INITIALISM.sub(_say_camel_initialism, body)
    body = _INITIALISM.sub(_say_initialism, body)
    for pattern, replacement in _SYMBOLS:
        body = pattern.sub(replacement, body)
    for pattern, replacement in _PUNCTUATION_CLEANUP:
        body = pattern.sub(replacement, body)
    return body.strip()


def without_unspeakables(text: str) -> str:
    """`text` (already free of Markdown) without what nobody says: emoji (ZWJ sequences, flags, skin
    tones, keycaps), a link's scheme and path (its host stays), leftover markup characters.

    This is what the interviewer says, so it is also what the transcript and the LLM context record.
    Returns "" when nothing speakable is left (emoji only).
    """
    return _keep_spaces(text, _without_unspeakables)


def as_spoken(text: str) -> str:
    """`text` (see `without_unspeakables`) worded as a person would say it, for the TTS voice only:
    hosts and emails with "dot" and "at", symbols as words, abbreviations expanded, initialisms spelled,
    versions, multipliers, ordinals and Roman numerals in titles as words.
    """
    return _keep_spaces(text, _as_spoken)


def to_spoken(text: str) -> str:
    """Both steps: what a TTS voice is given for `text` once Markdown has been removed."""
    return as_spoken(without_unspeakables(text))


class CodeBlockFilter(BaseTextFilter):
    """Drops fenced code blocks (```), whole or split over several pieces of text.

    Pipecat's MarkdownTextFilter(filter_code=True) looks for the fences only after converting Markdown to
    HTML, which has already turned a block that arrives in one piece into plain text; so this runs first.
    """

    def __init__(self) -> None:
        self._in_block = False

    async def filter(self, text: str) -> str:
        parts = text.split("```")
        kept: list[str] = []
        for index, part in enumerate(parts):
            if index > 0:
                self._in_block = not self._in_block
            if not self._in_block:
                kept.append(part)
        if len(parts) == 1:
            return "".join(kept)  # no fence: unchanged (or dropped, inside a block)
        return " ".join(p.strip() for p in kept if p.strip())

    async def handle_interruption(self) -> None:
        # The rest of an interrupted reply is never spoken, so a new reply starts outside any block.
        self._in_block = False


class SpokenTextFilter(BaseTextFilter):
    """Pipecat text filter: removes what nobody says (`without_unspeakables`).

    Runs after Pipecat's MarkdownTextFilter (see `spoken_text_filters`). Stateless, so interruptions need
    no handling.
    """

    async def filter(self, text: str) -> str:
        return without_unspeakables(text)


async def _say_as_spoken(text: str, _aggregation_type: str | AggregationType) -> str:
    return as_spoken(text)


def spoken_text_filters() -> list[BaseTextFilter]:
    """The text filters every TTS service gets, in order: code blocks, Markdown, then unspeakables.

    Code blocks are dropped (a listener cannot follow code read aloud), and so are tables. Pipecat's
    repeated-sequence rule is off because it also deletes digits ("100000" would become "1"). A new list
    per TTS service: CodeBlockFilter has state.
    """
    markdown = MarkdownTextFilter(
        MarkdownTextFilter.InputParams(filter_tables=True, filter_repeated_sequences=False)
    )
    return [CodeBlockFilter(), markdown, SpokenTextFilter()]


def spoken_text_transforms() -> list[tuple[str | AggregationType, TextTransform]]:
    """The TTS text transforms (Pipecat's `text_transforms`): `as_spoken` for every aggregation type.

    A transform, not a filter, because Pipecat 1.4 builds the TTSTextFrame (and from it the transcript and
    the LLM context) from the filtered text: "Sr. Backend Eng. (C++/Go)" and "REST APIs" stay as typed
    there, while the voice says "Senior Backend Engineer, C plus plus slash Go" and "REST A P I's".
    """
    return [("*", _say_as_spoken)]
