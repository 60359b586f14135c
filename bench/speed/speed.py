#!/usr/bin/env python3
"""The cycle model against V8: builds pipeline variants of every workload,
times them in Node, and ranks the model's estimates against the times.

  bench/speed/speed.py [--build DIR] [--out DIR] [--workloads a,b] [--random N]
                       [--reps N] [--warmup N] [--tiers turbofan,liftoff]
                       [--seed S] [--analyze-only | --remeasure]

Needs `speed_probe` built in DIR (default build-cost; `ninja -C DIR
speed_probe`), the corpus modules fetched (scripts/fetch-corpus; missing ones
are skipped), wasm-opt and node on PATH. Writes OUT (default DIR/speed):
  in/NAME.wasm            the input of each workload
  NAME/VARIANT.wasm       each pipeline's output (unverified: the harness
                          checks each one computes the original's results)
  results.jsonl           one line per (workload, variant, tier)
  summary.json            Spearman per workload, overall, and the median
  scatter.dat             estimated/measured ratios to the input, per point
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

FIXTURES = ["crc32", "matmul", "sort", "loops", "arith", "floats", "helpers", "strings",
            "state_machine", "licm"]
CORPUS = ["as-sha256", "as-chacha20", "lz4", "farmhash", "wasm-gzip", "jsq-png"]
TIERS = {"turbofan": ["--no-liftoff"], "liftoff": ["--liftoff", "--no-wasm-tier-up"]}


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def prepare_inputs(out):
    d = os.path.join(out, "in")
    os.makedirs(d, exist_ok=True)
    names = []
    for f in FIXTURES:
        dst = os.path.join(d, f + ".wasm")
        sh(["wasm-opt", "--enable-sign-ext", "--enable-mutable-globals", "--emit-target-features",
            os.path.join(REPO, "tests", "fixtures", f + ".wat"), "-o", dst])
        names.append(f)
    shutil.copyfile(os.path.join(REPO, "examples", "example.wasm"), os.path.join(d, "example.wasm"))
    names.append("example")
    corpus = os.environ.get("LOOM_CORPUS_DIR", os.path.join(REPO, "build", "corpus"))
    for c in CORPUS:
        src = os.path.join(corpus, c + ".wasm")
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(d, c + ".wasm"))
            names.append(c)
        else:
            print(f"{c}: skipped (not in {corpus}; scripts/fetch-corpus --names {c})", file=sys.stderr)
    return names


def variant_configs(probe, seed, n_random):
    """(name, config dict) for every pipeline variant."""
    base = {name: json.loads(sh([probe, "config", name])) for name in
            ["loom", "O", "Os", "Oz", "O3", "O4"]}
    out = list(base.items())
    o3 = base["O3"]
    for strategy, factor in [("innermost", 2), ("innermost", 4), ("innermost", 8), ("all", 4)]:
        c = json.loads(json.dumps(o3))
        c["phases"] = ["unroll"] + c["phases"]
        c["unroll"] = {"strategy": strategy, "factor": factor, "max_body_size": 64}
        out.append((f"unroll-{strategy}{factor}-O3", c))
    # unrolled without the cleanup: every copy keeps its exit test and blocks
    c = json.loads(json.dumps(base["O"]))
    c["phases"] = c["phases"] + ["unroll", "vacuum"]
    c["unroll"] = {"strategy": "innermost", "factor": 4, "max_body_size": 64}
    out.append(("O-unroll-innermost4", c))
    # random pipelines over the phases the built-ins use, plus the unroller
    vocab = sorted({p for c in base.values() for p in c["phases"]})
    rng = random.Random(seed)
    for i in range(n_random):
        c = json.loads(json.dumps(o3))
        c["phases"] = [rng.choice(vocab) for _ in range(rng.randint(2, 24))]
        c["optimize_level"] = rng.randint(0, 4)
        c["shrink_level"] = rng.randint(0, 2)
        if rng.random() < 0.4:
            c["phases"].insert(rng.randrange(len(c["phases"]) + 1), "unroll")
            c["phases"].append("vacuum")
            c["unroll"] = {"strategy": rng.choice(["innermost", "all"]),
                           "factor": rng.choice([2, 4, 8]), "max_body_size": 64}
        out.append((f"random{i:02d}", c))
    return out


def spearman(xs, ys):
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return r
    if len(xs) < 3:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    den = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return num / den if den else None


def time_modules(workload, original, candidates, tier, warmup, reps):
    """Times candidates round-robin in one Node process: {path: timing}."""
    cmd = ["node", *TIERS[tier], os.path.join(HERE, "run.mjs"), "--workload", workload,
           "--original", original, "--warmup", str(warmup), "--reps", str(reps)]
    for c in candidates:
        cmd += ["--candidate", c]
    p = subprocess.run(cmd, text=True, capture_output=True)
    out = {}
    for line in p.stdout.splitlines():
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "candidate" in d:
            out[d["candidate"]] = d
    for c in candidates:
        out.setdefault(c, {"ok": False, "reason": (p.stderr or p.stdout)[-300:]})
    return out


def collect(args, probe, out):
    names = prepare_inputs(out)
    if args.workloads:
        keep = set(args.workloads.split(","))
        names = [n for n in names if n in keep]
    configs = variant_configs(probe, args.seed, args.random)
    tiers = args.tiers.split(",")
    results = open(os.path.join(out, "results.jsonl"), "a" if args.append else "w")
    for w in names:
        src = os.path.join(out, "in", w + ".wasm")
        d = os.path.join(out, w)
        os.makedirs(d, exist_ok=True)
        variants = [("input", None, src)]
        for name, cfg in configs:
            cpath = os.path.join(d, name + ".json")
            with open(cpath, "w") as f:
                json.dump(cfg, f)
            dst = os.path.join(d, name + ".wasm")
            p = subprocess.run([probe, "apply", cpath, src, dst], text=True, capture_output=True)
            if p.returncode != 0:
                print(f"{w}/{name}: pipeline failed: {p.stderr.strip()[:200]}", file=sys.stderr)
                continue
            variants.append((name, cfg, dst))
        metrics = {}
        for line in sh([probe, "measure", *[v[2] for v in variants]]).splitlines():
            m = json.loads(line)
            metrics[m["module"]] = m
        digests = {path: hashlib.sha256(open(path, "rb").read()).hexdigest() for _, _, path in variants}
        for tier in tiers:
            # the baseline tier only for the input and the references
            chosen = [v for v in variants if tier == "turbofan" or v[0] in ("input", "O3", "O4", "Oz", "loom")]
            unique = {}  # identical outputs are timed once
            for _, _, path in chosen:
                unique.setdefault(digests[path], path)
            timed = time_modules(w, src, list(unique.values()), tier, args.warmup, args.reps)
            for name, cfg, path in chosen:
                t = timed[unique[digests[path]]]
                row = {"workload": w, "variant": name, "tier": tier, "sha256": digests[path][:16],
                       "metrics": metrics[path], "timing": t}
                results.write(json.dumps(row) + "\n")
                results.flush()
                status = (f"cpu {t['cpu_median_ms']:.3f} ms [q1 {t['cpu_q1_ms']:.3f}, q3 {t['cpu_q3_ms']:.3f}]"
                          f" wall {t['median_ms']:.3f}" if t.get("ok") else
                          "MISMATCH/ERROR: " + t.get("reason", "")[:100])
                print(f"{w:14s} {name:26s} {tier:8s} cycles {metrics[path]['cycles']:>14.0f}  {status}",
                      flush=True)


def analyze(out, stat):
    rows = [json.loads(l) for l in open(os.path.join(out, "results.jsonl"))]
    rows = [r for r in rows if r["tier"] == "turbofan" and r["timing"].get("ok")]
    by_w = {}
    for r in rows:  # one point per distinct output (identical bytes, identical point)
        vs = by_w.setdefault(r["workload"], {})
        if r["variant"] == "input" or all(v["sha256"] != r["sha256"] for v in vs.values()):
            vs[r["variant"]] = r
    per = {}
    pooled_x, pooled_y = [], []
    scatter = []
    for w, vs in by_w.items():
        xs = [v["metrics"]["cycles"] for v in vs.values()]
        ys = [v["timing"][stat] for v in vs.values()]
        rho = spearman(xs, ys)
        per[w] = {"spearman": rho, "points": len(xs)}
        base = vs.get("input")
        if base:
            bx, by = base["metrics"]["cycles"], base["timing"][stat]
            for name, v in vs.items():
                rx, ry = v["metrics"]["cycles"] / bx, v["timing"][stat] / by
                pooled_x.append(rx)
                pooled_y.append(ry)
                scatter.append((w, name, rx, ry))
    vals = sorted(v["spearman"] for v in per.values() if v["spearman"] is not None)
    summary = {"stat": stat, "per_workload": per,
               "median_workload_spearman": statistics.median(vals) if vals else None,
               "pooled_spearman_of_ratios": spearman(pooled_x, pooled_y)}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(out, "scatter.dat"), "w") as f:
        f.write("# workload variant est_ratio measured_ratio (to the input)\n")
        for w, name, rx, ry in scatter:
            f.write(f"{w} {name} {rx:.6g} {ry:.6g}\n")
    for w in sorted(per):
        rho = per[w]["spearman"]
        print(f"{w:14s} n={per[w]['points']:3d}  spearman {rho:+.3f}" if rho is not None else
              f"{w:14s} n={per[w]['points']:3d}  spearman -")
    print(f"median workload spearman: {summary['median_workload_spearman']:+.3f}; "
          f"pooled (ratios to the input): {summary['pooled_spearman_of_ratios']:+.3f}")
    return summary


def remeasure(out, probe):
    """Measures every timed variant again with this probe's cost model
    (the timings do not depend on the model)."""
    path = os.path.join(out, "results.jsonl")
    rows = [json.loads(l) for l in open(path)]
    files = {}
    for r in rows:
        w, v = r["workload"], r["variant"]
        files[(w, v)] = os.path.join(out, "in", w + ".wasm") if v == "input" else \
            os.path.join(out, w, v + ".wasm")
    uniq = sorted(set(files.values()))
    metrics = {}
    for i in range(0, len(uniq), 50):
        for line in sh([probe, "measure", *uniq[i:i + 50]]).splitlines():
            m = json.loads(line)
            metrics[m["module"]] = m
    with open(path + ".part", "w") as f:
        for r in rows:
            r["metrics"] = metrics[files[(r["workload"], r["variant"])]]
            f.write(json.dumps(r) + "\n")
    os.replace(path + ".part", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(REPO, "build-cost"))
    ap.add_argument("--out")
    ap.add_argument("--workloads")
    ap.add_argument("--random", type=int, default=12)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--tiers", default="turbofan,liftoff")
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--stat", default="cpu_median_ms")
    ap.add_argument("--append", action="store_true")
    ap.add_argument("--analyze-only", action="store_true")
    ap.add_argument("--remeasure", action="store_true",
                    help="measure the variants of an earlier run again with this build's model")
    args = ap.parse_args()
    out = args.out or os.path.join(args.build, "speed")
    os.makedirs(out, exist_ok=True)
    probe = os.path.join(args.build, "bin", "speed_probe")
    if args.remeasure:
        remeasure(out, probe)
    elif not args.analyze_only:
        collect(args, probe, out)
    analyze(out, args.stat)


if __name__ == "__main__":
    main()
