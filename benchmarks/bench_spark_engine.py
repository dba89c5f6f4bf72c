"""Features and panel scoring on the local and Spark engines: wall time and peak memory.

Peak memory is the summed RSS of the command and every process under it (the driver, the
JVM Spark starts and its Python workers), sampled every 0.2 s: ``/usr/bin/time -v`` gives
only the largest single process.

Usage, on an area whose ``linked/``, ``validated/``, ``model/`` (a saved ``RiskModel``) and
``typology/model.json`` exist, with ``params.yaml`` (``engine: local``) and
``params_spark.yaml`` (``engine: spark``) in it::

    python benchmarks/bench_spark_engine.py features AREA local|spark
    python benchmarks/bench_spark_engine.py score AREA local|spark
    python benchmarks/bench_spark_engine.py typology AREA local|spark   # every person-date's typology
    python benchmarks/bench_spark_engine.py validate AREA local|spark   # AREA/extract -> validated_<engine>

``typology`` times the typology stage's assignment of every person-date (``features/``,
the fitted ``typology/model.json``) as the stage runs it (:func:`pipelines.typology.assign_everyone`),
after the features are read; ``validate`` runs the whole ``iom validate`` stage.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil


def measure(cmd: list[str]) -> tuple[int, float, dict[str, int]]:
    """Run ``cmd``; return its exit code, wall seconds and the peak summed RSS by process kind."""
    start = time.time()
    proc = subprocess.Popen(cmd)
    root = psutil.Process(proc.pid)
    peak, at_peak = 0, {}
    while proc.poll() is None:
        parts: dict[str, int] = {}
        try:
            for p in [root, *root.children(recursive=True)]:
                kind = "java" if "java" in p.name() else "python"
                parts[kind] = parts.get(kind, 0) + p.memory_info().rss
        except psutil.Error:
            pass
        if sum(parts.values()) > peak:
            peak, at_peak = sum(parts.values()), parts
        time.sleep(0.2)
    return proc.returncode, time.time() - start, at_peak


def score(area: Path, engine: str) -> None:
    """Risk, interval, TreeSHAP reasons and typologies of the panel date (in this process)."""
    import pandas as pd

    from features.partitions import read_features
    from models.risk import RiskModel
    from models.risk_train import model_inputs, score_panel
    from models.typology import assign_typology, load_model

    features = read_features(area / "features")
    panel = features.loc[features["is_panel_date"]].reset_index(drop=True)
    persons = pd.read_parquet(area / "linked" / "persons.parquet", columns=["pseudo_id", "sex", "ethnicity"])
    model, typology = RiskModel.load(area / "model"), load_model(area / "typology" / "model.json")
    start = time.time()
    if engine == "local":
        scores = score_panel(model, model_inputs(model, panel, persons), panel)
        types = assign_typology(typology, panel)
    else:
        from features.spark import to_spark
        from iom_spark import load_engine, open_spark
        from models.spark import assign_typology_spark, score_spark

        params = load_engine(area / "params_spark.yaml").spark
        spark = open_spark(params)
        frame = to_spark(spark, panel)
        scores = score_spark(
            model, frame, to_spark(spark, persons), panel.iloc[:0], params.shuffle_partitions
        )
        types = assign_typology_spark(typology, frame, panel.iloc[:0], params.shuffle_partitions)
    print(f"{engine}: {len(scores)} scored, {len(types)} typologies in {time.time() - start:.1f} s")
    scores.to_parquet(area / f"bench_scores_{engine}.parquet")
    types.to_parquet(area / f"bench_types_{engine}.parquet")


def typology(area: Path, engine: str) -> None:
    """Every person-date's typology under the saved model, on ``engine`` (in this process)."""
    from features.partitions import read_features
    from iom_spark import load_engine
    from models.typology import load_model
    from pipelines.typology import assign_everyone

    params = area / ("params_spark.yaml" if engine == "spark" else "params.yaml")
    features = read_features(area / "features")
    model = load_model(area / "typology" / "model.json")
    start = time.time()
    types = assign_everyone(model, features, area / "features", load_engine(params))
    print(f"{engine}: {len(types)} person-dates assigned in {time.time() - start:.1f} s")
    types.to_parquet(area / f"bench_typology_{engine}.parquet")


def main() -> None:
    what, area, engine = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    if what == "score-inner":
        score(area, engine)
        return
    if what == "typology-inner":
        typology(area, engine)
        return
    params = area / ("params_spark.yaml" if engine == "spark" else "params.yaml")
    if what == "validate":
        cmd = [
            "iom",
            "validate",
            "--extract",
            str(area / "extract"),
            "--out",
            str(area / f"validated_{engine}"),
        ]
        cmd += ["--metrics", str(area / f"validation_{engine}.json"), "--docs", str(area / f"docs_{engine}")]
        cmd += ["--params", str(params)]
    elif what == "typology":
        cmd = [sys.executable, __file__, "typology-inner", str(area), engine]
    elif what == "features":
        cmd = ["iom", "features", "--linked", str(area / "linked"), "--manifest"]
        cmd += [str(area / "validated" / "manifest.json"), "--out", str(area / f"features_{engine}")]
        cmd += ["--metrics", str(area / f"features_{engine}.json"), "--params", str(params)]
    else:
        cmd = [sys.executable, __file__, "score-inner", str(area), engine]
    rc, wall, parts = measure(cmd)
    rss = " ".join(f"{k} {v / 2**30:.2f} GiB" for k, v in sorted(parts.items()))
    total = sum(parts.values()) / 2**30
    print(f"{what} {engine}: exit {rc}, wall {wall:.1f} s, peak RSS {total:.2f} GiB ({rss})")


if __name__ == "__main__":
    main()
