"""Pseudonyms: keyed hashes of identifiers, and where the key comes from.

A pseudo_id is HMAC-SHA256(key, canonical identifier), e.g. ``pnc:09/123456K``,
truncated to 16 hex characters and prefixed ``P``. Without the key nobody can go from
an identifier to its pseudo_id (a plain hash of a PNC ID could be reversed by hashing
every possible PNC ID); with the same key, the same person gets the same pseudo_id in
every run, so panels can follow a person across extracts.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from iom_config import IomError
from linkage.params import LinkParams

logger = logging.getLogger(__name__)

KEY_ENV = "IOM_PSEUDONYM_KEY"
"""Environment variable holding the pseudonymisation key."""

MIN_KEY_BYTES = 16

DEV_KEY = b"iom-development-key-simulated-extracts-only-NOT-FOR-REAL-DATA"
"""Built-in key for simulated extracts: public, so its pseudonyms protect nothing."""

HEX_CHARS = 16

_HMAC_BLOCK = 64  # SHA-256 block size in bytes (RFC 2104)

_HOW_TO_PROVIDE = (
    "The data controller must provide the pseudonymisation key, either in the environment "
    f"variable {KEY_ENV} (at least {MIN_KEY_BYTES} characters), or in a file named by "
    "`link.key_file` in params.yaml readable only by the pipeline's user (chmod 600). "
    "Generate one with: python -c 'import secrets; print(secrets.token_hex(32))'. "
    "Keep the same key for every extract of the same area, or pseudo_ids will change "
    "between runs; keep it away from the published outputs."
)


class PseudonymKeyError(IomError, RuntimeError):
    """No usable pseudonymisation key was provided."""


def resolve_key(params: LinkParams, extract_dir: Path) -> bytes:
    """Return the pseudonymisation key: environment, then key file, then (simulated only) dev key.

    Parameters
    ----------
    params
        ``key_file`` and ``allow_dev_key`` are read.
    extract_dir
        The extract being linked; the development key is allowed only when it holds the
        simulator's ``_truth/`` folder.

    Raises
    ------
    PseudonymKeyError
        When no key is available, or a key is too short, with instructions for the
        data controller.
    """
    from_env = os.environ.get(KEY_ENV)
    if from_env is not None and from_env.strip():
        key = from_env.strip().encode("utf-8")
        _check_length(key, f"environment variable {KEY_ENV}")
        logger.info("pseudonymisation key from environment variable %s", KEY_ENV)
        return key
    if params.key_file is not None:
        path = Path(params.key_file)
        try:
            key = path.read_bytes().strip()
        except FileNotFoundError:
            raise PseudonymKeyError(
                f"key file {path} (link.key_file) does not exist. {_HOW_TO_PROVIDE}"
            ) from None
        except PermissionError:
            raise PseudonymKeyError(
                f"key file {path} (link.key_file) is not readable. {_HOW_TO_PROVIDE}"
            ) from None
        _check_length(key, f"key file {path}")
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning("key file %s is readable by other users: chmod 600 %s", path, path)
        logger.info("pseudonymisation key from key file %s", path)
        return key
    simulated = (Path(extract_dir) / "_truth").is_dir()
    if params.allow_dev_key and simulated:
        logger.warning(
            "WARNING: USING THE BUILT-IN DEVELOPMENT PSEUDONYMISATION KEY. It is public: "
            "pseudo_ids made with it can be reversed. Allowed only because %s is a simulated "
            "extract (it has a _truth/ folder). Never use it for real data.",
            extract_dir,
        )
        return DEV_KEY
    if params.allow_dev_key:
        raise PseudonymKeyError(
            f"{extract_dir} is not a simulated extract (no _truth/ folder), so the development "
            f"key (link.allow_dev_key) may not be used. {_HOW_TO_PROVIDE}"
        )
    raise PseudonymKeyError(f"no pseudonymisation key. {_HOW_TO_PROVIDE}")


def _check_length(key: bytes, where: str) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"the key in {where} is shorter than {MIN_KEY_BYTES} characters. {_HOW_TO_PROVIDE}"
        )


def keyed_hash(values: pd.Series, key: bytes, prefix: str, n_hex: int = HEX_CHARS) -> pd.Series:
    """HMAC-SHA256 of each string, as ``prefix`` + its first ``n_hex`` hex characters.

    Computed in DuckDB (the RFC 2104 construction over SHA-256), so a million values
    take well under a second; equal to ``hmac.new(key, value.encode(), sha256)``.

    Parameters
    ----------
    values
        Strings to hash (UTF-8); nulls stay null.
    key
        The secret key.
    prefix
        Prepended to the digest, e.g. ``P`` for a person.
    n_hex
        Hex characters of the digest kept (16 = 64 bits: collisions are negligible
        below billions of values).

    Returns
    -------
    pd.Series
        Same index as ``values``.
    """
    if not 1 <= n_hex <= 64:
        raise ValueError("n_hex must be between 1 and 64")
    block = (key if len(key) <= _HMAC_BLOCK else bytes.fromhex(_sha256_hex(key))).ljust(_HMAC_BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in block)
    outer = bytes(b ^ 0x5C for b in block)
    table = pa.table({"v": pa.array(values.astype("str"), type=pa.string(), from_pandas=True)})
    con = duckdb.connect()
    try:
        con.register("values_to_hash", table)
        digests = con.sql(
            "SELECT CASE WHEN v IS NULL THEN NULL "
            "ELSE $prefix || left(sha256($outer || unhex(sha256($inner || encode(v)))), $n) END AS h "
            "FROM values_to_hash",
            params={"prefix": prefix, "outer": outer, "inner": inner, "n": n_hex},
        ).to_arrow_table()
    finally:
        con.close()
    hashed = digests.column("h").to_pandas()
    return pd.Series(hashed.to_numpy(), index=values.index, dtype="str", name=values.name)


def _sha256_hex(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def pseudonymise(canonical: pd.Series, key: bytes) -> pd.Series:
    """pseudo_id of each canonical identifier (``pnc:<id>``, ``noms:<id>``, ``crn:<id>``).

    Examples
    --------
    >>> pseudonymise(pd.Series(["pnc:09/123456K"]), b"0123456789abcdef").str.len().item()
    17
    """
    return keyed_hash(canonical, key, prefix="P")
