"""Identity resolution across agencies (Splink) and pseudonymisation: the ``link`` stage core."""

from linkage.core import IDENTITY_COLUMNS, SOURCES, LinkResult, link_extract, link_identities
from linkage.keys import KEY_ENV, PseudonymKeyError, keyed_hash, pseudonymise, resolve_key
from linkage.params import LinkParams
from linkage.tables import LINKED_TABLES, linked_table, write_linked_table

__all__ = [
    "IDENTITY_COLUMNS",
    "KEY_ENV",
    "LINKED_TABLES",
    "SOURCES",
    "LinkParams",
    "LinkResult",
    "PseudonymKeyError",
    "keyed_hash",
    "link_extract",
    "link_identities",
    "linked_table",
    "pseudonymise",
    "resolve_key",
    "write_linked_table",
]
