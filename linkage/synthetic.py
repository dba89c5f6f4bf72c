"""A synthetic identity set with real-system recording errors, for benchmarks and tests.

Not the project simulator (``simulator``): this draws only what linkage needs
(nominals, prison, probation, health and housing rows with personal details and a
truth table) at any scale, fast, so linkage can be measured and benchmarked alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import iom_contract as contract
from linkage.nicknames import NICKNAMES
from validation.parsing import TYPED_DTYPES

_MALE = (
    "william",
    "james",
    "john",
    "david",
    "michael",
    "robert",
    "richard",
    "thomas",
    "christopher",
    "daniel",
    "matthew",
    "andrew",
    "anthony",
    "mark",
    "paul",
    "steven",
    "stephen",
    "peter",
    "joseph",
    "jonathan",
    "nicholas",
    "benjamin",
    "samuel",
    "jack",
    "harry",
    "connor",
    "kyle",
    "ryan",
    "jordan",
    "lee",
    "dean",
    "craig",
    "wayne",
    "darren",
    "jason",
    "shane",
    "karl",
    "carl",
    "kevin",
    "gary",
    "ian",
    "neil",
    "scott",
    "jamie",
    "callum",
    "liam",
    "nathan",
    "adam",
    "aaron",
    "mohammed",
    "ahmed",
    "ali",
    "hassan",
    "imran",
    "tariq",
    "kwame",
    "kofi",
    "tyrone",
    "marcus",
    "leon",
    "reece",
    "brandon",
    "bradley",
    "charles",
    "edward",
    "george",
    "henry",
    "frederick",
    "alexander",
    "patrick",
    "terence",
    "kenneth",
    "raymond",
    "philip",
    "oliver",
    "joshua",
    "dominic",
    "vincent",
    "gregory",
    "douglas",
    "timothy",
    "lawrence",
    "leonard",
    "ronald",
)
_FEMALE = (
    "elizabeth",
    "margaret",
    "sarah",
    "rebecca",
    "jennifer",
    "jessica",
    "catherine",
    "victoria",
    "samantha",
    "nicola",
    "emma",
    "charlotte",
    "alexandra",
    "susan",
    "deborah",
    "patricia",
    "christine",
    "jacqueline",
    "gillian",
    "kimberley",
    "stephanie",
    "abigail",
    "eleanor",
    "emily",
    "lisa",
    "kelly",
    "donna",
    "tracey",
    "michelle",
    "claire",
    "laura",
    "amy",
    "hannah",
    "chloe",
    "jade",
    "leanne",
    "stacey",
    "gemma",
    "natalie",
    "zoe",
    "amber",
    "shannon",
    "aisha",
    "fatima",
    "ayesha",
    "priya",
    "chantelle",
    "keisha",
    "danielle",
    "louise",
    "joanne",
    "karen",
    "julie",
    "dawn",
    "angela",
    "janet",
    "barbara",
    "theresa",
    "frances",
    "harriet",
    "valerie",
)
_SURNAMES = (
    "smith", "jones", "williams", "taylor", "brown", "davies", "evans", "wilson", "thomas",
    "johnson", "roberts", "robinson", "thompson", "wright", "walker", "white", "edwards",
    "hughes", "green", "hall", "lewis", "harris", "clarke", "patel", "jackson", "wood", "turner",
    "martin", "cooper", "hill", "ward", "morris", "moore", "clark", "lee", "king", "baker",
    "harrison", "morgan", "allen", "james", "scott", "phillips", "watson", "davis", "parker",
    "price", "bennett", "young", "griffiths", "mitchell", "kelly", "cook", "carter", "richardson",
    "bailey", "collins", "bell", "shaw", "murphy", "miller", "cox", "richards", "khan", "marshall",
    "anderson", "simpson", "ellis", "adams", "singh", "begum", "wilkinson", "foster", "chapman",
    "powell", "webb", "rogers", "gray", "mason", "ali", "hunt", "hussain", "campbell", "matthews",
    "owen", "palmer", "holmes", "mills", "barnes", "knight", "lloyd", "butler", "russell",
    "barker", "fisher", "stevens", "jenkins", "murray", "dixon", "harvey", "graham", "pearson",
    "ahmed", "fletcher", "walsh", "kaur", "gibson", "howard", "andrews", "stewart", "elliott",
    "reynolds", "saunders", "payne", "fox", "ford", "pearce", "day", "brooks", "west", "lawrence",
    "cole", "atkinson", "bradley", "spencer", "gill", "dawson", "ball", "burton", "obrien",
    "watts", "rose", "booth", "perry", "ryan", "grant", "wells", "armstrong", "francis", "rees",
    "hayes", "hart", "hudson", "newman", "barrett", "webster", "hunter", "gregory", "carr",
    "lowe", "page", "marsh", "riley", "dunn", "woods", "parsons", "berry", "stone", "reid",
    "holland", "hawkins", "harding", "porter", "robertson", "newton", "oliver", "reed",
    "kennedy", "williamson", "bird", "gardner", "shah", "dean", "lane", "cooke", "bates",
    "henderson", "parry", "burgess", "bishop", "walton", "burns", "nicholson", "shepherd",
    "ross", "cross", "long", "freeman", "warren", "nicholls", "hamilton", "byrne", "sutton",
    "mcdonald", "yates", "hodgson", "robson", "curtis", "hopkins", "oconnor", "harper",
    "coleman", "watkins", "moss", "mccarthy", "chambers", "obrien", "griffin", "sharp",
    "hardy", "wheeler", "potter", "osborne", "johnston", "gordon", "doyle", "wallace", "george",
)  # fmt: skip
_SYLLABLES = (
    "ash", "bar", "brad", "brook", "bur", "cal", "car", "chad", "dal", "don", "dun", "fair",
    "far", "gar", "glen", "hal", "ham", "har", "hay", "hol", "kirk", "lang", "lin", "mar",
    "mel", "mor", "nor", "pen", "ram", "rad", "ros", "shel", "stan", "stock", "thorn", "tre",
    "wal", "war", "wes", "whit", "wil", "win", "wor", "york",
)  # fmt: skip
_ENDINGS = (
    "by", "ton", "ley", "well", "worth", "ford", "field", "ham", "wood", "son", "er", "man",
    "ridge", "combe", "stead", "wick", "more", "den", "ling", "ett",
)  # fmt: skip
_DISTRICTS = tuple(
    [f"L{i}" for i in range(1, 41)] + [f"ST{i}" for i in range(1, 22)] + [f"M{i}" for i in range(1, 35)]
)
_ETHNICITY = ("White", "Black", "Asian", "Mixed", "Other", "Not stated")
_ETHNICITY_P = (0.78, 0.06, 0.08, 0.04, 0.02, 0.02)
_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


@dataclass(frozen=True)
class Noise:
    """Rates of recording errors in an agency's copy of a person's details."""

    nickname: float = 0.12
    forename_typo: float = 0.04
    surname_typo: float = 0.04
    maiden: float = 0.06
    forename_missing: float = 0.02
    surname_missing: float = 0.02
    dob_missing: float = 0.10
    dob_swap: float = 0.03
    dob_typo: float = 0.03
    postcode_moved: float = 0.25
    postcode_missing: float = 0.08
    sex_missing: float = 0.05


POLICE_NOISE = Noise(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.05, 0.0)
PROBATION_NOISE = Noise(0.05, 0.01, 0.01, 0.02, 0.0, 0.0, 0.0, 0.01, 0.01, 0.15, 0.05, 0.0)


def _zipf_choice(values: tuple[str, ...], n: int, rng: np.random.Generator, a: float = 1.0) -> np.ndarray:
    weights = 1.0 / np.arange(1, len(values) + 1) ** a
    return np.asarray(values)[rng.choice(len(values), size=n, p=weights / weights.sum())]


def _surnames(n: int, rng: np.random.Generator) -> np.ndarray:
    # Two thirds common British surnames, one third a long tail of rarer compound names.
    common = _zipf_choice(_SURNAMES, n, rng, a=0.7)
    rare = (
        np.asarray(_SYLLABLES)[rng.integers(0, len(_SYLLABLES), n)].astype(object)
        + np.asarray(_SYLLABLES)[rng.integers(0, len(_SYLLABLES), n)].astype(object)
        + np.asarray(_ENDINGS)[rng.integers(0, len(_ENDINGS), n)].astype(object)
    )
    return np.where(rng.random(n) < 2 / 3, common, rare)


def draw_people(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Draw ``n`` people: person_id, forename, surname, date_of_birth, sex, ethnicity, postcode."""
    sex = np.where(rng.random(n) < 0.8, "M", "F")
    forename = np.where(sex == "M", _zipf_choice(_MALE, n, rng, 0.6), _zipf_choice(_FEMALE, n, rng, 0.6))
    dob = pd.Timestamp("1955-01-01") + pd.to_timedelta(rng.integers(0, 50 * 365, n), unit="D")
    return pd.DataFrame(
        {
            "person_id": np.arange(n, dtype="int64"),
            "forename": pd.array(forename, dtype="str"),
            "surname": pd.array(_surnames(n, rng), dtype="str"),
            "date_of_birth": dob.astype("datetime64[ms]"),
            "sex": pd.array(sex, dtype="str"),
            "ethnicity": pd.array(rng.choice(_ETHNICITY, n, p=_ETHNICITY_P), dtype="str"),
            "postcode_district": pd.array(rng.choice(_DISTRICTS, n), dtype="str"),
        }
    )


def _typo(names: pd.Series, hit: np.ndarray, rng: np.random.Generator) -> pd.Series:
    """Substitute, delete or transpose one character of the names where ``hit``."""
    out = names.copy()
    length = names.str.len().fillna(0).to_numpy(dtype=int)
    hit = hit & (length >= 3)
    pos = np.minimum(rng.integers(1, np.maximum(length, 2)), np.maximum(length - 2, 1))
    kind = rng.integers(0, 3, len(names))
    letter = pd.Series(_LETTERS[rng.integers(0, 26, len(names))], index=names.index, dtype="str")
    for p in np.unique(pos[hit]):
        for k in range(3):
            rows = hit & (pos == p) & (kind == k)
            if not rows.any():
                continue
            s = names[rows]
            head, tail = s.str.slice(0, int(p)), s.str.slice(int(p) + 1)
            if k == 0:
                out[rows] = head + letter[rows] + tail
            elif k == 1:
                out[rows] = head + tail
            else:
                out[rows] = (
                    head
                    + s.str.slice(int(p) + 1, int(p) + 2)
                    + s.str.slice(int(p), int(p) + 1)
                    + s.str.slice(int(p) + 2)
                )
    return out


def _nicknames(forenames: pd.Series, hit: np.ndarray, rng: np.random.Generator) -> pd.Series:
    variants = pd.DataFrame(
        [(formal, i, v) for formal, vs in NICKNAMES.items() for i, v in enumerate(vs)],
        columns=["formal", "k", "variant"],
    )
    n_variants = variants.groupby("formal").size()
    n = forenames.map(n_variants).fillna(0).to_numpy(dtype=int)
    k = (rng.random(len(forenames)) * np.maximum(n, 1)).astype(int)
    key = pd.DataFrame({"formal": forenames.to_numpy(), "k": k})
    picked = key.merge(variants, on=["formal", "k"], how="left")["variant"].to_numpy()
    use = hit & (n > 0)
    return forenames.where(~use, pd.Series(picked, index=forenames.index, dtype="str"))


def recorded_copy(people: pd.DataFrame, noise: Noise, rng: np.random.Generator) -> pd.DataFrame:
    """An agency's copy of people's details, with recording errors at ``noise`` rates."""
    n = len(people)
    out = people.reset_index(drop=True).copy()

    def draw(p: float) -> np.ndarray:
        return rng.random(n) < p

    forename = _nicknames(out["forename"], draw(noise.nickname), rng)
    forename = _typo(forename, draw(noise.forename_typo), rng)
    surname = out["surname"].where(
        ~(draw(noise.maiden) & (out["sex"] == "F").to_numpy()), pd.Series(_surnames(n, rng), dtype="str")
    )
    surname = _typo(surname, draw(noise.surname_typo), rng)
    dob = out["date_of_birth"]
    swap = draw(noise.dob_swap) & (dob.dt.day <= 12).to_numpy() & (dob.dt.day != dob.dt.month).to_numpy()
    swapped = pd.to_datetime(
        pd.DataFrame({"year": dob.dt.year, "month": dob.dt.day.clip(upper=12), "day": dob.dt.month})
    ).astype("datetime64[ms]")
    dob = dob.where(~swap, swapped)
    typo = draw(noise.dob_typo)
    # One digit off: the day or the year.
    shift_days = np.where(rng.random(n) < 0.5, 1, 365)
    dob = dob.where(~typo, dob + pd.to_timedelta(shift_days, unit="D"))
    moved = pd.Series(rng.choice(_DISTRICTS, n), dtype="str")
    postcode = out["postcode_district"].where(~draw(noise.postcode_moved), moved)
    out["forename"] = forename.mask(draw(noise.forename_missing)).str.title()
    out["surname"] = surname.mask(draw(noise.surname_missing)).str.title()
    out["date_of_birth"] = dob.mask(draw(noise.dob_missing))
    out["postcode_district"] = postcode.mask(draw(noise.postcode_missing))
    out["sex"] = out["sex"].mask(draw(noise.sex_missing))
    return out


def _ids(prefix: str, n: int, rng: np.random.Generator, width: int = 7) -> pd.Series:
    numbers = pd.Series(rng.choice(10**width, size=n, replace=False)).astype("str").str.zfill(width)
    return (prefix + numbers).astype("str")


def _rows_per_id(ids: pd.DataFrame, mean_rows: float, rng: np.random.Generator) -> pd.DataFrame:
    n_rows = 1 + rng.poisson(mean_rows - 1, len(ids))
    return ids.loc[ids.index.repeat(n_rows)].reset_index(drop=True)


def synthetic_extract(
    n_nominals: int,
    rng: np.random.Generator,
    *,
    health_share: float = 0.3,
    housing_share: float = 0.25,
    outsider_ratio: float = 1.0,
    rows_per_id: float = 2.5,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Draw nominals and the prison, probation, health and housing records of a population.

    Parameters
    ----------
    n_nominals
        People with a police record.
    rng
        Source of randomness.
    health_share, housing_share
        Share of nominals with a health / housing id.
    outsider_ratio
        Health and housing ids of people who are not nominals, per nominal id in the
        source; a fifth of them are relatives of a nominal (same surname and postcode).
    rows_per_id
        Mean rows (episodes, events) per health or housing id.

    Returns
    -------
    tuple
        Tables in the shape of ``data/validated`` (the linkage columns only, with
        ``source_row``), and the truth: person_id, source, source_id.
    """
    nominals = draw_people(n_nominals, rng)
    n_health, n_housing = int(health_share * n_nominals), int(housing_share * n_nominals)
    n_out = int(outsider_ratio * (n_health + n_housing))
    outsiders = draw_people(n_out, rng)
    outsiders["person_id"] += n_nominals
    # A fifth of outsiders are a nominal's relative: same surname and postcode district.
    rel = rng.random(n_out) < 0.2
    kin = rng.integers(0, n_nominals, n_out)
    outsiders.loc[rel, "surname"] = nominals["surname"].to_numpy()[kin[rel]]
    outsiders.loc[rel, "postcode_district"] = nominals["postcode_district"].to_numpy()[kin[rel]]
    people = pd.concat([nominals, outsiders], ignore_index=True)

    years = pd.Series(rng.integers(0, 26, n_nominals)).astype("str").str.zfill(2)
    numbers = pd.Series(rng.choice(10**7, n_nominals, replace=False)).astype("str")
    checks = pd.Series(_LETTERS[rng.integers(0, 26, n_nominals)]).str.upper()
    pnc = (years + "/" + numbers + checks).astype("str")
    police = recorded_copy(nominals, POLICE_NOISE, rng).drop(columns="person_id")
    police.insert(0, "pnc_id", pnc)
    truth = [pd.DataFrame({"person_id": nominals["person_id"], "source": "police", "source_id": pnc})]

    # Prison: 15% of nominals, 1-3 stays, PNC ID missing on some rows and on every row of 5%.
    who = rng.choice(n_nominals, int(0.15 * n_nominals), replace=False)
    letters = [pd.Series(_LETTERS[rng.integers(0, 26, len(who))]).str.upper() for _ in range(3)]
    digits = pd.Series(rng.integers(0, 10**4, len(who))).astype("str").str.zfill(4)
    noms = (letters[0] + digits + letters[1] + letters[2]).astype("str")
    prison_ids = pd.DataFrame({"person_id": who, "noms_id": noms}).drop_duplicates("noms_id")
    custody = _rows_per_id(prison_ids, 1.8, rng)
    blank = (rng.random(len(custody)) < 0.15) | custody["noms_id"].isin(
        prison_ids["noms_id"][rng.random(len(prison_ids)) < 0.05]
    ).to_numpy()
    custody["pnc_id"] = pnc.to_numpy()[custody["person_id"]]
    custody["pnc_id"] = custody["pnc_id"].mask(blank)
    custody["reception_date"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(
        rng.integers(0, 1500, len(custody)), unit="D"
    )
    truth.append(
        pd.DataFrame(
            {"person_id": prison_ids["person_id"], "source": "prison", "source_id": prison_ids["noms_id"]}
        )
    )

    # Probation: 30% of nominals, 1-3 orders; PNC ID missing on some rows and on every row of 8%.
    who = rng.choice(n_nominals, int(0.3 * n_nominals), replace=False)
    prob_ids = pd.DataFrame({"person_id": who, "crn": _ids("X", len(who), rng, 6)})
    orders = _rows_per_id(prob_ids, 1.6, rng)
    details = recorded_copy(nominals.iloc[orders["person_id"].to_numpy()], PROBATION_NOISE, rng)
    for col in ("forename", "surname", "date_of_birth", "sex", "ethnicity"):
        orders[col] = details[col].to_numpy()
    no_pnc = orders["crn"].isin(prob_ids["crn"][rng.random(len(prob_ids)) < 0.08]).to_numpy()
    orders["pnc_id"] = pd.Series(pnc.to_numpy()[orders["person_id"]], dtype="str").mask(
        no_pnc | (rng.random(len(orders)) < 0.1)
    )
    orders["start_date"] = pd.Timestamp("2019-01-01") + pd.to_timedelta(
        rng.integers(0, 1800, len(orders)), unit="D"
    )
    truth.append(
        pd.DataFrame(
            {"person_id": prob_ids["person_id"], "source": "probation", "source_id": prob_ids["crn"]}
        )
    )

    tables: dict[str, pd.DataFrame] = {"police_nominals": police}
    tables["custody_episodes"] = custody.drop(columns="person_id")
    tables["probation_orders"] = orders.drop(columns="person_id")
    for name, id_col, prefix, n_in, date_col in (
        ("health_episodes", "health_id", "H", n_health, "referral_date"),
        ("housing_events", "council_id", "C", n_housing, "event_date"),
    ):
        members = np.concatenate(
            [
                rng.choice(n_nominals, n_in, replace=False),
                n_nominals + rng.choice(n_out, min(n_out, int(outsider_ratio * n_in)), replace=False),
            ]
        )
        ids = pd.DataFrame({"person_id": members, id_col: _ids(prefix, len(members), rng, 8)})
        rows = _rows_per_id(ids, rows_per_id, rng)
        copy = recorded_copy(people.iloc[rows["person_id"].to_numpy()], Noise(), rng)
        # Most rows of one id repeat the same recorded details (registered once, reused).
        first = rows.groupby(id_col).cumcount() == 0
        reuse = (~first & (rng.random(len(rows)) < 0.8)).to_numpy()
        anchor = np.flatnonzero(first.to_numpy())[np.cumsum(first.to_numpy()) - 1]
        for col in ("forename", "surname", "date_of_birth", "sex", "postcode_district"):
            values = copy[col].to_numpy()
            copy[col] = np.where(reuse, values[anchor], values)
        rows = pd.concat([rows, copy.drop(columns=["person_id", "ethnicity"]).set_axis(rows.index)], axis=1)
        if name == "housing_events":
            rows = rows.drop(columns="sex")
        rows[date_col] = pd.Timestamp("2021-01-01") + pd.to_timedelta(
            rng.integers(0, 1400, len(rows)), unit="D"
        )
        tables[name] = rows.drop(columns="person_id")
        source = "health" if name == "health_episodes" else "housing"
        truth.append(
            pd.DataFrame({"person_id": ids["person_id"], "source": source, "source_id": ids[id_col]})
        )

    tables = _complete(tables, rng)
    truth_frame = pd.concat(truth, ignore_index=True)
    truth_frame["source_id"] = truth_frame["source_id"].astype("str")
    return tables, truth_frame


def _complete(tables: dict[str, pd.DataFrame], rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Add the event columns and tables linkage passes through, typed as ``data/validated``."""
    nominals, custody, orders = (
        tables["police_nominals"],
        tables["custody_episodes"],
        tables["probation_orders"],
    )
    n_off = 2 * len(nominals)
    off_date = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 2500, n_off), unit="D")
    outcome = rng.choice(contract.OUTCOMES, n_off)
    tables["police_offences"] = pd.DataFrame(
        {
            "offence_id": ("F" + pd.Series(np.arange(n_off)).astype("str").str.zfill(8)).to_numpy(),
            "pnc_id": nominals["pnc_id"].to_numpy()[rng.integers(0, len(nominals), n_off)],
            "offence_date": off_date,
            "offence_group": rng.choice(contract.OFFENCE_GROUPS, n_off),
            "domestic_abuse": rng.random(n_off) < 0.1,
            "gravity": rng.integers(1, 7, n_off),
            "outcome": outcome,
            "outcome_date": pd.Series(off_date + pd.Timedelta(days=30)).where(outcome != "pending"),
        }
    )
    released = rng.random(len(custody)) < 0.9
    custody["release_date"] = (custody["reception_date"] + pd.Timedelta(days=90)).where(released)
    custody["expected_release_date"] = (custody["reception_date"] + pd.Timedelta(days=120)).where(~released)
    custody["release_type"] = pd.Series(rng.choice(contract.RELEASE_TYPES, len(custody))).where(released)
    orders["order_type"] = rng.choice(contract.ORDER_TYPES, len(orders))
    orders["end_date"] = orders["start_date"] + pd.Timedelta(days=365)
    orders["breached"] = rng.random(len(orders)) < 0.2
    crns = orders["crn"].to_numpy()
    n_assess = len(orders)
    tables["probation_assessments"] = pd.DataFrame(
        {
            "crn": crns[rng.integers(0, len(crns), n_assess)],
            "assessment_date": pd.Timestamp("2022-01-01")
            + pd.to_timedelta(rng.integers(0, 700, n_assess), unit="D"),
            **{need: rng.integers(0, 3, n_assess) for need in contract.NEEDS},
        }
    )
    n_contacts = 3 * len(orders)
    tables["probation_contacts"] = pd.DataFrame(
        {
            "crn": crns[rng.integers(0, len(crns), n_contacts)],
            "contact_date": pd.Timestamp("2022-01-01")
            + pd.to_timedelta(rng.integers(0, 700, n_contacts), unit="D"),
            "outcome": rng.choice(contract.CONTACT_OUTCOMES, n_contacts),
        }
    )
    health = tables["health_episodes"]
    health["service"] = rng.choice(contract.HEALTH_SERVICES, len(health))
    closed = rng.random(len(health)) < 0.7
    health["discharge_date"] = (health["referral_date"] + pd.Timedelta(days=60)).where(closed)
    health["discharge_reason"] = pd.Series(rng.choice(contract.DISCHARGE_REASONS, len(health))).where(closed)
    housing = tables["housing_events"]
    housing["event_type"] = rng.choice(contract.HOUSING_EVENTS, len(housing))

    typed: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        spec = contract.table(name)
        frame = frame.reset_index(drop=True)
        out = pd.DataFrame(
            {
                c.name: (
                    frame[c.name].astype(TYPED_DTYPES[c.kind])  # type: ignore[call-overload]
                    if c.kind != "date"
                    else pd.to_datetime(frame[c.name]).astype("datetime64[ms]")
                )
                for c in spec.columns
                if c.name in frame
            }
        )
        out["source_row"] = np.arange(1, len(out) + 1, dtype="int64")
        typed[name] = out
    return typed


def without_police_nominals(
    tables: dict[str, pd.DataFrame], share: float, rng: np.random.Generator
) -> tuple[dict[str, pd.DataFrame], pd.Series]:
    """Make some people probation-only: drop the police nominals (and offences) of a share of them.

    Real extracts hold people on probation whose police record belongs to another force
    (they offended elsewhere): the probation service knows them, this force does not.
    The simulator makes every offender a nominal, so this derives that situation from
    any extract in the contract's shape: of the PNC IDs that probation rows carry,
    ``share`` lose their nominal and their offences. Prison and probation rows keep the
    PNC ID they carry (the other force's).

    Parameters
    ----------
    tables
        Validated contract tables by name.
    share
        Share of the PNC IDs carried by probation rows whose nominal is dropped.
    rng
        Source of randomness.

    Returns
    -------
    tables : dict
        A copy with ``police_nominals`` and ``police_offences`` thinned.
    dropped : pd.Series
        The PNC IDs dropped.
    """
    carried = tables["probation_orders"]["pnc_id"].dropna().drop_duplicates().sort_values(ignore_index=True)
    carried = carried[carried.isin(tables["police_nominals"]["pnc_id"])].reset_index(drop=True)
    dropped = carried[rng.random(len(carried)) < share].reset_index(drop=True)
    out = dict(tables)
    for name in ("police_nominals", "police_offences"):
        if name in out:
            frame = out[name]
            out[name] = frame[~frame["pnc_id"].isin(dropped)].reset_index(drop=True)
    return out, dropped
