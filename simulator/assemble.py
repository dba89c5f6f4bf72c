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
import pyarrow as pa
import pyarrow.compute as pc

from iom_contract import table
from simulator import ids
from simulator.identity import AGENCIES, IdentityNoise, draw_distractors, draw_true_identity, record_identity
from simulator.world import World

logger = logging.getLogger(__name__)

# Distractors are adults: the youngest is 16 at the extract date.
DISTRACTOR_MIN_AGE_YEARS: Final = 16
# A distractor has no health referral or housing event before the age of 12: donors
# whose history starts before its 12th birthday are passed over.
DISTRACTOR_MIN_EVENT_AGE_YEARS: Final = 12
# How distractors split between the two sources (when both have rows to copy):
# health only, housing only, both.
DISTRACTOR_SOURCE_SHARES: Final = (0.45, 0.35, 0.20)
# Candidate donors per distractor and source (none with rows: no rows in that source).
DISTRACTOR_DONOR_TRIES: Final = 6

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


def _first_record_year(world: World, key: int) -> np.ndarray:
    """Year each person's police record was created.

    The year of their first recorded event, or of an arrest at 10 to 17 (keyed by
    person), whichever is earlier. This does not depend on the extract date, so a later
    extract keeps every PNC ID; the price is that someone under 18 with no event yet
    can carry a PNC year after the extract's (the format allows it). Only such a
    minor whose first event falls between two extracts, before that keyed year, gets
    a different PNC ID in the later extract.
    """
    dated = pd.concat(
        [
            world.offences[["person_id", "offence_date"]].set_axis(["person_id", "date"], axis=1),
            world.custody[["person_id", "reception_date"]].set_axis(["person_id", "date"], axis=1),
            world.orders[["person_id", "start_date"]].set_axis(["person_id", "date"], axis=1),
        ],
        ignore_index=True,
    )
    first = pd.to_datetime(dated["date"]).groupby(dated["person_id"]).min().dt.year
    pid = world.persons["person_id"].to_numpy(dtype=np.int64)
    arrest = pd.DatetimeIndex(world.persons["date_of_birth"]).year.to_numpy() + 10
    arrest = arrest + np.floor(ids.stable_uniform(key, pid, 1) * 8).astype(np.int64)
    from_events = pd.Series(pid).map(first).to_numpy(dtype=float)
    return np.where(np.isnan(from_events), arrest, np.minimum(from_events, arrest)).astype(np.int64)


def _id_map(person_ids: np.ndarray, draw: np.ndarray) -> pd.Series:
    return pd.Series(draw, index=pd.Index(person_ids, name="person_id"), dtype="str")


def _row_keys(df: pd.DataFrame, date: str) -> np.ndarray:
    """A stable key per event row: person, date and rank among that person's same-day rows."""
    day = pd.to_datetime(df[date]).to_numpy(dtype="datetime64[D]").astype(np.int64)
    rank = df.groupby([df["person_id"].to_numpy(), day], sort=False).cumcount().to_numpy()
    return ids.combine_keys(df["person_id"].to_numpy(dtype=np.int64), day, rank)


def _copy_rows(rows: pd.DataFrame, donors: np.ndarray, recipients: np.ndarray) -> pd.DataFrame:
    """Give each recipient all the rows of its donor (``donors[i]`` for ``recipients[i]``)."""
    if rows.empty or len(recipients) == 0:
        return rows.iloc[:0].copy()
    ordered = rows.sort_values("person_id", kind="stable").reset_index(drop=True)
    holders, start, count = np.unique(ordered["person_id"].to_numpy(), return_index=True, return_counts=True)
    at = np.searchsorted(holders, donors)
    found = (at < len(holders)) & (holders[np.minimum(at, len(holders) - 1)] == donors)
    n_rows = np.where(found, count[np.minimum(at, len(holders) - 1)], 0)
    first = start[np.minimum(at, len(holders) - 1)]
    # Row positions of each donor's block, concatenated without a Python loop.
    offsets = np.repeat(first - np.concatenate([[0], np.cumsum(n_rows)[:-1]]), n_rows)
    out = ordered.iloc[np.arange(n_rows.sum()) + offsets].reset_index(drop=True)
    out["person_id"] = np.repeat(recipients, n_rows)
    return out


def _pick_donors(
    first_day: pd.Series,
    everyone: np.ndarray,
    recipients: np.ndarray,
    earliest_day: np.ndarray,
    key: int,
    salt: int,
) -> np.ndarray:
    """A donor with rows for each recipient, or -1.

    Candidates are drawn among ALL real people (a fixed set), keyed by the recipient,
    and the one whose history starts earliest is taken. A later extract only adds
    rows after the earlier extract date, so the same donor wins again and the
    distractor's rows then are a superset of its rows now.

    Parameters
    ----------
    first_day
        Day number of each holder's first row, indexed by person_id.
    everyone
        All real person_ids, sorted.
    recipients
        Distractor person_ids.
    earliest_day
        Per recipient, the first day a copied row may be dated: a donor whose history
        starts earlier is passed over (no referral before the distractor was 12).
    key, salt
        Keyed-draw key and salt.
    """
    none = np.iinfo(np.int64).max
    if len(everyone) == 0 or first_day.empty:
        return np.full(len(recipients), -1, dtype=np.int64)
    cand = np.stack(
        [
            everyone[np.floor(ids.stable_uniform(key, recipients, salt, k) * len(everyone)).astype(np.int64)]
            for k in range(DISTRACTOR_DONOR_TRIES)
        ],
        axis=1,
    )
    at = first_day.index.get_indexer(cand.ravel()).reshape(cand.shape)
    start = np.where(at >= 0, first_day.to_numpy()[np.maximum(at, 0)], none)
    start = np.where(start >= earliest_day[:, None], start, none)
    best = start.argmin(axis=1)  # ties go to the earlier candidate
    rows = np.arange(len(recipients))
    return np.where(start[rows, best] < none, cand[rows, best], -1).astype(np.int64)


def _distractor_events(
    world: World, distractors: pd.DataFrame, key: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Health and housing rows for distractors, copied from real people's histories."""
    pid = distractors["person_id"].to_numpy(dtype=np.int64)
    if len(pid) == 0:
        return world.health.iloc[:0].copy(), world.housing.iloc[:0].copy()
    u = ids.stable_uniform(key, pid, 1)
    health_only, housing_only, _ = DISTRACTOR_SOURCE_SHARES
    in_health = (u < health_only) | (u >= health_only + housing_only)
    in_housing = u >= health_only
    everyone = np.sort(world.persons["person_id"].to_numpy(dtype=np.int64))
    twelfth = pd.DatetimeIndex(distractors["date_of_birth"]) + pd.DateOffset(
        years=DISTRACTOR_MIN_EVENT_AGE_YEARS
    )
    earliest = twelfth.to_numpy(dtype="datetime64[D]").astype(np.int64)
    out = []
    for rows, wanted, salt, date in (
        (world.health, in_health, 2, "referral_date"),
        (world.housing, in_housing, 3, "event_date"),
    ):
        day = pd.to_datetime(rows[date]).to_numpy(dtype="datetime64[D]").astype(np.int64)
        first_day = pd.Series(day).groupby(rows["person_id"].to_numpy()).min()
        donors = _pick_donors(first_day, everyone, pid[wanted], earliest[wanted], key, salt)
        out.append(_copy_rows(rows, donors, pid[wanted]))
    return out[0], out[1]


def _with_identity(rows: pd.DataFrame, recorded: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    aligned = recorded.set_index("person_id").reindex(rows["person_id"].to_numpy())
    out = rows.reset_index(drop=True).copy()
    for c in columns:
        out[c] = aligned[c].to_numpy()
    return out


def _null_some(values: pd.Series, rate: float, row_keys: np.ndarray, key: int) -> pd.Series:
    """Blank a ``rate`` share of rows (a PNC ID not keyed against that episode)."""
    return values.mask(ids.stable_uniform(key, row_keys) < rate)


def _sorted(df: pd.DataFrame, ids: pd.Series, date: str | None = None) -> pd.DataFrame:
    """Order rows by their agency identifier, then ``date``.

    Each person has one identifier per agency, so the string sort runs once per person
    (``ids``: person_id -> identifier) and rows are then ordered by integer keys.
    """
    rank = np.empty(len(ids), dtype=np.int64)
    rank[pc.sort_indices(pa.array(ids.to_numpy(dtype=object), pa.string())).to_numpy()] = np.arange(len(ids))
    row_rank = rank[ids.index.get_indexer(df["person_id"].to_numpy())]
    keys = [row_rank]
    if date is not None:
        keys.insert(0, pd.to_datetime(df[date]).to_numpy(dtype="datetime64[ms]").view(np.int64))
    return df.take(np.lexsort(keys)).reset_index(drop=True)


def assemble_extract(
    world: World,
    noise: IdentityNoise,
    rng: np.random.Generator,
    area: str,
    n_distractors: int,
    n_areas: int = 1,
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
    n_areas
        Areas the extract spans, each with its own postcode districts
        (:func:`simulator.names.postcode_districts`); 1: ``area``'s districts only.

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

    # Every component draws from its own generator, seeded from ``rng`` once, and
    # keys its draws by person or event: a later extract of the same world (more
    # events, more distractors) gives everyone the same identifiers and details.
    seed = ids.draw_key(rng)

    def sub(component: int) -> np.random.Generator:
        return np.random.default_rng([seed, component])

    base = persons[["person_id", "sex", "date_of_birth", "ethnicity"]].copy()
    base["date_of_birth"] = pd.to_datetime(base["date_of_birth"]).astype("datetime64[ms]")
    names_true = draw_true_identity(base, sub(1), area=area, n_areas=n_areas)
    true_real = base.assign(
        forename=names_true["forename"].to_numpy(),
        surname=names_true["surname"].to_numpy(),
        postcode_district=names_true["postcode_district"].to_numpy(),
    )
    distractors = draw_distractors(
        n_distractors,
        sub(2),
        noise.distractor_lookalike_share,
        relatives_of=true_real,
        latest_dob=extract_date - pd.DateOffset(years=DISTRACTOR_MIN_AGE_YEARS),
        area=area,
        n_areas=n_areas,
    )
    true_all = pd.concat([true_real, distractors[true_real.columns]], ignore_index=True)
    dis_health, dis_housing = _distractor_events(world, distractors, ids.draw_key(sub(3)))
    health_rows = pd.concat([world.health, dis_health], ignore_index=True)
    housing_rows = pd.concat([world.housing, dis_housing], ignore_index=True)

    # One identifier per person per agency.
    created = _first_record_year(world, ids.draw_key(sub(4)))
    pnc = _id_map(pid, ids.draw_pnc_ids(created, sub(5), keys=pid))
    in_custody = np.unique(world.custody["person_id"].to_numpy(dtype=np.int64))
    noms = _id_map(in_custody, ids.draw_noms_ids(in_custody, sub(6)))
    on_order = np.unique(world.orders["person_id"].to_numpy(dtype=np.int64))
    crn = _id_map(on_order, ids.draw_crns(on_order, sub(7)))
    in_health = np.unique(health_rows["person_id"].to_numpy(dtype=np.int64))
    health_id = _id_map(in_health, ids.draw_health_ids(in_health, sub(8)))
    in_housing = np.unique(housing_rows["person_id"].to_numpy(dtype=np.int64))
    council_id = _id_map(in_housing, ids.draw_council_ids(in_housing, sub(9)))

    # One recorded identity per person per agency.
    by_pid = true_all.set_index("person_id")

    def recorded(agency: str, people: np.ndarray) -> pd.DataFrame:
        gen = sub(10 + AGENCIES.index(agency))
        return record_identity(
            by_pid.loc[people].reset_index(), agency, noise, gen, area=area, n_areas=n_areas
        )

    police = recorded("police", pid)
    probation = recorded("probation", on_order)
    health = recorded("health", in_health)
    housing = recorded("housing", in_housing)

    details = ("forename", "surname", "date_of_birth", "sex")
    # Each agency's extract is ordered by its own identifier, then date, so row order
    # says nothing about who is who across agencies. Tables are finished one at a time
    # so that only one table's intermediate copies are alive at once (a national run
    # has tens of millions of rows).
    tables: dict[str, pd.DataFrame] = {}

    def finish(name: str, df: pd.DataFrame, agency_ids: pd.Series, date: str | None = None) -> None:
        tables[name] = contract_frame(_sorted(df, agency_ids, date), name)

    nominals = _with_identity(
        pd.DataFrame({"person_id": pid}), police, (*details, "ethnicity", "postcode_district")
    )
    nominals["pnc_id"] = nominals["person_id"].map(pnc).to_numpy()
    finish("police_nominals", nominals, pnc)
    del nominals

    offences = world.offences.reset_index(drop=True).copy()
    offences["pnc_id"] = offences["person_id"].map(pnc).to_numpy()
    offences["offence_id"] = ids.draw_offence_ids(_row_keys(offences, "offence_date"), sub(20))
    finish("police_offences", offences, pnc, "offence_date")
    del offences

    custody = world.custody.reset_index(drop=True).copy()
    custody["noms_id"] = custody["person_id"].map(noms).to_numpy()
    custody["pnc_id"] = _null_some(
        custody["person_id"].map(pnc),
        noise.pnc_missing,
        _row_keys(custody, "reception_date"),
        ids.draw_key(sub(21)),
    ).to_numpy()
    finish("custody_episodes", custody, noms, "reception_date")
    del custody

    orders = _with_identity(world.orders, probation, (*details, "ethnicity"))
    orders["crn"] = orders["person_id"].map(crn).to_numpy()
    orders["pnc_id"] = _null_some(
        orders["person_id"].map(pnc),
        noise.pnc_missing,
        _row_keys(orders, "start_date"),
        ids.draw_key(sub(22)),
    ).to_numpy()
    finish("probation_orders", orders, crn, "start_date")
    del orders

    assessments = world.assessments.reset_index(drop=True).copy()
    assessments["crn"] = assessments["person_id"].map(crn).to_numpy()
    finish("probation_assessments", assessments, crn, "assessment_date")
    del assessments
    contacts = world.contacts.reset_index(drop=True).copy()
    contacts["crn"] = contacts["person_id"].map(crn).to_numpy()
    finish("probation_contacts", contacts, crn, "contact_date")
    del contacts

    health_table = _with_identity(health_rows, health, (*details, "postcode_district"))
    del health_rows
    health_table["health_id"] = health_table["person_id"].map(health_id).to_numpy()
    finish("health_episodes", health_table, health_id, "referral_date")
    del health_table
    housing_table = _with_identity(
        housing_rows, housing, ("forename", "surname", "date_of_birth", "postcode_district")
    )
    del housing_rows
    housing_table["council_id"] = housing_table["person_id"].map(council_id).to_numpy()
    finish("housing_events", housing_table, council_id, "event_date")
    del housing_table

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
