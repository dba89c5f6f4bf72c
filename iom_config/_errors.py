"""The project's one exception type for expected failures (a leaf)."""

from __future__ import annotations


class IomError(Exception):
    """An expected failure a person can act on: bad params, a missing input, a broken contract, a key.

    The ``iom`` command prints its message alone and exits with status 2 (the traceback
    only under ``iom --debug``). Subclasses also derive from the built-in type callers
    caught before (``ValueError``, ``RuntimeError``), so existing handlers keep working.
    """
