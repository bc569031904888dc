"""Greeting a customer by the name their file gives: "Hi Jane", or formally "Dear Dr Smith".

Customer files hold names as people and systems typed them: "Dr. Jane Smith", "Smith, John",
"MRS ANNA LEE", "anna lee", "J. Smith", an email address. `greeting_names` reads one into the
first name a warm message uses and the name a formal one uses, or empty strings when no
sensible greeting can be made (the drafts then greet without a name). It never guesses a
gender or a title the file does not give.

The mail merge calls it once per customer, so the common case ("Ann Lee") takes a short path.
"""

from __future__ import annotations

import re

MAX_FIRST_NAME = 20  # longer first names are not used as a greeting

# Honorifics, compared without case or a trailing full stop. Written back in their usual form.
TITLES = {
    "mr": "Mr",
    "mrs": "Mrs",
    "ms": "Ms",
    "miss": "Miss",
    "mx": "Mx",
    "dr": "Dr",
    "doctor": "Dr",
    "prof": "Prof",
    "professor": "Professor",
    "sir": "Sir",
    "dame": "Dame",
    "lady": "Lady",
    "lord": "Lord",
    "rev": "Rev",
    "revd": "Revd",
    "fr": "Fr",
    "mme": "Mme",
    "mlle": "Mlle",
    "m": "M",
    "herr": "Herr",
    "frau": "Frau",
    "sr": "Sr",
    "sra": "Sra",
    "srta": "Srta",
}
# Titles that, as the first word of a name, are more often a name or an initial ("M Lee").
_AMBIGUOUS = {"m", "sr"}
SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "dds", "mba", "obe", "mbe", "cbe"}

_WORD = re.compile(r"[^\W\d_]", re.UNICODE)  # a letter
_CAPITAL_AFTER = re.compile(r"(^|[-'’])(\w)")


def _plain(token: str) -> str:
    return token.rstrip(".,").lower()


def _recase(word: str, shout: bool) -> str:
    """`ANNA` -> `Anna` and `o'neil` -> `O'Neil` when the whole name was one case; else as typed."""
    if not shout:
        return word
    lowered = word.lower()
    cased = _CAPITAL_AFTER.sub(lambda m: m.group(1) + m.group(2).upper(), lowered)
    if cased.startswith("Mc") and len(cased) > 2:
        cased = "Mc" + cased[2].upper() + cased[3:]
    return cased


def _usable(word: str) -> bool:
    """A word a person could be greeted by: letters, not an initial, not an address."""
    bare = word.rstrip(".")
    return (
        len(bare) > 1
        and len(bare) <= MAX_FIRST_NAME
        and "@" not in word
        and bool(_WORD.match(bare))
        and not word.endswith(".")
    )


def greeting_names(name: str) -> tuple[str, str]:
    """(first name for "Hi ...", name for "Dear ..."), either empty when there is none.

    "Dr. Jane Smith" -> ("Jane", "Dr Smith"); "Smith, John" -> ("John", "John Smith");
    "MRS ANNA LEE" -> ("Anna", "Mrs Lee"); "Ann Lee" -> ("Ann", "Ann Lee"); "Cher" -> ("Cher",
    "Cher"); "J. Smith" -> ("", "J. Smith"); "ann@example.com" -> ("", "").
    """
    text = " ".join(name.split())
    if not text or "@" in text:
        return "", ""
    if "," in text:
        # "Smith, John" (family name first) or "John Smith, Jr." (a suffix after the comma).
        head, _, tail = text.partition(",")
        tail_words = tail.split()
        if tail_words and not all(_plain(w) in SUFFIXES for w in tail_words):
            text = f"{tail.strip()} {head.strip()}"
        else:
            text = head.strip()
    words = text.split()
    shout = text.isupper() or text.islower()
    title = ""
    if len(words) > 1 and _plain(words[0]) in TITLES:
        plain = _plain(words[0])
        if plain not in _AMBIGUOUS or words[0].endswith("."):
            title = TITLES[plain]
            words = words[1:]
    while len(words) > 1 and _plain(words[-1]) in SUFFIXES:
        words = words[:-1]
    if not words:
        return "", ""
    if (
        len(words) == 1
        and _plain(words[0]) in TITLES
        and words[0][:1].isupper()
        and len(words[0].rstrip(".")) <= 4
    ):
        return "", ""  # "Mr." alone: no name to greet
    words = [_recase(w, shout) for w in words]
    # After a title, a single word is a family name ("Dr Smith"): no first name to use.
    first = words[0] if _usable(words[0]) and not (title and len(words) == 1) else ""
    if title:
        formal = f"{title} {words[-1]}"
    else:
        formal = " ".join(words)
    if len(formal) > 60:
        formal = first
    return first, formal


def first_name(name: str) -> str:
    """The first name to greet by, or an empty string (`greeting_names`, short path first)."""
    first, space, rest = name.partition(" ")
    # The common case: "Ann Lee" (a capitalised word of letters, then more, nothing to untangle).
    if (
        space
        and first.istitle()
        and first.isalpha()
        and len(first) <= MAX_FIRST_NAME
        and rest[:1].isupper()
        and "," not in rest
        and first.lower() not in TITLES
    ):
        return first
    return greeting_names(name)[0]
