#!/usr/bin/env node
// wasm-run.mjs — deterministic executor for exported functions of a .wasm
// module, used by loom-evolve's tests to compare an original module with an
// optimized one (and to replay Z3 counterexamples).
//
// Node >= 18 ES module, no npm dependencies.
//
// Usage:
//   node scripts/wasm-run.mjs < request.json
//   node scripts/wasm-run.mjs request.json
//
// Request (JSON):
//   {
//     "module": "/path/x.wasm",
//     "calls": [ {
//        "export": "f",
//        "args": ["5", "-3"],            // one string per parameter:
//                                        //   i32/i64: signed or unsigned decimal
//                                        //     (also "0x..." hex, or "bits:0x..."
//                                        //     = raw two's-complement bit pattern)
//                                        //   f32/f64: decimal ("1.5", "-0", "nan",
//                                        //     "inf", "-inf") or "bits:0x7fc00000" /
//                                        //     "bits:0x7ff8000000000000"
//        "memory_size_pages": 2,         // optional: grow exported "memory" to >= N pages
//        "memory_writes": [ {"address": 1024, "hex": "0a0b0c"} ],   // optional
//        "globals": { "g": "7" },        // optional: set exported mutable globals
//        "import_results": ["1", "2"]    // optional: the i-th call to ANY imported
//                                        //   function (counting across all imports,
//                                        //   including those without results, and
//                                        //   including calls made by the start
//                                        //   function during instantiation) returns
//                                        //   entry i; absent/exhausted -> 0
//     } ],
//     "fresh_instance_per_call": true,   // default true
//     "dump_memory": "hash",             // "hash" (default) | "full" | "none"
//     "import_log_limit": 1000           // optional: log at most N import calls
//                                        //   per call (a non-terminating caller
//                                        //   can make millions); see "imports"
//   }
//
//   or { "batch": [ <request>, <request>, ... ] }
//     -> {"batch":[ <response>, ... ]}: each request (a calls request or a
//        list_exports request) is answered in order as if sent alone, in one
//        Node process; a request that fails gives {"error":"..."} in its slot
//        and the others still run (exit code 0). Only a malformed "batch"
//        itself is a top-level error.
//
//   or { "module": "/path/x.wasm", "list_exports": true }
//     -> {"exports":[{"name":"f","kind":"function","params":["i32"],"results":["i32"]},
//                    {"name":"memory","kind":"memory"},
//                    {"name":"g","kind":"global","type":"i32","mutable":true}, ...],
//         "imports":[{"module":"env","name":"log_i32","kind":"function",
//                     "params":["i32"],"results":[]}]}
//
// Response (stdout, exactly one JSON object, exit code 0):
//   {"results":[ {"export":"f","outcome":"return"|"trap","values":["..."],
//                 "trap":null|"<RuntimeError message>",
//                 "memory_sha256":"<hex>"|null, "memory_pages":N|null,
//                 ["memory_hex":"<hex>" only with dump_memory "full"],
//                 "globals":{"g":"..."},
//                 "imports":[{"module":"env","name":"log_i32","args":["3"]}],
//                 ["import_calls":N, only with import_log_limit: all import
//                  calls made, logged or not] } ]}
//   Values: i32/i64 as signed decimal strings, f32/f64 as "bits:0x%08x" /
//   "bits:0x%016x" of the IEEE bit pattern.
//   Memory / globals / import log are captured after the call, also after a
//   trap. Without an exported "memory", memory_sha256 and memory_pages are null.
//
// Errors (malformed request, unreadable/invalid module, unsupported import
// kinds, unknown export, wrong arity, bad value syntax, memory grow failure, ...):
//   stdout {"error":"..."} and exit code 2.
//
// NaN payloads: values cross the JS boundary as JS numbers (f64). V8 generally
// keeps NaN payload bits when passing f32/f64 values in and out, but this is not
// guaranteed by the JS/Wasm API (a signalling NaN may be quieted, and the
// f32<->f64 conversions may canonicalize). Tests comparing NaN results should
// therefore compare "is NaN" rather than exact bits unless both sides ran
// through this same runner with the same inputs.
//
// Stack exhaustion (RangeError "Maximum call stack size exceeded") is reported
// as outcome "trap" with trap "call stack exhausted".

import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

class RequestError extends Error {}

function fail(msg) {
  throw new RequestError(msg);
}

// ---------------------------------------------------------------------------
// Minimal binary parser: types, imports, functions, globals, exports.
// ---------------------------------------------------------------------------

const VALTYPES = {
  0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128',
  0x70: 'funcref', 0x6f: 'externref',
};

class Reader {
  constructor(bytes, pos = 0, end = bytes.length) {
    this.b = bytes; this.pos = pos; this.end = end;
  }
  eof() { return this.pos >= this.end; }
  byte() {
    if (this.pos >= this.end) fail('malformed module: unexpected end of section');
    return this.b[this.pos++];
  }
  u32() {
    // unsigned LEB128, up to 5 bytes; uses multiplication to stay unsigned
    let result = 0, mul = 1;
    for (let i = 0; i < 5; i++) {
      const x = this.byte();
      result += (x & 0x7f) * mul;
      if ((x & 0x80) === 0) return result;
      mul *= 128;
    }
    fail('malformed module: LEB128 too long');
  }
  sleb(maxBytes) {
    // signed LEB128 (value discarded by callers, only skipped / returned)
    let result = 0n, shift = 0n, x;
    for (let i = 0; i < maxBytes; i++) {
      x = this.byte();
      result |= BigInt(x & 0x7f) << shift;
      shift += 7n;
      if ((x & 0x80) === 0) {
        if (x & 0x40) result -= 1n << shift;
        return result;
      }
    }
    fail('malformed module: signed LEB128 too long');
  }
  bytes(n) {
    if (this.pos + n > this.end) fail('malformed module: unexpected end of section');
    const s = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  name() {
    const n = this.u32();
    return new TextDecoder('utf-8').decode(this.bytes(n));
  }
  valtype() {
    const t = this.byte();
    const name = VALTYPES[t];
    if (!name) fail(`unsupported value type 0x${t.toString(16)}`);
    return name;
  }
  limits() {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
}

function skipConstExpr(r) {
  for (;;) {
    const op = r.byte();
    switch (op) {
      case 0x0b: return;
      case 0x41: r.sleb(5); break;             // i32.const
      case 0x42: r.sleb(10); break;            // i64.const
      case 0x43: r.bytes(4); break;            // f32.const
      case 0x44: r.bytes(8); break;            // f64.const
      case 0x23: r.u32(); break;               // global.get
      case 0xd0: r.byte(); break;              // ref.null
      case 0xd2: r.u32(); break;               // ref.func
      case 0x6a: case 0x6b: case 0x6c:         // extended-const i32 ops
      case 0x7c: case 0x7d: case 0x7e: break;  // extended-const i64 ops
      case 0xfd: r.u32(); r.bytes(16); break;  // v128.const
      default: fail(`malformed module: unsupported opcode 0x${op.toString(16)} in constant expression`);
    }
  }
}

function parseModule(bytes) {
  const info = {
    types: [],          // {params, results}
    imports: [],        // {module, name, kind, typeIndex}
    funcTypes: [],      // type index per function index (imports first)
    globals: [],        // {type, mutable} per global index
    exports: [],        // {name, kind, index}
    unsupportedImports: [],
  };
  if (bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 ||
      bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    fail('malformed module: bad magic number (not a .wasm binary)');
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    fail('malformed module: unsupported binary version');
  }
  const top = new Reader(bytes, 8);
  while (!top.eof()) {
    const id = top.byte();
    const size = top.u32();
    const start = top.pos;
    if (start + size > bytes.length) fail('malformed module: section exceeds file size');
    const r = new Reader(bytes, start, start + size);
    switch (id) {
      case 1: { // type
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const form = r.byte();
          if (form !== 0x60) fail(`unsupported type form 0x${form.toString(16)} (only func types)`);
          const np = r.u32(); const params = [];
          for (let j = 0; j < np; j++) params.push(r.valtype());
          const nr = r.u32(); const results = [];
          for (let j = 0; j < nr; j++) results.push(r.valtype());
          info.types.push({ params, results });
        }
        break;
      }
      case 2: { // import
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const module = r.name();
          const name = r.name();
          const kind = r.byte();
          if (kind === 0) {
            const typeIndex = r.u32();
            info.imports.push({ module, name, kind: 'function', typeIndex });
            info.funcTypes.push(typeIndex);
          } else {
            const kindName = { 1: 'table', 2: 'memory', 3: 'global', 4: 'tag' }[kind] || `kind ${kind}`;
            info.unsupportedImports.push(`${module}.${name} (${kindName})`);
            // stop parsing: these are rejected anyway
            return info;
          }
        }
        break;
      }
      case 3: { // function
        const n = r.u32();
        for (let i = 0; i < n; i++) info.funcTypes.push(r.u32());
        break;
      }
      case 6: { // global
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const type = r.valtype();
          const mutable = r.byte() === 1;
          skipConstExpr(r);
          info.globals.push({ type, mutable });
        }
        break;
      }
      case 7: { // export
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const name = r.name();
          const kind = r.byte();
          const index = r.u32();
          const kindName = { 0: 'function', 1: 'table', 2: 'memory', 3: 'global', 4: 'tag' }[kind] || `kind${kind}`;
          info.exports.push({ name, kind: kindName, index });
        }
        break;
      }
      default:
        break; // custom and other sections are irrelevant here
    }
    top.pos = start + size;
  }
  return info;
}

function funcSig(info, funcIndex) {
  const ti = info.funcTypes[funcIndex];
  if (ti === undefined) fail(`malformed module: function index ${funcIndex} out of range`);
  const t = info.types[ti];
  if (!t) fail(`malformed module: type index ${ti} out of range`);
  return t;
}

// ---------------------------------------------------------------------------
// Value conversion
// ---------------------------------------------------------------------------

const I32_MIN = -(2n ** 31n), U32_MAX = 2n ** 32n - 1n;
const I64_MIN = -(2n ** 63n), U64_MAX = 2n ** 64n - 1n;

function parseBigIntLiteral(s, what) {
  if (typeof s === 'number') {
    if (!Number.isInteger(s)) fail(`${what}: ${s} is not an integer`);
    return BigInt(s);
  }
  if (typeof s !== 'string') fail(`${what}: value must be a string`);
  let str = s.trim();
  if (str.startsWith('bits:')) str = str.slice(5);
  let neg = false;
  if (str.startsWith('-')) { neg = true; str = str.slice(1); }
  else if (str.startsWith('+')) str = str.slice(1);
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(str)) fail(`${what}: invalid integer literal "${s}"`);
  const v = BigInt(str);
  return neg ? -v : v;
}

function parseFloatBits(s, bitsWidth, what) {
  let hex = s.slice(5).trim();
  if (!/^0x[0-9a-fA-F]+$/.test(hex)) fail(`${what}: invalid bit pattern "${s}"`);
  const v = BigInt(hex);
  if (v >= 1n << BigInt(bitsWidth)) fail(`${what}: bit pattern "${s}" too wide`);
  const dv = new DataView(new ArrayBuffer(8));
  if (bitsWidth === 32) { dv.setUint32(0, Number(v)); return dv.getFloat32(0); }
  dv.setBigUint64(0, v); return dv.getFloat64(0);
}

function parseFloatLiteral(s, bitsWidth, what) {
  if (typeof s === 'number') return s;
  if (typeof s !== 'string') fail(`${what}: value must be a string`);
  const str = s.trim();
  if (str.startsWith('bits:')) return parseFloatBits(str, bitsWidth, what);
  const low = str.toLowerCase();
  if (low === 'nan' || low === '+nan') return NaN;
  if (low === '-nan') return parseFloatBits(bitsWidth === 32 ? 'bits:0xffc00000' : 'bits:0xfff8000000000000', bitsWidth, what);
  if (low === 'inf' || low === '+inf' || low === 'infinity' || low === '+infinity') return Infinity;
  if (low === '-inf' || low === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(str)) fail(`${what}: invalid float literal "${s}"`);
  const v = Number(str);
  return bitsWidth === 32 ? Math.fround(v) : v;
}

// JS value to pass into wasm for a given wasm value type
function toWasm(type, s, what) {
  switch (type) {
    case 'i32': {
      const v = parseBigIntLiteral(s, what);
      if (v < I32_MIN || v > U32_MAX) fail(`${what}: ${s} out of i32 range`);
      return Number(BigInt.asIntN(32, v));
    }
    case 'i64': {
      const v = parseBigIntLiteral(s, what);
      if (v < I64_MIN || v > U64_MAX) fail(`${what}: ${s} out of i64 range`);
      return BigInt.asIntN(64, v);
    }
    case 'f32': return parseFloatLiteral(s, 32, what);
    case 'f64': return parseFloatLiteral(s, 64, what);
    default: fail(`${what}: unsupported value type ${type}`);
  }
}

function zeroOf(type) {
  switch (type) {
    case 'i64': return 0n;
    case 'i32': case 'f32': case 'f64': return 0;
    default: return null;
  }
}

// wasm value (as seen by JS) to the canonical output string
function fromWasm(type, v) {
  const dv = new DataView(new ArrayBuffer(8));
  switch (type) {
    case 'i32': return String(Number(v) | 0);
    case 'i64': return BigInt.asIntN(64, BigInt(v)).toString();
    case 'f32':
      dv.setFloat32(0, Number(v));
      return 'bits:0x' + dv.getUint32(0).toString(16).padStart(8, '0');
    case 'f64':
      dv.setFloat64(0, Number(v));
      return 'bits:0x' + dv.getBigUint64(0).toString(16).padStart(16, '0');
    default:
      return String(v);
  }
}

// ---------------------------------------------------------------------------
// Execution
// ---------------------------------------------------------------------------

function toHex(u8) {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('hex');
}

function listExports(info) {
  const exports = info.exports.map((e) => {
    if (e.kind === 'function') {
      const t = funcSig(info, e.index);
      return { name: e.name, kind: 'function', params: t.params, results: t.results };
    }
    if (e.kind === 'global') {
      const g = info.globals[e.index];
      return { name: e.name, kind: 'global', type: g ? g.type : null, mutable: g ? g.mutable : null };
    }
    return { name: e.name, kind: e.kind };
  });
  const imports = info.imports.map((im) => {
    const t = info.types[im.typeIndex] || { params: [], results: [] };
    return { module: im.module, name: im.name, kind: im.kind, params: t.params, results: t.results };
  });
  return { exports, imports };
}

function isStackOverflow(e) {
  return e instanceof RangeError && /call stack/i.test(String(e.message));
}

function run(req) {
  if (req === null || typeof req !== 'object' || Array.isArray(req)) fail('request must be a JSON object');
  if (typeof req.module !== 'string') fail('request.module must be a path string');

  let bytes;
  try { bytes = new Uint8Array(readFileSync(req.module)); }
  catch (e) { fail(`cannot read module ${req.module}: ${e.message}`); }

  const info = parseModule(bytes);
  if (info.unsupportedImports.length) {
    fail(`unsupported import kind: ${info.unsupportedImports.join(', ')} (only function imports are supported)`);
  }

  let compiled;
  try { compiled = new WebAssembly.Module(bytes); }
  catch (e) { fail(`invalid module: ${e.message}`); }

  if (req.list_exports) return listExports(info);

  if (!Array.isArray(req.calls)) fail('request.calls must be an array');
  const dumpMode = req.dump_memory === undefined ? 'hash' : req.dump_memory;
  if (!['hash', 'full', 'none'].includes(dumpMode)) fail('dump_memory must be "hash", "full" or "none"');
  const fresh = req.fresh_instance_per_call === undefined ? true : req.fresh_instance_per_call;
  const logLimit = req.import_log_limit === undefined ? Infinity : req.import_log_limit;
  if (logLimit !== Infinity && (!Number.isSafeInteger(logLimit) || logLimit < 0)) {
    fail('import_log_limit must be a non-negative integer');
  }
  if (typeof fresh !== 'boolean') fail('fresh_instance_per_call must be a boolean');

  const exportsByName = new Map(info.exports.map((e) => [e.name, e]));
  const exportedGlobals = info.exports.filter((e) => e.kind === 'global');

  // Per-call import context, swapped in before each call (and before
  // instantiation, so start-function import calls are attributed too).
  let ctx = { log: [], results: [], count: 0 };

  const importObject = {};
  for (const im of info.imports) {
    const t = info.types[im.typeIndex];
    if (!t) fail(`malformed module: import ${im.module}.${im.name} has bad type index`);
    importObject[im.module] ??= {};
    importObject[im.module][im.name] = (...args) => {
      const idx = ctx.count++;
      if (ctx.log.length < logLimit) {
        ctx.log.push({
          module: im.module,
          name: im.name,
          args: t.params.map((p, i) => fromWasm(p, args[i])),
        });
      }
      const supplied = idx < ctx.results.length ? ctx.results[idx] : undefined;
      const vals = t.results.map((rt, k) => {
        if (supplied === undefined || supplied === null) return zeroOf(rt);
        const s = t.results.length > 1 ? (Array.isArray(supplied) ? supplied[k] : undefined) : supplied;
        if (s === undefined || s === null) return zeroOf(rt);
        return toWasm(rt, s, `import_results[${idx}]`);
      });
      if (vals.length === 0) return undefined;
      if (vals.length === 1) return vals[0];
      return vals;
    };
  }

  // Validate all calls up front so that a malformed request never produces
  // partial output.
  const prepared = req.calls.map((c, ci) => {
    const where = `calls[${ci}]`;
    if (c === null || typeof c !== 'object') fail(`${where} must be an object`);
    const ex = exportsByName.get(c.export);
    if (!ex) fail(`${where}: no export named ${JSON.stringify(c.export)}`);
    if (ex.kind !== 'function') fail(`${where}: export ${JSON.stringify(c.export)} is a ${ex.kind}, not a function`);
    const sig = funcSig(info, ex.index);
    for (const t of [...sig.params, ...sig.results]) {
      if (!['i32', 'i64', 'f32', 'f64'].includes(t)) fail(`${where}: export ${c.export} uses unsupported type ${t}`);
    }
    const args = c.args === undefined ? [] : c.args;
    if (!Array.isArray(args)) fail(`${where}.args must be an array`);
    if (args.length !== sig.params.length) {
      fail(`${where}: export ${c.export} takes ${sig.params.length} argument(s), got ${args.length}`);
    }
    const jsArgs = sig.params.map((p, i) => toWasm(p, args[i], `${where}.args[${i}]`));
    if (c.import_results !== undefined && !Array.isArray(c.import_results)) fail(`${where}.import_results must be an array`);
    if (c.memory_writes !== undefined && !Array.isArray(c.memory_writes)) fail(`${where}.memory_writes must be an array`);
    const writes = (c.memory_writes || []).map((w, wi) => {
      if (w === null || typeof w !== 'object') fail(`${where}.memory_writes[${wi}] must be an object`);
      if (!Number.isSafeInteger(w.address) || w.address < 0) fail(`${where}.memory_writes[${wi}].address must be a non-negative integer`);
      if (typeof w.hex !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(w.hex)) fail(`${where}.memory_writes[${wi}].hex must be an even-length hex string`);
      return { address: w.address, data: Buffer.from(w.hex, 'hex') };
    });
    if ((writes.length || c.memory_size_pages !== undefined) &&
        !(exportsByName.get('memory') && exportsByName.get('memory').kind === 'memory')) {
      fail(`${where}: memory_writes/memory_size_pages given but the module exports no "memory"`);
    }
    if (c.memory_size_pages !== undefined &&
        (!Number.isSafeInteger(c.memory_size_pages) || c.memory_size_pages < 0 || c.memory_size_pages > 65536)) {
      fail(`${where}.memory_size_pages must be an integer in [0, 65536]`);
    }
    const globals = [];
    if (c.globals !== undefined) {
      if (c.globals === null || typeof c.globals !== 'object' || Array.isArray(c.globals)) fail(`${where}.globals must be an object`);
      for (const [name, val] of Object.entries(c.globals)) {
        const ge = exportsByName.get(name);
        if (!ge || ge.kind !== 'global') fail(`${where}.globals: no exported global named ${JSON.stringify(name)}`);
        const g = info.globals[ge.index];
        if (!g) fail(`${where}.globals: global ${name} has unknown type`);
        if (!g.mutable) fail(`${where}.globals: exported global ${JSON.stringify(name)} is immutable`);
        globals.push({ name, value: toWasm(g.type, val, `${where}.globals.${name}`) });
      }
    }
    return { name: c.export, sig, jsArgs, writes, pages: c.memory_size_pages, globals,
      importResults: c.import_results || [] };
  });

  const results = [];
  let shared = null;

  for (const p of prepared) {
    ctx = { log: [], results: p.importResults, count: 0 };
    const out = { export: p.name, outcome: 'return', values: [], trap: null };
    let instance = fresh ? null : shared;
    let trapped = null;

    if (!instance) {
      try {
        instance = new WebAssembly.Instance(compiled, importObject);
        if (!fresh) shared = instance;
      } catch (e) {
        if (e instanceof RequestError) throw e;
        if (e instanceof WebAssembly.RuntimeError) trapped = e.message;
        else if (isStackOverflow(e)) trapped = 'call stack exhausted';
        else fail(`instantiation failed: ${e.message}`);
      }
    }

    const exp = instance ? instance.exports : null;
    const mem = exp && exp.memory instanceof WebAssembly.Memory ? exp.memory : null;

    if (!trapped) {
      // Set up state, then call.
      if (p.pages !== undefined) {
        const cur = mem.buffer.byteLength / 65536;
        if (cur < p.pages) {
          try { mem.grow(p.pages - cur); }
          catch (e) { fail(`cannot grow memory to ${p.pages} pages: ${e.message}`); }
        }
      }
      for (const w of p.writes) {
        const buf = new Uint8Array(mem.buffer);
        if (w.address + w.data.length > buf.length) {
          fail(`memory write at ${w.address} (+${w.data.length} bytes) is out of bounds (memory is ${buf.length} bytes)`);
        }
        buf.set(w.data, w.address);
      }
      for (const g of p.globals) exp[g.name].value = g.value;

      try {
        const r = exp[p.name](...p.jsArgs);
        const vals = p.sig.results.length === 0 ? [] : (p.sig.results.length === 1 ? [r] : Array.from(r));
        out.values = p.sig.results.map((t, i) => fromWasm(t, vals[i]));
      } catch (e) {
        if (e instanceof RequestError) throw e;
        if (e instanceof WebAssembly.RuntimeError) trapped = e.message;
        else if (isStackOverflow(e)) trapped = 'call stack exhausted';
        else fail(`call to ${p.name} failed: ${e && e.message ? e.message : String(e)}`);
      }
    }

    if (trapped !== null) {
      out.outcome = 'trap';
      out.trap = trapped;
      out.values = [];
    }

    if (mem) {
      const u8 = new Uint8Array(mem.buffer);
      out.memory_sha256 = dumpMode === 'none' ? null : createHash('sha256').update(u8).digest('hex');
      out.memory_pages = u8.length / 65536;
      if (dumpMode === 'full') out.memory_hex = toHex(u8);
    } else {
      out.memory_sha256 = null;
      out.memory_pages = null;
    }

    out.globals = {};
    for (const ge of exportedGlobals) {
      const g = info.globals[ge.index];
      out.globals[ge.name] = exp ? fromWasm(g ? g.type : 'i32', exp[ge.name].value) : null;
    }
    out.imports = ctx.log;
    if (logLimit !== Infinity) out.import_calls = ctx.count;
    results.push(out);
  }
  return { results };
}

// ---------------------------------------------------------------------------

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  let text;
  try {
    text = process.argv[2] ? readFileSync(process.argv[2], 'utf8') : await readStdin();
  } catch (e) {
    throw new RequestError(`cannot read request: ${e.message}`);
  }
  let req;
  try { req = JSON.parse(text); }
  catch (e) { throw new RequestError(`malformed request JSON: ${e.message}`); }
  if (req !== null && typeof req === 'object' && !Array.isArray(req) && 'batch' in req) {
    if (!Array.isArray(req.batch)) fail('request.batch must be an array');
    // One process for many modules: Node's start-up dominates small runs.
    return {
      batch: req.batch.map((r) => {
        try { return run(r); }
        catch (e) {
          if (e instanceof RequestError) return { error: e.message };
          throw e;
        }
      }),
    };
  }
  return run(req);
}

main().then(
  (out) => { process.stdout.write(JSON.stringify(out) + '\n'); process.exitCode = 0; },
  (e) => {
    const msg = e instanceof RequestError ? e.message : `internal error: ${e && e.stack ? e.stack : String(e)}`;
    process.stdout.write(JSON.stringify({ error: msg }) + '\n');
    process.exitCode = 2;
  },
);
