// Times one workload on one module in this Node process, after checking that
// the module computes what the original computes.
//
//   node [--no-liftoff | --liftoff --no-wasm-tier-up] bench/speed/run.mjs \
//     --workload NAME --original ORIG.wasm --candidate CAND.wasm \
//     [--candidate CAND2.wasm ...] [--warmup 3] [--reps 9]
//
// Prints one JSON line per candidate: the result, the tier, and the run
// times in ms (median, quartiles, min, max, every sample), as wall-clock
// time and as the process's CPU time (cpu_*: user + system, which a busy
// machine disturbs far less, since time spent preempted is not counted). Every run of a
// candidate is checked: one whose result differs from the original's (or
// that traps where the original does not) is not timed: its line has
// "ok": false and the exit status is 1.
import { readFileSync } from 'node:fs';
import { byName } from './workloads.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const workload = byName[opt('workload')];
if (!workload) {
  console.error(`run.mjs: unknown workload ${opt('workload')}`);
  process.exit(2);
}
const warmup = Number(opt('warmup', 3));
const reps = Number(opt('reps', 9));
const flags = process.execArgv.join(' ');
const tier = /--no-liftoff/.test(flags) ? 'turbofan' : /--no-wasm-tier-up/.test(flags) ? 'liftoff' : 'default';

function load(path) {
  const module = new WebAssembly.Module(readFileSync(path));
  return () => {
    const ctx = { exports: null };
    const instance = new WebAssembly.Instance(module, workload.imports(module, ctx));
    ctx.exports = instance.exports;
    return { instance, ctx };
  };
}

function once(fresh) {
  const { instance, ctx } = fresh();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = workload.run(instance, ctx);
  const t1 = process.hrtime.bigint();
  const c1 = process.cpuUsage(c0);
  return { result, ms: Number(t1 - t0) / 1e6, cpu: (c1.user + c1.system) / 1e3 };
}

const candidates = [];
for (let i = 0; i < args.length; i++) if (args[i] === '--candidate') candidates.push(args[i + 1]);

function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => {
    const x = p * (s.length - 1);
    const lo = Math.floor(x);
    return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (x - lo);
  };
  return {
    median_ms: q(0.5),
    q1_ms: q(0.25),
    q3_ms: q(0.75),
    min_ms: s[0],
    max_ms: s[s.length - 1],
    samples_ms: samples.map((x) => Math.round(x * 1000) / 1000),
  };
}

let expected;
try {
  expected = once(load(opt('original'))).result;
} catch (e) {
  console.log(JSON.stringify({ workload: workload.name, tier, ok: false, reason: `original: ${e.message ?? e}` }));
  process.exit(1);
}
// Candidates are timed round-robin, one run of each per round, so a busy
// spell on the machine falls on all of them alike.
const state = candidates.map((path) => ({ path, samples: [], cpu: [], out: { workload: workload.name, tier, candidate: path } }));
for (const c of state) {
  try {
    c.fresh = load(c.path);
  } catch (e) {
    Object.assign(c.out, { ok: false, reason: String(e.message ?? e) });
  }
}
for (let i = 0; i < warmup + reps; i++) {
  for (const c of state) {
    if (c.out.ok === false) continue;
    try {
      const { result, ms, cpu } = once(c.fresh);
      if (result !== expected) {
        Object.assign(c.out, { ok: false, reason: `result ${result} differs from the original's ${expected}` });
      } else if (i >= warmup) {
        c.samples.push(ms);
        c.cpu.push(cpu);
      }
    } catch (e) {
      Object.assign(c.out, { ok: false, reason: String(e.message ?? e) });
    }
  }
}
let failed = false;
for (const c of state) {
  if (c.out.ok !== false) {
    const cpu = summary(c.cpu);
    const prefixed = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [`cpu_${k}`, v]));
    Object.assign(c.out, { ok: true, result: expected }, summary(c.samples), prefixed);
  }
  else failed = true;
  console.log(JSON.stringify(c.out));
}
process.exit(failed ? 1 : 0);
