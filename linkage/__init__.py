"""Identity resolution across agencies (Splink) and pseudonymisation: the ``link`` stage core."""

from linkage.core import SOURCES, LinkResult, link_extract
from linkage.keys import KEY_ENV, PseudonymKeyError, keyed_hash, pseudonymise, resolve_key
from linkage.params import LinkParams

__all__ = [
    "KEY_ENV",
    "SOURCES",
    "LinkParams",
    "LinkResult",
    "PseudonymKeyError",
    "keyed_hash",
    "link_extract",
    "pseudonymise",
    "resolve_key",
]
