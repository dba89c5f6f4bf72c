"""Cleaning names, Soundex, recorded identities and derived linkage keys."""

from __future__ import annotations

import pandas as pd
import pytest

from linkage.standardise import clean_name, formal_forenames, linkage_keys, recorded_identity, soundex


def test_clean_name_strips_accents_punctuation_and_case() -> None:
    names = pd.Series(["O'Brien-Smith", "  Zoë ", "", None, "John Paul"], dtype="string")
    assert clean_name(names).iloc[:2].tolist() == ["obriensmith", "zoe"]
    assert clean_name(names, first_token=True).iloc[4] == "john"
    assert clean_name(names).iloc[4] == "johnpaul"
    assert clean_name(names).isna().tolist() == [False, False, True, True, False]


@pytest.mark.parametrize(
    ("name", "code"),
    [("robert", "R163"), ("rupert", "R163"), ("ashcraft", "A261"), ("tymczak", "T522"), ("lee", "L000"),
     ("pfister", "P236"), ("honeyman", "H555")],
)  # fmt: skip
def test_soundex_known_codes(name: str, code: str) -> None:
    assert soundex(pd.Series([name], dtype="str")).item() == code


def test_formal_forenames_maps_nicknames_and_keeps_unknown_names() -> None:
    out = formal_forenames(pd.Series(["bill", "chris", "zebedee", None], dtype="str"))
    assert out.iloc[0] == "william"
    assert out.iloc[1] == "christian|christine|christopher"
    assert out.iloc[2] == "zebedee"
    assert pd.isna(out.iloc[3])


def test_recorded_identity_takes_the_modal_value_and_breaks_ties_by_recency() -> None:
    rows = pd.DataFrame(
        {
            "health_id": ["H1", "H1", "H1", "H2", "H2"],
            "forename": pd.array(["Bill", "William", "Bill", "Ann", "Anne"], dtype="string"),
            "surname": pd.array([None, "Smith", None, "Lee", None], dtype="string"),
            "source_row": [1, 2, 3, 4, 5],
        }
    )
    original = rows.copy()
    out = recorded_identity(rows, "health_id").set_index("health_id")
    assert out.loc["H1", "forename"] == "Bill"  # 2 of 3 rows
    assert out.loc["H1", "surname"] == "Smith"  # the only recorded value
    assert out.loc["H2", "forename"] == "Anne"  # a tie: the later row wins
    assert out.loc["H1", "n_rows"] == 3
    pd.testing.assert_frame_equal(rows, original)  # the caller's frame is untouched


def test_linkage_keys_day_month_swap_shares_unordered_dob() -> None:
    ids = pd.DataFrame(
        {
            "unique_id": ["a", "b", "c"],
            "forename": pd.array(["Bill", "William", None], dtype="string"),
            "date_of_birth": pd.to_datetime(["1985-04-09", "1985-09-04", None]).astype("datetime64[ms]"),
            "sex": pd.array(["M", "U", None], dtype="string"),
            "postcode_district": pd.array(["st4 ", "L36", None], dtype="string"),
        }
    )
    keys = linkage_keys(ids)
    assert keys.loc[0, "dob_unordered"] == keys.loc[1, "dob_unordered"] == "1985-04-09"
    assert keys.loc[0, "dob_str"] != keys.loc[1, "dob_str"]
    assert keys.loc[0, "forename_key"] == keys.loc[1, "forename_key"] == "william"
    assert keys.loc[0, "postcode_district"] == "ST4"
    assert keys.loc[0, "postcode_area"] == "ST"
    assert keys["sex"].isna().tolist() == [False, True, True]  # U is "not recorded"
    assert keys["surname_std"].isna().all()  # a source without surnames
    assert pd.isna(keys.loc[2, "dob_unordered"])
