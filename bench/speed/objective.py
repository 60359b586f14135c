#!/usr/bin/env python3
"""Does `--objective cycles` find pipelines V8 runs faster than wasm-opt?

  bench/speed/objective.py --build DIR [--workloads crc32,sort,...]
                           [--time-budget 180] [--reps 21] [--seed 1]

For each workload: runs the main job (`loom-evolve IN --objective cycles`,
verified as always) within the time budget, writes what `wasm-opt -O3` and
`-O4` (the tool itself) write, then times the three in one Node process
(--no-liftoff, round-robin, every run's result checked against the input's)
and prints one JSON line per workload. Outputs in DIR/speed-objective.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import speed  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(speed.REPO, "build-cost"))
    ap.add_argument("--workloads", default="crc32,sort,licm,strings")
    ap.add_argument("--time-budget", type=int, default=180)
    ap.add_argument("--reps", type=int, default=21)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-search", action="store_true", help="time the outputs of an earlier run")
    args = ap.parse_args()
    out = os.path.join(args.build, "speed-objective")
    os.makedirs(out, exist_ok=True)
    names = speed.prepare_inputs(out)
    evolve = os.path.join(args.build, "bin", "loom-evolve")
    for w in args.workloads.split(","):
        if w not in names:
            continue
        src = os.path.join(out, "in", w + ".wasm")
        d = os.path.join(out, w)
        os.makedirs(d, exist_ok=True)
        best = os.path.join(d, "cycles.wasm")
        report = os.path.join(d, "cycles.report.json")
        if not args.skip_search:
            subprocess.run([evolve, src, "--objective", "cycles", "--time-budget",
                            str(args.time_budget), "--seed", str(args.seed), "-o", best,
                            "--report", report, "--proof-store", os.path.join(out, "proofs.db")],
                           check=True, stdout=subprocess.DEVNULL)
        refs = {}
        for level in ("O3", "O4"):
            refs[level] = os.path.join(d, f"wasm-opt-{level}.wasm")
            subprocess.run(["wasm-opt", f"-{level}", src, "-o", refs[level]], check=True)
        candidates = [best, refs["O3"], refs["O4"]]
        t = speed.time_modules(w, src, candidates, "turbofan", 3, args.reps)
        rep = json.load(open(report)) if os.path.exists(report) else {}
        winner = rep.get("best", {})
        row = {"workload": w,
               "phases": winner.get("config", {}).get("phases"),
               "unroll": winner.get("config", {}).get("unroll"),
               "timing": {k: {s: t[p].get(s) for s in ("ok", "cpu_median_ms", "cpu_q1_ms", "cpu_q3_ms",
                                                       "median_ms", "reason")}
                          for k, p in zip(("cycles", "O3", "O4"), candidates)}}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
