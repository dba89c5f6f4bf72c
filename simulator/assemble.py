"""Turn a simulated ``World`` into the contract tables each agency would hand over.

Each agency sees people only through its own identifier and its own recorded identity:
police a PNC ID for every person, prison a NOMIS number for everyone with a custody
episode, probation a CRN for everyone with an order, health and council a local
reference for everyone with a referral or housing event. Distractors (people never
known to police) appear only in health and housing.
"""

from __future__ import annotations

import logging
from typing import Final

import numpy as np
import pandas as pd

from simulator import ids
from simulator.identity import IdentityNoise, draw_distractors, draw_true_identity, record_identity
from simulator.world import World
from validation.contract import table

logger = logging.getLogger(__name__)

# Distractors are adults: the youngest is 16 at the extract date.
DISTRACTOR_MIN_AGE_YEARS: Final = 16
# A health referral or housing event is not recorded for a child under 12; donor rows
# dated before a distractor's 12th birthday are dropped.
DISTRACTOR_MIN_EVENT_AGE_YEARS: Final = 12
# How distractors split between the two sources (when both have rows to copy):
# health only, housing only, both.
DISTRACTOR_SOURCE_SHARES: Final = (0.45, 0.35, 0.20)

TRUTH_PERSON_COLUMNS: Final = (
    "person_id",
    "typology",
    "sex",
    "ethnicity",
    "date_of_birth",
    "forename",
    "surname",
    "postcode_district",
    "frailty",
    "recording_bias",
    "is_distractor",
)


def contract_frame(df: pd.DataFrame, table_name: str) -> pd.DataFrame:
    """Select the contract columns of ``table_name`` in contract order, with contract dtypes.

    Dates become ``datetime64[ms]``; ints ``int64`` (``Int64`` when nullable); bools
    ``bool`` (``boolean`` when nullable); strings and categories pandas ``str``.

    Raises
    ------
    ValueError
        When a contract column is missing, or a required int/bool column has nulls.
    """
    tbl = table(table_name)
    missing = [c for c in tbl.column_names if c not in df]
    if missing:
        raise ValueError(f"{table_name}: missing column(s) {', '.join(missing)}")
    out = {}
    for col in tbl.columns:
        s = df[col.name]
        if col.kind == "date":
            out[col.name] = pd.to_datetime(s).astype("datetime64[ms]")
        elif col.kind == "int":
            out[col.name] = s.astype("Int64") if col.nullable else _required(s, table_name, col.name, "int64")
        elif col.kind == "bool":
            out[col.name] = (
                s.astype("boolean") if col.nullable else _required(s, table_name, col.name, "bool")
            )
        else:
            out[col.name] = s.astype("str")
    return pd.DataFrame(out, index=df.index).reset_index(drop=True)


def _required(s: pd.Series, table_name: str, column: str, dtype: str) -> pd.Series:
    if s.isna().any():
        raise ValueError(f"{table_name}.{column} is required but has {int(s.isna().sum())} null value(s)")
    return s.astype(dtype)


def _check_world(world: World) -> None:
    known = pd.Index(world.persons["person_id"])
    if not known.is_unique:
        raise ValueError("world.persons has repeated person_id values")
    frames = {
        "offences": world.offences,
        "custody": world.custody,
        "orders": world.orders,
        "assessments": world.assessments,
        "contacts": world.contacts,
        "health": world.health,
        "housing": world.housing,
    }
    problems = [
        f"world.{name}: {int((~frame['person_id'].isin(known)).sum())} row(s) for unknown person_id"
        for name, frame in frames.items()
        if (~frame["person_id"].isin(known)).any()
    ]
    # Assessments and contacts are filed under a CRN, which only an order creates.
    with_order = pd.Index(world.orders["person_id"].unique())
    for name in ("assessments", "contacts"):
        orphan = ~frames[name]["person_id"].isin(with_order)
        if orphan.any():
            problems.append(f"world.{name}: {int(orphan.sum())} row(s) for people with no probation order")
    if problems:
        raise ValueError("the world cannot be assembled into a clean extract:\n  " + "\n  ".join(problems))


def _first_record_year(world: World) -> np.ndarray:
    """Year each person's police record was created: their earliest recorded event."""
    dated = pd.concat(
        [
            world.offences[["person_id", "offence_date"]].set_axis(["person_id", "date"], axis=1),
            world.custody[["person_id", "reception_date"]].set_axis(["person_id", "date"], axis=1),
            world.orders[["person_id", "start_date"]].set_axis(["person_id", "date"], axis=1),
        ],
        ignore_index=True,
    )
    first = pd.to_datetime(dated["date"]).groupby(dated["person_id"]).min()
    years = pd.Series(world.persons["person_id"].to_numpy()).map(first.dt.year)
    return years.fillna(pd.Timestamp(world.extract_date).year).to_numpy(dtype=np.int64)


def _id_map(person_ids: np.ndarray, draw: np.ndarray) -> pd.Series:
    return pd.Series(draw, index=pd.Index(person_ids, name="person_id"), dtype="str")


def _copy_donor_rows(rows: pd.DataFrame, recipients: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Give each recipient all the rows of a randomly chosen person who has rows."""
    if rows.empty or len(recipients) == 0:
        return rows.iloc[:0].copy()
    ordered = rows.sort_values("person_id", kind="stable").reset_index(drop=True)
    donors, start, count = np.unique(ordered["person_id"].to_numpy(), return_index=True, return_counts=True)
    pick = rng.integers(0, len(donors), size=len(recipients))
    n_rows = count[pick]
    # Row positions of each chosen donor's block, concatenated without a Python loop.
    offsets = np.repeat(start[pick] - np.concatenate([[0], np.cumsum(n_rows)[:-1]]), n_rows)
    positions = np.arange(n_rows.sum()) + offsets
    out = ordered.iloc[positions].reset_index(drop=True)
    out["person_id"] = np.repeat(recipients, n_rows)
    return out


def _distractor_events(
    world: World, distractors: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Health and housing rows for distractors, copied from real people's histories."""
    n = len(distractors)
    if n == 0:
        return world.health.iloc[:0].copy(), world.housing.iloc[:0].copy()
    u = rng.random(n)
    health_only, housing_only, _ = DISTRACTOR_SOURCE_SHARES
    in_health = (u < health_only) | (u >= health_only + housing_only)
    in_housing = u >= health_only
    if world.health.empty:
        in_health, in_housing = np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    elif world.housing.empty:
        in_health, in_housing = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    pid = distractors["person_id"].to_numpy(dtype=np.int64)
    health = _copy_donor_rows(world.health, pid[in_health], rng)
    housing = _copy_donor_rows(world.housing, pid[in_housing], rng)
    earliest = pd.Series(
        (
            pd.DatetimeIndex(distractors["date_of_birth"])
            + pd.DateOffset(years=DISTRACTOR_MIN_EVENT_AGE_YEARS)
        ),
        index=pid,
    )
    health = health[pd.to_datetime(health["referral_date"]) >= health["person_id"].map(earliest)]
    housing = housing[pd.to_datetime(housing["event_date"]) >= housing["person_id"].map(earliest)]
    return health.reset_index(drop=True), housing.reset_index(drop=True)


def _with_identity(rows: pd.DataFrame, recorded: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    aligned = recorded.set_index("person_id").reindex(rows["person_id"].to_numpy())
    out = rows.reset_index(drop=True).copy()
    for c in columns:
        out[c] = aligned[c].to_numpy()
    return out


def _null_some(values: pd.Series, rate: float, rng: np.random.Generator) -> pd.Series:
    """Blank a ``rate`` share of rows (a PNC ID not keyed against that episode)."""
    return values.mask(rng.random(len(values)) < rate)


def _sorted(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return df.sort_values(by, kind="stable").reset_index(drop=True)


def assemble_extract(
    world: World,
    noise: IdentityNoise,
    rng: np.random.Generator,
    area: str,
    n_distractors: int,
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Build the contract tables and the truth frames from a simulated world.

    Parameters
    ----------
    world
        The simulated people and events.
    noise
        Identity-recording error rates, the per-row ``pnc_missing`` rate and the
        distractors' look-alike share.
    rng
        Source of randomness.
    area
        Area whose postcode districts are used (see :mod:`simulator.names`).
    n_distractors
        People to add who are in health or housing records but not known to police.

    Returns
    -------
    tuple
        ``(tables, truth)``. ``tables`` maps each required contract table name to a
        typed frame with exactly the contract's columns in order (see
        :func:`contract_frame`); ``truth`` has ``persons`` and ``identities`` as
        described in ``docs/interfaces.md``.

    Raises
    ------
    ValueError
        When the world has events for unknown people, or assessments/contacts for
        people with no probation order.
    """
    _check_world(world)
    extract_date = pd.Timestamp(world.extract_date).normalize()
    persons = world.persons.reset_index(drop=True)
    pid = persons["person_id"].to_numpy(dtype=np.int64)

    base = persons[["person_id", "sex", "date_of_birth", "ethnicity"]].copy()
    base["date_of_birth"] = pd.to_datetime(base["date_of_birth"]).astype("datetime64[ms]")
    names_true = draw_true_identity(base, rng, area=area)
    true_real = base.assign(
        forename=names_true["forename"].to_numpy(),
        surname=names_true["surname"].to_numpy(),
        postcode_district=names_true["postcode_district"].to_numpy(),
    )
    distractors = draw_distractors(
        n_distractors,
        rng,
        noise.distractor_lookalike_share,
        relatives_of=true_real,
        latest_dob=extract_date - pd.DateOffset(years=DISTRACTOR_MIN_AGE_YEARS),
        area=area,
    )
    true_all = pd.concat([true_real, distractors[true_real.columns]], ignore_index=True)
    dis_health, dis_housing = _distractor_events(world, distractors, rng)
    health_rows = pd.concat([world.health, dis_health], ignore_index=True)
    housing_rows = pd.concat([world.housing, dis_housing], ignore_index=True)

    # One identifier per person per agency.
    pnc = _id_map(pid, ids.draw_pnc_ids(_first_record_year(world), rng))
    in_custody = np.unique(world.custody["person_id"].to_numpy(dtype=np.int64))
    noms = _id_map(in_custody, ids.draw_noms_ids(len(in_custody), rng))
    on_order = np.unique(world.orders["person_id"].to_numpy(dtype=np.int64))
    crn = _id_map(on_order, ids.draw_crns(len(on_order), rng))
    in_health = np.unique(health_rows["person_id"].to_numpy(dtype=np.int64))
    health_id = _id_map(in_health, ids.draw_health_ids(len(in_health), rng))
    in_housing = np.unique(housing_rows["person_id"].to_numpy(dtype=np.int64))
    council_id = _id_map(in_housing, ids.draw_council_ids(len(in_housing), rng))

    # One recorded identity per person per agency.
    by_pid = true_all.set_index("person_id")

    def recorded(agency: str, people: np.ndarray) -> pd.DataFrame:
        return record_identity(by_pid.loc[people].reset_index(), agency, noise, rng, area=area)

    police = recorded("police", pid)
    probation = recorded("probation", on_order)
    health = recorded("health", in_health)
    housing = recorded("housing", in_housing)

    details = ("forename", "surname", "date_of_birth", "sex")
    nominals = _with_identity(
        pd.DataFrame({"person_id": pid}), police, (*details, "ethnicity", "postcode_district")
    )
    nominals["pnc_id"] = nominals["person_id"].map(pnc).to_numpy()

    offences = world.offences.reset_index(drop=True).copy()
    offences["pnc_id"] = offences["person_id"].map(pnc).to_numpy()
    offences["offence_id"] = ids.draw_offence_ids(len(offences), rng)

    custody = world.custody.reset_index(drop=True).copy()
    custody["noms_id"] = custody["person_id"].map(noms).to_numpy()
    custody["pnc_id"] = _null_some(custody["person_id"].map(pnc), noise.pnc_missing, rng).to_numpy()

    orders = _with_identity(world.orders, probation, (*details, "ethnicity"))
    orders["crn"] = orders["person_id"].map(crn).to_numpy()
    orders["pnc_id"] = _null_some(orders["person_id"].map(pnc), noise.pnc_missing, rng).to_numpy()

    assessments = world.assessments.reset_index(drop=True).copy()
    assessments["crn"] = assessments["person_id"].map(crn).to_numpy()
    contacts = world.contacts.reset_index(drop=True).copy()
    contacts["crn"] = contacts["person_id"].map(crn).to_numpy()

    health_table = _with_identity(health_rows, health, (*details, "postcode_district"))
    health_table["health_id"] = health_table["person_id"].map(health_id).to_numpy()
    housing_table = _with_identity(
        housing_rows, housing, ("forename", "surname", "date_of_birth", "postcode_district")
    )
    housing_table["council_id"] = housing_table["person_id"].map(council_id).to_numpy()

    # Each agency's extract is ordered by its own identifier, then date, so row order
    # says nothing about who is who across agencies.
    tables = {
        "police_nominals": _sorted(nominals, ["pnc_id"]),
        "police_offences": _sorted(offences, ["pnc_id", "offence_date", "offence_id"]),
        "custody_episodes": _sorted(custody, ["noms_id", "reception_date"]),
        "probation_orders": _sorted(orders, ["crn", "start_date"]),
        "probation_assessments": _sorted(assessments, ["crn", "assessment_date"]),
        "probation_contacts": _sorted(contacts, ["crn", "contact_date"]),
        "health_episodes": _sorted(health_table, ["health_id", "referral_date"]),
        "housing_events": _sorted(housing_table, ["council_id", "event_date"]),
    }
    tables = {name: contract_frame(df, name) for name, df in tables.items()}

    truth = {
        "persons": _truth_persons(persons, true_real, distractors),
        "identities": _truth_identities(
            {
                "police": pnc,
                "prison": noms,
                "probation": crn,
                "health": health_id,
                "housing": council_id,
            }
        ),
    }
    logger.info(
        "assembled %s",
        ", ".join(f"{name} {len(df):,}" for name, df in tables.items()),
    )
    return tables, truth


def _truth_persons(persons: pd.DataFrame, true_real: pd.DataFrame, distractors: pd.DataFrame) -> pd.DataFrame:
    real = true_real.assign(
        typology=persons["typology"].astype("str").to_numpy(),
        frailty=persons["frailty"].astype("float64").to_numpy(),
        recording_bias=persons["recording_bias"].astype("bool").to_numpy(),
        is_distractor=False,
    )
    fake = distractors.drop(columns="lookalike_of").assign(
        typology=pd.Series(pd.NA, index=distractors.index, dtype="str"),
        frailty=np.nan,
        recording_bias=False,
        is_distractor=True,
    )
    out = pd.concat([real, fake], ignore_index=True)[list(TRUTH_PERSON_COLUMNS)]
    return out.astype(
        {
            "person_id": "int64",
            "typology": "str",
            "sex": "str",
            "ethnicity": "str",
            "date_of_birth": "datetime64[ms]",
            "forename": "str",
            "surname": "str",
            "postcode_district": "str",
            "frailty": "float64",
            "recording_bias": "bool",
            "is_distractor": "bool",
        }
    )


def _truth_identities(maps: dict[str, pd.Series]) -> pd.DataFrame:
    parts = [
        pd.DataFrame(
            {
                "person_id": m.index.to_numpy(dtype=np.int64),
                "source": pd.array(np.full(len(m), source, dtype=object), dtype="str"),
                "source_id": pd.array(m.to_numpy(), dtype="str"),
            }
        )
        for source, m in maps.items()
    ]
    return pd.concat(parts, ignore_index=True)
