"""Keyed pseudonyms and where the key comes from."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pandas as pd
import pytest

from linkage import KEY_ENV, LinkParams, PseudonymKeyError, keyed_hash, pseudonymise, resolve_key
from linkage.keys import DEV_KEY


@pytest.mark.parametrize("key", [b"0123456789abcdef", b"k" * 100])  # short and longer than a block
def test_keyed_hash_is_hmac_sha256(key: bytes) -> None:
    values = pd.Series(["pnc:09/123456K", "noms:A1234BC", "crn:X123456", "Zoë"])
    expected = ["P" + hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:16] for v in values]
    assert keyed_hash(values, key, "P").tolist() == expected


def test_pseudonym_is_stable_and_depends_on_the_key() -> None:
    canonical = pd.Series(["pnc:09/123456K", "pnc:10/1A"], index=[7, 9])
    first = pseudonymise(canonical, b"a-key-of-16-bytes")
    assert first.tolist() == pseudonymise(canonical, b"a-key-of-16-bytes").tolist()
    assert first.index.tolist() == [7, 9]
    assert first.str.fullmatch(r"P[0-9a-f]{16}").all()
    assert first.iloc[0] != first.iloc[1]
    assert (first != pseudonymise(canonical, b"another-key-16-bytes")).all()


def test_nulls_stay_null() -> None:
    assert pseudonymise(pd.Series(["pnc:1", None]), b"a-key-of-16-bytes").isna().tolist() == [False, True]


def _simulated(tmp_path: Path) -> Path:
    (tmp_path / "_truth").mkdir()
    return tmp_path


def test_key_from_environment_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-the-file-0123456789\n")
    monkeypatch.setenv(KEY_ENV, "from-the-environment-0123")
    params = LinkParams(key_file=key_file, allow_dev_key=True)
    assert resolve_key(params, _simulated(tmp_path)) == b"from-the-environment-0123"


def test_key_from_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-the-file-0123456789\n")
    key_file.chmod(0o600)
    assert resolve_key(LinkParams(key_file=key_file), tmp_path) == b"from-the-file-0123456789"


def test_missing_key_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PseudonymKeyError, match="does not exist"):
        resolve_key(LinkParams(key_file=tmp_path / "absent"), tmp_path)


def test_short_key_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(PseudonymKeyError, match="shorter than"):
        resolve_key(LinkParams(), tmp_path)


def test_dev_key_only_for_a_simulated_extract(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        assert resolve_key(LinkParams(allow_dev_key=True), _simulated(tmp_path)) == DEV_KEY
    assert "DEVELOPMENT PSEUDONYMISATION KEY" in caplog.text


def test_dev_key_refused_for_a_real_extract(tmp_path: Path) -> None:
    with pytest.raises(PseudonymKeyError, match="not a simulated extract") as err:
        resolve_key(LinkParams(allow_dev_key=True), tmp_path)
    assert KEY_ENV in str(err.value)  # tells the data controller how to provide a key


def test_no_key_at_all_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PseudonymKeyError, match=KEY_ENV):
        resolve_key(LinkParams(), _simulated(tmp_path))
