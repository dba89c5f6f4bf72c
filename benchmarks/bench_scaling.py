"""The whole pipeline at several sizes on this machine: wall time, peak memory and rows per stage.

For each ``--nominals`` size, a run folder ``benchmarks/runs/n<N>/`` gets a copy of
``dvc.yaml`` and of ``params.yaml`` with ``simulate.nominals`` set to N (nothing else
changed), and every stage's command, exactly as ``dvc.yaml`` writes it (``${...}``
filled from those params), runs there in ``dvc.yaml``'s order under ``nice`` and
``/usr/bin/time -v``. DVC's own bookkeeping (hashing outputs into its cache) is not in
the figures: it is the stage commands' cost.

Per stage it records: wall time; peak resident memory, both as ``/usr/bin/time`` reports
it (the largest single process) and as the peak *sum* over the stage's process tree
(sampled every 0.5 s; worker processes count); the rows of the stage's outputs (Parquet
row counts, lines of CSV); their size on disk; and the 1-minute load average at the
start and end (the machine is shared: read every time beside it).

If the machine's available memory falls under ``--min-free-gib`` while a stage runs, the
stage is stopped (its process group) and the run ends with a message: better a missing
figure than a machine out of memory.

Results go to ``<run folder>/bench.json`` after every stage (a stopped run keeps what it
measured; ``--from-stage`` resumes), and the table of every size measured so far to
``benchmarks/results/scaling_local.md``::

    python benchmarks/bench_scaling.py --nominals 200000 1000000
    python benchmarks/bench_scaling.py --nominals 1000000 --from-stage train
    python benchmarks/bench_scaling.py --table-only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from proctree import tree_rss  # benchmarks/proctree.py (scripts run from this folder)

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "benchmarks" / "runs"
RESULT = ROOT / "benchmarks" / "results" / "scaling_local.md"
PAGE = os.sysconf("SC_PAGE_SIZE")
GIB = 2**30


def stage_commands(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``dvc.yaml``'s stages in order: the command (``${a.b}`` filled from ``params``) and outs."""
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))

    def fill(text: str) -> str:
        def value(m: re.Match[str]) -> str:
            node: Any = params
            for key in m.group(1).split("."):
                node = node[key]
            return str(node)

        return re.sub(r"\$\{([^}]+)\}", value, text)

    out = {}
    for name, stage in spec["stages"].items():
        outs = [fill(next(iter(o)) if isinstance(o, dict) else o) for o in stage.get("outs", [])]
        out[name] = {"cmd": " ".join(fill(stage["cmd"]).split()), "outs": outs}
    return out


def prepare(n: int) -> Path:
    """The run folder for ``n`` nominals: dvc.yaml, params.yaml (nominals = n), clerical/."""
    run = RUNS / f"n{n}"
    run.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["simulate"]["nominals"] = n
    # Written beside and renamed over: a run folder made of hard links to another run's
    # files (`cp -al`) gets its own copies, never a write into the shared ones.
    fresh = run / "params.yaml.tmp"
    fresh.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    os.replace(fresh, run / "params.yaml")
    # dvc.yaml makes the run folder the project root (MLflow store).
    shutil.copy2(ROOT / "dvc.yaml", run / "dvc.yaml.tmp")
    os.replace(run / "dvc.yaml.tmp", run / "dvc.yaml")
    (run / params["link"]["decisions_dir"]).mkdir(exist_ok=True)
    return run


def _available() -> int:
    with open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def _rows(path: Path) -> int:
    """Rows of the Parquet files (footer counts) and CSV files (lines less the header) under ``path``."""
    import pyarrow.parquet as pq

    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    total = 0
    for f in files:
        if f.name.startswith("_") or any(part.startswith("_") for part in f.relative_to(path).parts[:-1]):
            continue  # the simulator's _truth/ and other private folders are not the stage's output
        if f.suffix == ".parquet":
            total += pq.ParquetFile(f).metadata.num_rows
        elif f.suffix == ".csv":
            with f.open("rb") as fh:
                total += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1
    return total


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def run_stage(run: Path, name: str, cmd: str, min_free: float) -> dict[str, Any]:
    """Run one stage command under nice and /usr/bin/time -v; its measurements."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "MLFLOW_DISABLE_TELEMETRY": "true"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    log = run / "logs" / f"{name}.log"
    log.parent.mkdir(exist_ok=True)
    load_start = os.getloadavg()
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.Popen(
            ["nice", "-n", "10", "/usr/bin/time", "-v", "sh", "-c", cmd],
            cwd=run,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        peak, stopped = 0, ""
        done = threading.Event()

        def watch() -> None:
            nonlocal peak, stopped
            while not done.wait(0.5):
                peak = max(peak, tree_rss(proc.pid))
                if _available() < min_free * GIB:
                    stopped = f"available memory under {min_free} GiB"
                    os.killpg(proc.pid, signal.SIGTERM)
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        rc = proc.wait()
        done.set()
        watcher.join()
    wall = time.perf_counter() - start
    text = log.read_text(encoding="utf-8", errors="replace")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return {
        "stage": name,
        "cmd": cmd,
        "rc": rc,
        "stopped": stopped,
        "wall_s": round(wall, 1),
        "max_rss_gib": round(int(m.group(1)) * 1024 / GIB, 2) if m else None,
        "tree_peak_gib": round(peak / GIB, 2),
        "load_start": round(load_start[0], 2),
        "load_end": round(os.getloadavg()[0], 2),
        "finished_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


def bench(n: int, stages: list[str] | None, from_stage: str | None, min_free: float) -> None:
    run = prepare(n)
    params = yaml.safe_load((run / "params.yaml").read_text(encoding="utf-8"))
    commands = stage_commands(params)
    names = list(commands)
    if from_stage:
        names = names[names.index(from_stage) :]
    if stages:
        names = [s for s in names if s in stages]
    record_path = run / "bench.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {"nominals": n, "stages": {}}
    record["machine"] = {
        "cpus": os.cpu_count(),
        "mem_gib": round(os.sysconf("SC_PHYS_PAGES") * PAGE / GIB, 1),
    }
    record["python"] = platform.python_version()
    for name in names:
        print(f"[n={n}] {name}: {commands[name]['cmd']}", flush=True)
        result = run_stage(run, name, commands[name]["cmd"], min_free)
        result["rows"] = {o: _rows(run / o) for o in commands[name]["outs"] if (run / o).exists()}
        result["out_mb"] = {o: round(_size(run / o) / 2**20, 1) for o in commands[name]["outs"]}
        record["stages"][name] = result
        record_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        write_table()
        print(
            f"[n={n}] {name}: rc={result['rc']} {result['wall_s']} s, "
            f"{result['tree_peak_gib']} GiB (tree), load {result['load_start']}->{result['load_end']}",
            flush=True,
        )
        if result["rc"] != 0:
            raise SystemExit(
                f"stage {name} at {n} nominals failed (rc {result['rc']}"
                f"{', ' + result['stopped'] if result['stopped'] else ''}); "
                f"see {run / 'logs' / (name + '.log')}"
            )


def stage_commands_names() -> list[str]:
    """The stage names of ``dvc.yaml``, in order."""
    return list(yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"])


def _cpu_seconds(n: int, stage: str) -> float | None:
    """User + system CPU seconds of a stage, from its ``/usr/bin/time -v`` log (None if killed)."""
    log = RUNS / f"n{n}" / "logs" / f"{stage}.log"
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    found = re.findall(r"(?:User|System) time \(seconds\): ([0-9.]+)", text)
    return sum(float(x) for x in found) if len(found) == 2 else None


def _fmt_rows(rows: dict[str, int]) -> str:
    return ", ".join(f"{Path(k).name} {v:,}" for k, v in rows.items() if v) or "-"


def write_table() -> Path:
    """``scaling_local.md`` from every ``runs/n*/bench.json``: sizes side by side, ratios of the last two."""
    records = sorted(
        (json.loads(p.read_text()) for p in RUNS.glob("n*/bench.json")), key=lambda r: r["nominals"]
    )
    lines = [
        "# The whole pipeline on one machine: 200k and 1M nominals (local engine)",
        "",
        "Written by `benchmarks/bench_scaling.py` (rerun: "
        "`.venv/bin/python benchmarks/bench_scaling.py --nominals 200000 1000000`). Every stage's "
        "command as `dvc.yaml` writes it, in its order, under `nice -n 10` and `/usr/bin/time -v`, "
        "`params.yaml` with only `simulate.nominals` changed. Wall = the stage command (DVC's own "
        "hashing of outputs is not included). CPU = user + system seconds (`/usr/bin/time`): less "
        "dependent on the machine's load than the wall, so the ratio to read for scaling. "
        "Peak = the peak sum of resident memory over the stage's "
        "process tree, sampled every 0.5 s (worker processes count); `max RSS` is `/usr/bin/time`'s "
        "largest single process. Load = the 1-minute load average at the stage's start / end: the "
        "machine (2 cores, 24 GiB) is shared with other engineers' jobs, so walls are upper bounds.",
        "",
    ]
    if not records:
        lines.append("(no run yet)")
    sizes = [r["nominals"] for r in records]
    stage_names: list[str] = []
    for r in records:
        stage_names += [s for s in r["stages"] if s not in stage_names]
    head = ["stage"]
    for n in sizes:
        head += [f"wall {n:,}", f"CPU {n:,}", f"peak GiB {n:,}", f"load {n:,}"]
    if len(sizes) >= 2:
        head += [f"CPU ratio {sizes[-1]:,}/{sizes[-2]:,}", "wall ratio", "peak ratio"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    totals = {n: 0.0 for n in sizes}
    peaks = {n: 0.0 for n in sizes}
    done = {n: 0 for n in sizes}
    for s in stage_names:
        row = [s]
        for r in records:
            st = r["stages"].get(s)
            if st is None:
                row += ["-", "-", "-", "-"]
                continue
            cpu = _cpu_seconds(r["nominals"], s)
            flag = "" if st["rc"] == 0 else f" **stopped** ({st['stopped'] or 'rc ' + str(st['rc'])})"
            row += [
                f"{st['wall_s']:,.0f} s{flag}",
                "-" if cpu is None else f"{cpu:,.0f} s",
                f"{st['tree_peak_gib']:.1f} (max RSS {st['max_rss_gib'] or '-'})",
                f"{st['load_start']} / {st['load_end']}",
            ]
            if st["rc"] == 0:
                totals[r["nominals"]] += st["wall_s"]
                done[r["nominals"]] += 1
            peaks[r["nominals"]] = max(peaks[r["nominals"]], st["tree_peak_gib"])
        if len(sizes) >= 2:
            a, b = records[-2]["stages"].get(s), records[-1]["stages"].get(s)
            ok = a and b and a["rc"] == 0 and b["rc"] == 0 and a["wall_s"] > 0 and a["tree_peak_gib"] > 0
            if ok:
                ca = _cpu_seconds(records[-2]["nominals"], s)
                cb = _cpu_seconds(records[-1]["nominals"], s)
                row += [
                    f"{cb / ca:.1f}" if ca and cb else "-",
                    f"{b['wall_s'] / a['wall_s']:.1f}",
                    f"{b['tree_peak_gib'] / a['tree_peak_gib']:.1f}",
                ]
            else:
                row += ["-", "-", "-"]
        lines.append("| " + " | ".join(row) + " |")
    total_row = ["**stages completed: sum of walls, max of peaks**"]
    for n in sizes:
        total_row += [
            f"**{totals[n] / 60:,.1f} min** ({done[n]} of {len(stage_commands_names())} stages)",
            "",
            f"**{peaks[n]:.1f}**",
            "",
        ]
    if len(sizes) >= 2 and totals[sizes[-2]] and done[sizes[-1]] == done[sizes[-2]]:
        total_row += [
            "",
            f"{totals[sizes[-1]] / totals[sizes[-2]]:.1f}",
            f"{peaks[sizes[-1]] / max(peaks[sizes[-2]], 1e-9):.1f}",
        ]
    lines.append("| " + " | ".join(total_row) + " |")
    lines += [
        "",
        f"People ratio {sizes[-1] / sizes[-2]:.0f}x: a linear stage has a CPU ratio near it."
        if len(sizes) >= 2
        else "",
        "",
    ]
    lines += [
        "## Output rows and sizes",
        "",
        "| stage | " + " | ".join(f"{n:,}" for n in sizes) + " |",
        "|" + "---|" * (len(sizes) + 1),
    ]
    for s in stage_names:
        cells = []
        for r in records:
            st = r["stages"].get(s)
            if st is None:
                cells.append("-")
                continue
            mb = ", ".join(f"{Path(k).name} {v:,.0f} MB" for k, v in st.get("out_mb", {}).items())
            cells.append(f"{_fmt_rows(st.get('rows', {}))}; {mb}")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines += ["", "## Commands", ""]
    if records:
        for s in stage_names:
            st = next((r["stages"][s] for r in records if s in r["stages"]), None)
            if st:
                lines.append(f"- {s}: `{st['cmd']}`")
        lines.append("")
        for r in records:
            ends = [st["finished_utc"] for st in r["stages"].values()]
            lines.append(f"- {r['nominals']:,} nominals: stages finished {min(ends)} to {max(ends)} UTC")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return RESULT


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nominals", type=int, nargs="+", default=[200_000, 1_000_000])
    ap.add_argument("--stages", nargs="+", help="only these stages (their inputs must exist)")
    ap.add_argument("--from-stage", help="resume: this stage and every later one")
    ap.add_argument(
        "--min-free-gib", type=float, default=2.0, help="stop a stage below this available memory"
    )
    ap.add_argument("--table-only", action="store_true", help="only rewrite the table from the recorded runs")
    args = ap.parse_args()
    if not args.table_only:
        for n in args.nominals:
            bench(n, args.stages, args.from_stage, args.min_free_gib)
    print(write_table())


if __name__ == "__main__":
    main()
