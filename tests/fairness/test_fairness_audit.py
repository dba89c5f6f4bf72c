"""Known-answer tests of every audit measure on tiny hand-built frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairness import audit_fairness, measure_name, metric_token
from fairness.audit import _auc, _auc_by_group, _Bootstrap, _GroupRows, _sums_by_group

# Group A (4 rows) and B (6 rows): every number below is worked by hand in the comments.
#   A: y 1 1 0 0, p .8 .4 .6 .2, red 1 0 1 1 -> TP 1, FP 2, FN 1, TN 0
#   B: y 1 0 0 0 0 1, p .9 .5 .3 .1 .7 .2, red 1 1 0 0 0 0 -> TP 1, FP 1, FN 1, TN 3
#   C: y 1 0, p .5 .5, red 0 1 (2 rows: suppressed at min_group_size 3)
Y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0])
P = np.array([0.8, 0.4, 0.6, 0.2, 0.9, 0.5, 0.3, 0.1, 0.7, 0.2, 0.5, 0.5])
RED = np.array([1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1], dtype=bool)
G = pd.Series(["A"] * 4 + ["B"] * 6 + ["C"] * 2, name="g")

EXPECTED = {
    "A": {
        "size": 4,
        "base_rate": 0.5,
        "mean_risk": 0.5,
        "obs_exp": 2 / 2.0,
        "auc": 3 / 4,  # (.8>.6, .8>.2, .4>.2) of 4 pairs
        "brier": (0.04 + 0.36 + 0.36 + 0.04) / 4,
        ("selection_rate", "red"): 3 / 4,
        ("tpr", "red"): 1 / 2,
        ("fpr", "red"): 2 / 2,
        ("fnr", "red"): 1 / 2,
        ("precision", "red"): 1 / 3,
        ("fdr", "red"): 2 / 3,
        ("for", "red"): 1 / 1,
    },
    "B": {
        "size": 6,
        "base_rate": 2 / 6,
        "mean_risk": 2.7 / 6,
        "obs_exp": 2 / 2.7,
        "auc": 5 / 8,  # .9 beats 4 negatives, .2 beats .1
        "brier": (0.01 + 0.25 + 0.09 + 0.01 + 0.49 + 0.64) / 6,
        ("selection_rate", "red"): 2 / 6,
        ("tpr", "red"): 1 / 2,
        ("fpr", "red"): 1 / 4,
        ("fnr", "red"): 1 / 2,
        ("precision", "red"): 1 / 2,
        ("fdr", "red"): 1 / 2,
        ("for", "red"): 1 / 4,
    },
}


def _value(audit, group: str, measure: str, decision: str = "") -> float:  # type: ignore[no-untyped-def]
    bg = audit.by_group
    row = bg.loc[bg["group"].eq(group) & bg["measure"].eq(measure) & bg["decision"].eq(decision)]
    assert len(row) == 1, (group, measure, decision)
    return float(row["value"].iloc[0])


def _ratio(audit, group: str, measure: str, decision: str = "") -> pd.Series:  # type: ignore[no-untyped-def]
    d = audit.disparities
    row = d.loc[d["group"].eq(group) & d["measure"].eq(measure) & d["decision"].eq(decision)]
    assert len(row) == 1, (group, measure, decision)
    return row.iloc[0]


@pytest.fixture(scope="module")
def small_audit():  # type: ignore[no-untyped-def]
    return audit_fairness(
        Y, P, sensitive_features=G, selected={"red": RED}, min_group_size=3, n_bootstrap=50, seed=1
    )


@pytest.mark.parametrize("group", ["A", "B"])
def test_every_per_group_measure_matches_the_hand_computed_value(small_audit, group: str) -> None:  # type: ignore[no-untyped-def]
    for key, expected in EXPECTED[group].items():
        measure, decision = key if isinstance(key, tuple) else (key, "")
        assert _value(small_audit, group, measure, decision) == pytest.approx(expected), key


def test_reference_is_the_largest_non_suppressed_group(small_audit) -> None:  # type: ignore[no-untyped-def]
    assert small_audit.reference == {"g": "B"}
    bg = small_audit.by_group
    assert bg.loc[bg["group"].eq("B"), "reference"].all()
    assert not bg.loc[bg["group"].eq("A"), "reference"].any()


def test_ratios_to_the_reference_group(small_audit) -> None:  # type: ignore[no-untyped-def]
    assert _ratio(small_audit, "A", "selection_rate", "red")["ratio"] == pytest.approx(0.75 / (2 / 6))
    assert _ratio(small_audit, "A", "fpr", "red")["ratio"] == pytest.approx(4.0)
    assert _ratio(small_audit, "A", "fnr", "red")["ratio"] == pytest.approx(1.0)
    assert _ratio(small_audit, "A", "obs_exp")["ratio"] == pytest.approx(1.0 / (2 / 2.7))
    assert _ratio(small_audit, "A", "base_rate")["ratio"] == pytest.approx(1.5)
    assert _ratio(small_audit, "A", "for", "red")["ratio"] == pytest.approx(4.0)
    assert _ratio(small_audit, "A", "precision", "red")["ratio"] == pytest.approx((1 / 3) / 0.5)
    assert not (small_audit.disparities["group"] == "B").any()  # no ratio of the reference to itself
    row = _ratio(small_audit, "A", "fpr", "red")
    assert row["name"] == "fpr_ratio.red.g.A"
    assert bool(row["gated"]) and row["lens"].startswith("intrusion")
    assert _ratio(small_audit, "A", "fnr", "red")["lens"].startswith("support")
    assert not bool(_ratio(small_audit, "A", "tpr", "red")["gated"])


def test_small_group_is_suppressed_everywhere(small_audit) -> None:  # type: ignore[no-untyped-def]
    bg = small_audit.by_group
    c = bg.loc[bg["group"].eq("C")]
    assert len(c) == 1 and bool(c["suppressed"].iloc[0])
    assert c["value"].isna().all() and c["size"].isna().all()
    dc = small_audit.disparities.loc[small_audit.disparities["group"].eq("C")]
    assert (dc["status"] == "suppressed").all() and dc["ratio"].isna().all()
    assert small_audit.calibration["group"].ne("C").all()
    assert (small_audit.overall["n_groups"] == 2).all()


def test_fairlearn_between_group_summaries_over_non_suppressed_groups(small_audit) -> None:  # type: ignore[no-untyped-def]
    overall = small_audit.overall.set_index("measure")
    # Selection rates A .75, B 1/3 (C suppressed): ratio 4/9. TPR equal; FPR 1 vs .25.
    assert overall.loc["demographic_parity_ratio", "value"] == pytest.approx((1 / 3) / 0.75)
    assert overall.loc["equalized_odds_difference", "value"] == pytest.approx(0.75)
    assert overall.loc["equalized_odds_difference", "name"] == "equalized_odds_difference.red.g"


def test_named_reference_group_and_its_errors() -> None:
    audit = audit_fairness(
        Y, P, sensitive_features=G, selected={"red": RED}, reference_groups={"g": "A"}, min_group_size=3,
        n_bootstrap=0,
    )  # fmt: skip
    assert audit.reference == {"g": "A"}
    assert _ratio(audit, "B", "fpr", "red")["ratio"] == pytest.approx(0.25)
    assert _ratio(audit, "B", "fpr", "red")["status"] == "not enough data"  # no bootstrap, no interval
    assert audit.flagged == []
    with pytest.raises(ValueError, match="suppressed"):
        audit_fairness(
            Y, P, sensitive_features=G, selected=RED, reference_groups={"g": "C"}, min_group_size=3
        )
    with pytest.raises(ValueError, match="not found"):
        audit_fairness(Y, P, sensitive_features=G, selected=RED, reference_groups={"g": "Z"})
    with pytest.raises(ValueError, match="not audited"):
        audit_fairness(Y, P, sensitive_features=G, selected=RED, reference_groups={"sex": "M"})


def test_tied_scores_count_one_half_in_auc() -> None:
    audit = audit_fairness(Y, P, sensitive_features=G, selected=RED, min_group_size=1, n_bootstrap=0)
    assert _value(audit, "C", "auc") == pytest.approx(0.5)
    assert _value(audit, "C", "selection_rate", "selected") == pytest.approx(0.5)


def test_label_free_audit_has_only_measures_that_need_no_label() -> None:
    audit = audit_fairness(
        None, P, sensitive_features=G, selected={"red": RED}, min_group_size=3, n_bootstrap=20
    )
    assert set(audit.by_group["measure"]) == {"size", "mean_risk", "selection_rate"}
    assert set(audit.disparities["measure"]) == {"mean_risk", "selection_rate"}
    assert set(audit.overall["measure"]) == {"demographic_parity_ratio"}
    assert audit.calibration.empty and not audit.labelled
    assert _value(audit, "A", "mean_risk") == pytest.approx(0.5)
    decisions_only = audit_fairness(None, None, sensitive_features=G, selected={"red": RED}, min_group_size=3)
    assert set(decisions_only.by_group["measure"]) == {"size", "selection_rate"}


def test_flag_only_when_the_whole_interval_is_outside_the_band() -> None:
    # A and B: 2,000 rows each, same base rate; A's non-reoffenders selected 4x as often as B's.
    # S (60 rows): selected 9 of 60 (ratio 1.5 to B's 0.1): outside the band, but too few to be sure.
    n = 2000
    y = np.tile([1, 0, 0, 0, 0], n // 5 * 2)
    # Outcome 1 at positions 0 and 5 of every 10; A selects 4 negatives (FPR 4/8), B one (1/8).
    sel_a = np.tile([0, 1, 1, 1, 0, 0, 1, 0, 0, 0], n // 10).astype(bool)
    sel_b = np.tile([0, 1, 0, 0, 0, 0, 0, 0, 0, 0], n // 10).astype(bool)
    ys = np.tile([1, 0, 0, 0, 0], 12)
    sel_s = np.r_[np.ones(9), np.zeros(51)].astype(bool)
    rng = np.random.default_rng(0)
    sel_s = sel_s[rng.permutation(60)]
    groups = pd.Series(["A"] * n + ["B"] * n + ["S"] * 60, name="grp")
    audit = audit_fairness(
        np.r_[y, ys],
        np.full(2 * n + 60, 0.2),
        sensitive_features=groups,
        selected={"red": np.r_[sel_a, sel_b, sel_s]},
        reference_groups={"grp": "B"},
        n_bootstrap=200,
        seed=3,
    )
    fpr_a = _ratio(audit, "A", "fpr", "red")
    assert fpr_a["ratio"] == pytest.approx(4.0)
    assert fpr_a["status"] == "flag" and fpr_a["ci_low"] > 1.25
    assert "fpr_ratio.red.grp.A" in audit.flagged
    # Selection rate is outside the band too, but reported, not gated (fairness.gated_measures).
    assert _ratio(audit, "A", "selection_rate", "red")["status"] == "flag"
    assert "selection_rate_ratio.red.grp.A" not in audit.flagged
    assert "base_rate_ratio.grp.A" not in audit.flagged  # not gated
    sel_s_row = _ratio(audit, "S", "selection_rate", "red")
    assert sel_s_row["ratio"] == pytest.approx(1.5)
    assert sel_s_row["status"] == "not enough data"
    assert not any(name.endswith(".grp.S") for name in audit.flagged)
    # Intervals bracket the point estimates of every non-suppressed rate.
    bg = audit.by_group.loc[audit.by_group["measure"].isin(["selection_rate", "fpr", "base_rate"])]
    assert ((bg["ci_low"] <= bg["value"] + 1e-12) & (bg["value"] <= bg["ci_high"] + 1e-12)).all()


def test_bootstrap_is_reproducible_and_resamples_people_not_rows() -> None:
    cluster = np.array([0, 0, 1, 1, 1, 2, 3, 3])
    boot = _Bootstrap(cluster, n_bootstrap=7, seed=11, max_cells=16)  # chunks of 2 replicates
    weights = np.vstack(list(boot.weights()))
    assert weights.shape == (7, 8)
    # A person's rows share their weight; each replicate draws 4 people.
    assert (weights[:, 0] == weights[:, 1]).all() and (weights[:, 2] == weights[:, 4]).all()
    per_person = weights[:, [0, 2, 5, 6]]
    assert (per_person.sum(axis=1) == 4).all()
    again = np.vstack(list(_Bootstrap(cluster, 7, 11, max_cells=16).weights()))
    assert (weights == again).all()
    a1 = audit_fairness(Y, P, sensitive_features=G, selected=RED, n_bootstrap=30, seed=5, min_group_size=1)
    a2 = audit_fairness(Y, P, sensitive_features=G, selected=RED, n_bootstrap=30, seed=5, min_group_size=1)
    pd.testing.assert_frame_equal(a1.by_group, a2.by_group)


def test_group_sizes_count_people_when_clusters_are_given() -> None:
    people = np.array(["p1", "p1", "p2", "p3", "p4", "p4", "p5", "p6", "p7", "p8", "p9", "p9"])
    audit = audit_fairness(Y, P, sensitive_features=G, selected=RED, cluster=people, min_group_size=4)
    assert _value(audit, "B", "size") == 5  # rows 4..9 belong to p4 (twice), p5..p7, p8
    bg = audit.by_group
    assert bool(bg.loc[bg["group"].eq("A"), "suppressed"].all())  # 3 people in 4 rows


def test_vectorised_sums_and_auc_match_the_plain_computation() -> None:
    rng = np.random.default_rng(2)
    n = 300
    codes = rng.integers(0, 3, n)
    y = (rng.random(n) < 0.4).astype(float)
    p = np.round(rng.random(n), 1)  # many ties
    order = np.argsort(codes, kind="mergesort")
    starts = np.searchsorted(codes[order], np.arange(3))
    W = rng.integers(0, 3, size=(4, n)).astype(float)
    S = _sums_by_group(W, order, starts, np.column_stack([np.ones(n), y]))
    for b in range(4):
        for g in range(3):
            assert S[b, g, 0] == pytest.approx(W[b, codes == g].sum())
            assert S[b, g, 1] == pytest.approx((W[b] * y)[codes == g].sum())
    auc = _auc_by_group(W, order, starts, y, p)
    for b in range(4):
        for g in range(3):
            rows = np.repeat(np.flatnonzero(codes == g), W[b, codes == g].astype(int))
            assert auc[b, g] == pytest.approx(_auc(y[rows], p[rows]))


def _sums_per_chunk(W: np.ndarray, order: np.ndarray, starts: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The bootstrap's group sums as computed before _GroupRows (sorted again for every chunk)."""
    Ws, Xs = W[:, order], X[order]
    bounds = [*starts.tolist(), len(order)]
    out = np.empty((W.shape[0], len(starts), X.shape[1]))
    for g in range(len(starts)):
        out[:, g, :] = Ws[:, bounds[g] : bounds[g + 1]] @ Xs[bounds[g] : bounds[g + 1]]
    return out


def _auc_per_chunk(
    W: np.ndarray, order: np.ndarray, starts: np.ndarray, y: np.ndarray, p: np.ndarray
) -> np.ndarray:
    """The bootstrap's weighted AUC as computed before _GroupRows (rows ranked again for every chunk)."""
    bounds = [*starts.tolist(), len(order)]
    out = np.full((W.shape[0], len(starts)), np.nan)
    for g in range(len(starts)):
        rows = order[bounds[g] : bounds[g + 1]]
        rows = rows[np.argsort(p[rows], kind="mergesort")]
        ps = p[rows]
        block_starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
        Wg = W[:, rows]
        pos = np.add.reduceat(Wg * y[rows], block_starts, axis=1)
        neg = np.add.reduceat(Wg * (1.0 - y[rows]), block_starts, axis=1)
        below = np.cumsum(neg, axis=1) - neg
        num = np.sum(pos * (below + 0.5 * neg), axis=1)
        den = pos.sum(axis=1) * neg.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, g] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out


def test_rows_sorted_once_per_grouping_give_exactly_the_per_chunk_results() -> None:
    # The grouping's rows are sorted once and reused by every chunk of replicates: the
    # sums and AUCs must be bit for bit those of sorting again per chunk (as before).
    rng = np.random.default_rng(8)
    n = 2_000
    codes = rng.integers(0, 5, n)
    y = (rng.random(n) < 0.3).astype(float)
    p = np.round(rng.random(n), 2)  # ties
    X = np.column_stack([np.ones(n), y, p, (p - y) ** 2, rng.random(n) < 0.2])
    order = np.argsort(codes, kind="mergesort")
    starts = np.searchsorted(codes[order], np.arange(5))
    rows = _GroupRows(order, starts, X, y, p)
    cluster = rng.integers(0, 700, n)  # several rows per person
    chunks = list(_Bootstrap(cluster, n_bootstrap=23, seed=3, max_cells=5 * n).weights())
    assert len(chunks) == 5  # chunks of 5, 5, 5, 5, 3 replicates
    for W in chunks:
        assert np.array_equal(rows.sums(W), _sums_per_chunk(W, order, starts, X))
        assert np.array_equal(rows.auc(W), _auc_per_chunk(W, order, starts, y, p), equal_nan=True)
    with pytest.raises(ValueError, match="without y and p"):
        _GroupRows(order, starts, X).auc(chunks[0])


def test_calibration_by_risk_decile_within_groups() -> None:
    # p_i = (i + .5) / 200: deciles of 20 rows; A = even i, B = odd i: 10 per cell.
    i = np.arange(200)
    p = (i + 0.5) / 200
    y = (i % 20 < 10).astype(int)
    groups = pd.Series(np.where(i % 2 == 0, "A", "B"), name="g")
    audit = audit_fairness(
        y, p, sensitive_features=groups, selected=p > 0.9, min_group_size=50, n_bootstrap=20
    )
    cal = audit.calibration.set_index(["group", "decile"])
    assert len(cal) == 20
    # Decile 1 of A: i = 0, 2, ..., 18: mean p = 9.5 / 200; y = 1 for i < 10 (5 of 10).
    assert cal.loc[("A", 1), "n"] == 10
    assert cal.loc[("A", 1), "mean_risk"] == pytest.approx(9.5 / 200)
    assert cal.loc[("A", 1), "observed"] == pytest.approx(0.5)
    assert cal.loc[("B", 10), "mean_risk"] == pytest.approx(190.5 / 200)  # i = 181, ..., 199


def test_stable_metric_names() -> None:
    assert metric_token("Not stated") == "Not_stated"
    assert metric_token("50+") == "50plus"
    assert metric_token("White x F") == "White_x_F"
    assert measure_name("fpr_ratio", "ethnicity", "Black", "red") == "fpr_ratio.red.ethnicity.Black"
    assert measure_name("auc", "age_band", "50+") == "auc.age_band.50plus"


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="0/1"):
        audit_fairness(np.full(12, 0.5), P, sensitive_features=G, selected=RED)
    with pytest.raises(ValueError, match="rows"):
        audit_fairness(Y, P, sensitive_features=G.iloc[:5], selected=RED)
    with pytest.raises(ValueError, match="shape"):
        audit_fairness(Y, P, sensitive_features=G, selected={"red": RED[:3]})


def test_zero_selected_uses_wilson_not_a_zero_width_interval() -> None:
    # Reference R: 2,000 rows, 40 selected (2%). Z: 100 rows, none selected; ZZ: 2,000, none.
    # Wilson's upper bound for 0 of n is z^2 / (n + z^2): 0.0370 for 100, 0.00192 for 2,000.
    z2 = 1.959964**2
    sel = np.r_[np.arange(2000) < 40, np.zeros(100, bool), np.zeros(2000, bool)]
    groups = pd.Series(["R"] * 2000 + ["Z"] * 100 + ["ZZ"] * 2000, name="g")
    audit = audit_fairness(
        None,
        None,
        sensitive_features=groups,
        selected={"red": sel},
        reference_groups={"g": "R"},
        n_bootstrap=50,
    )
    z = _ratio(audit, "Z", "selection_rate", "red")
    assert z["ratio"] == 0 and z["ci_low"] == 0
    assert z["ci_high"] == pytest.approx(z2 / (100 + z2) / 0.02)  # 1.85: reaches into the band
    assert z["status"] == "not enough data"
    zz = _ratio(audit, "ZZ", "selection_rate", "red")
    assert zz["ci_high"] == pytest.approx(z2 / (2000 + z2) / 0.02)  # 0.096: wholly below 0.8
    assert zz["status"] == "flag"
    bg = audit.by_group.set_index("name")
    assert bg.loc["selection_rate.red.g.Z", "ci_high"] == pytest.approx(z2 / (100 + z2))


def test_pandas_inputs_are_aligned_by_index_and_different_indexes_refused() -> None:
    idx = pd.Index([f"r{i}" for i in range(12)])
    y, p = pd.Series(Y, index=idx), pd.Series(P, index=idx)
    red = pd.Series(RED, index=idx)
    g = pd.Series(G.to_numpy(), index=idx, name="g")
    base = audit_fairness(y, p, sensitive_features=g, selected={"red": red}, min_group_size=3, n_bootstrap=0)
    # The same rows in another order: aligned on y_score's index, so the same audit.
    shuffled = np.random.default_rng(0).permutation(12)
    moved = audit_fairness(
        y.iloc[shuffled], p, sensitive_features=g.iloc[shuffled[::-1]], selected={"red": red.iloc[shuffled]},
        min_group_size=3, n_bootstrap=0,
    )  # fmt: skip
    pd.testing.assert_frame_equal(base.by_group, moved.by_group)
    other = pd.Series(Y, index=[f"x{i}" for i in range(12)])
    with pytest.raises(
        ValueError, match=r"y_true and y_score .* different indexes \(12 label\(s\) only in y_true"
    ):
        audit_fairness(other, p, sensitive_features=g, selected={"red": red})


def test_selected_must_be_boolean() -> None:
    with pytest.raises(TypeError, match=r"selected\['red'\] must be boolean .* got dtype int64"):
        audit_fairness(Y, P, sensitive_features=G, selected={"red": RED.astype(np.int64)})
    with pytest.raises(TypeError, match=r"top_k or fairness\.top_share"):
        audit_fairness(Y, P, sensitive_features=G, selected=P)
    with pytest.raises(ValueError, match="1 missing"):
        audit_fairness(Y, P, sensitive_features=G, selected=pd.Series([*RED[:-1], None], dtype="boolean"))


def test_numpy_sensitive_features_need_names() -> None:
    named = audit_fairness(
        Y,
        P,
        sensitive_features=G.to_numpy(),
        sensitive_names=["g"],
        selected=RED,
        min_group_size=3,
        n_bootstrap=0,
    )
    framed = audit_fairness(Y, P, sensitive_features=G, selected=RED, min_group_size=3, n_bootstrap=0)
    pd.testing.assert_frame_equal(named.by_group, framed.by_group)
    two = np.column_stack([G.to_numpy(), np.where(np.arange(12) % 2, "F", "M")])
    both = audit_fairness(
        Y, P, sensitive_features=two, sensitive_names=["g", "sex"], selected=RED, n_bootstrap=0
    )
    assert set(both.reference) == {"g", "sex"}
    with pytest.raises(ValueError, match="name them with sensitive_names"):
        audit_fairness(Y, P, sensitive_features=two, selected=RED)


def test_top_k_and_top_share_make_the_decision_per_date() -> None:
    from fairness import top_k, top_share

    scores = np.array([0.9, 0.1, 0.5, 0.5, 0.8, 0.3, 0.7, np.nan])
    dates = np.array(["d1"] * 4 + ["d2"] * 4)
    assert top_k(scores, 2, by=dates).tolist() == [True, False, True, False, True, False, True, False]
    assert top_k(scores, 1).tolist() == [True, *[False] * 7]  # ties and missing never pass the k-th place
    # 50% of 4 scores on d1 = 2; of the 3 known scores on d2 = 1.5, rounded up to 2.
    assert top_share(scores, 0.5, by=dates).tolist() == [True, False, True, False, True, False, True, False]
    assert not top_share(scores, 0.0).any() and top_share(scores, 1.0).sum() == 7
    with pytest.raises(ValueError, match="share"):
        top_share(scores, 1.5)
    audit = audit_fairness(Y, P, sensitive_features=G, selected={"top3": top_k(P, 3)}, n_bootstrap=0)
    assert audit.decisions == ["top3"]
