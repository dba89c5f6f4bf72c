"""Encoding linked tables (features.encode)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from features_testkit import build, linked, qualifying, row

from features import LinkedTablesError, encode_tables
from features.encode import _sort_order


def test_persons_and_offences_are_required():
    tables = linked(offences=[qualifying("a")])
    with pytest.raises(LinkedTablesError, match="offences"):
        encode_tables({"persons": tables["persons"]})
    with pytest.raises(LinkedTablesError, match="lacks column"):
        encode_tables({**tables, "offences": tables["offences"].drop(columns="gravity")})


def test_missing_optional_tables_are_empty():
    tables = linked(offences=[qualifying("a")])
    f = build({"persons": tables["persons"], "offences": tables["offences"]})
    a = row(f, "a")
    assert not a["known_to_health"] and a["n_custody_episodes_all"] == 0


def test_duplicate_person_is_an_error():
    tables = linked(offences=[qualifying("a")])
    persons = pd.concat([tables["persons"], tables["persons"]], ignore_index=True)
    with pytest.raises(LinkedTablesError, match="repeats"):
        encode_tables({**tables, "persons": persons})


def test_rows_of_unknown_people_are_ignored_with_a_warning(caplog):
    tables = linked(offences=[qualifying("a"), qualifying("ghost")])
    persons = tables["persons"][tables["persons"]["pseudo_id"] == "a"]
    with caplog.at_level(logging.WARNING):
        enc = encode_tables({**tables, "persons": persons})
    assert list(enc.pseudo_id) == ["a"]
    assert len(enc.tables["offences"]["code"]) == 1
    assert "not in persons" in caplog.text


def test_sort_order_is_by_person_then_day_with_ties_in_input_order():
    code = np.array([1, 0, 1, 0, 1], dtype=np.int64)
    day = np.array([5, 9, -20000, 9, 5], dtype=np.int64)
    assert list(_sort_order(code, day)) == [1, 3, 2, 0, 4]


def test_categorical_and_object_inputs_are_accepted():
    tables = linked(offences=[qualifying("a")])
    off = tables["offences"].copy()
    off["offence_group"] = off["offence_group"].astype("category")
    off["pseudo_id"] = off["pseudo_id"].astype(pd.CategoricalDtype(["zz", "a"]))
    persons = tables["persons"].astype({"pseudo_id": object})
    a = row(build({**tables, "persons": persons, "offences": off}), "a")
    assert a["n_proven_theft_all"] == 1
