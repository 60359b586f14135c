#!/usr/bin/env python3
"""table.py RESULTS.jsonl — a markdown table of the references per workload
and tier: median CPU ms per run with the interquartile range."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1])]
cols = ["input", "loom", "Oz", "O3", "O4"]
t = {}
for r in rows:
    if r["timing"].get("ok") and r["variant"] in cols:
        t[(r["workload"], r["tier"], r["variant"])] = r["timing"]
workloads = list(dict.fromkeys(r["workload"] for r in rows))
print("| workload | tier | " + " | ".join(cols) + " |")
print("|---|---|" + "---|" * len(cols))
for w in workloads:
    for tier in ("turbofan", "liftoff"):
        cells = []
        for c in cols:
            x = t.get((w, tier, c))
            cells.append(f"{x['cpu_median_ms']:.2f} ({x['cpu_q1_ms']:.2f}–{x['cpu_q3_ms']:.2f})" if x else "–")
        print(f"| {w} | {tier} | " + " | ".join(cells) + " |")
