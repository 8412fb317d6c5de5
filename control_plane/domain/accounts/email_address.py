"""One canonical form of an email address, used for validation, storage, lookup and rate-limit keys alike.

An address is accepted only if it is already in normal form apart from letter case: no surrounding or inner
whitespace, no control characters, and unchanged by Unicode NFKC normalisation (so look-alike spellings
of one address cannot make two accounts or two rate-limit buckets). Its canonical form is the lower-cased
address.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# The pattern documented in the API schema; `fullmatch` (not `$`, which also matches before a final
# newline) is what the server applies.
EMAIL_PATTERN: Final = r"^[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]{1,63}$"
_EMAIL = re.compile(EMAIL_PATTERN.removeprefix("^").removesuffix("$"))


def canonical_email(raw: str) -> str:
    """The canonical (lower-cased) form of `raw`.

    Raises:
        ValueError: `raw` is not an email address in normal form (the message says why).
    """
    if not _EMAIL.fullmatch(raw):
        raise ValueError("Not an email address (name@domain.tld, without spaces)")
    if any(unicodedata.category(char).startswith("C") for char in raw):
        raise ValueError("An email address cannot contain control or invisible characters")
    if unicodedata.normalize("NFKC", raw) != raw:
        raise ValueError("The email address is not in Unicode normal form (NFKC); type it plainly")
    return raw.lower()
