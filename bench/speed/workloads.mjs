// The workloads of the speed benchmark: each one names a module, the imports
// it needs, and run(instance) -> result, which drives real exports with fixed
// inputs and returns what they computed (a string), so an optimized module's
// result can be compared with the original's.
//
// Sizes are chosen so one run takes roughly 5-50 ms in V8's optimizing tier
// on the 2-core development machine.
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, '..', '..');
export const corpusDir = process.env.LOOM_CORPUS_DIR || join(repo, 'build', 'corpus');

// A deterministic input generator (xorshift32).
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function bytes(n, seed, alphabet) {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = alphabet ? alphabet[r() % alphabet.length] : r() & 255;
  return out;
}

// Compressible text: words from a small vocabulary.
function text(n, seed) {
  const words = ['the', 'loom', 'weaves', 'a', 'wasm', 'module', 'into', 'faster', 'code', 'and',
    'smaller', 'bytes', 'pipeline', 'of', 'passes', 'verified', 'by', 'z3', 'islands', 'migrate'];
  const r = rng(seed);
  let s = '';
  while (s.length < n) s += words[r() % words.length] + (r() % 9 === 0 ? '.\n' : ' ');
  return new TextEncoder().encode(s.slice(0, n));
}

const digest = (u8) => createHash('sha256').update(u8).digest('hex').slice(0, 16);

// Mixes a returned value (number or BigInt) into a running 32-bit hash.
function mix(h, v) {
  if (typeof v === 'bigint') {
    h = mix(h, Number(v & 0xffffffffn));
    return mix(h, Number((v >> 32n) & 0xffffffffn));
  }
  if (typeof v === 'number' && !Number.isInteger(v)) {
    const f = new Float64Array([v]);
    const u = new Uint32Array(f.buffer);
    return mix(mix(h, u[0]), u[1]);
  }
  return (Math.imul(h ^ (v | 0), 0x9e3779b1) + 0x7f4a7c15) | 0;
}

// A fixture workload: calls (export, args) pairs from a fixed list, `rounds`
// times, hashing every result.
function fixture(name, rounds, calls) {
  return {
    name,
    kind: 'fixture',
    source: join(repo, 'tests', 'fixtures', `${name}.wat`),
    imports: () => ({}),
    run(instance) {
      const ex = instance.exports;
      const fns = calls.map(([f, ...args]) => [ex[f], args]);
      let h = 0;
      for (let r = 0; r < rounds; r++) {
        for (const [fn, args] of fns) h = mix(h, fn(...args.map((a) => (typeof a === 'function' ? a(r) : a))));
      }
      return String(h >>> 0);
    },
  };
}

const fixtures = [
  fixture('crc32', 150, [['crc_fill', (r) => r, 4095], ['crc32_bitwise', 4096, 2000]]),
  fixture('matmul', 2000, [['run', (r) => r, 7], ['run_trace', (r) => r * 3, 6], ['matmul4']]),
  fixture('sort', 2000, [['sort_checksum', (r) => r + 1, 400]].map((c) => c)),
  fixture('loops', 4000, [
    ['sum_to', 1023], ['nested_pairs', 63], ['fixed_nested', (r) => r], ['fixed_trip', (r) => r],
    ['fib', 63], ['collatz', (r) => r + 27], ['factorial', 20], ['nested_result', 40],
    ['early_exit', 1000, (r) => r % 900],
  ]),
  fixture('arith', 6000, [
    ['mul_const', (r) => r], ['div_pow2', (r) => r - 7000], ['udiv_rem', (r) => r * 7919],
    ['const_fold', (r) => r], ['cse', (r) => r, 5], ['sext16_shifts', (r) => r * 977],
    ['i64_kernel', 123456789n, 987654321n], ['rot_manual', (r) => r, 13], ['bitcount', (r) => r * 2654435761],
    ['smax', (r) => r, 5000], ['abs', (r) => 5000 - r], ['cmp_chain', (r) => r, 9000],
  ]),
  fixture('floats', 8000, [
    ['poly', (r) => r / 1000], ['newton_sqrt', (r) => r + 0.5], ['dist', 0.5, 1.5, (r) => r, 2.25],
    ['rounding', (r) => r / 7], ['mean', 64], ['minmax', (r) => r, 4000],
  ]),
  fixture('helpers', 1000, [
    ['poly', (r) => r], ['clamp_sum', (r) => r - 1500], ['range', (r) => r, 50], ['gcd', (r) => r * 17 + 1, 1071],
    ['fib_rec', 15], ['chain', (r) => r], ['parity_sum', 200],
  ]),
  fixture('strings', 12000, [
    ['strlen', 64], ['count_char', 64, 111], ['find', 64, 208], ['atoi', 240], ['str_cmp', 16, 64],
    ['upper_then_eq', 16, 64],
  ]),
  fixture('state_machine', 4000, [
    ['tokenize', 0, 100], ['tokenize', 64, 100], ['sum_numbers', 0, 100], ['vend', (r) => r * 2654435761],
  ]),
  fixture('licm', 3000, [
    ['scale', 200, (r) => r, 3], ['invariant_global', 200], ['invariant_load', 200, (r) => (r & 63) * 4],
    ['nested_invariant', 30, (r) => r], ['div_in_loop', 200, 7],
  ]),
];

// The bundled example (examples/example.wasm): its exports work on a 4 KiB buffer.
const example = {
  name: 'example',
  kind: 'example',
  source: join(repo, 'examples', 'example.wasm'),
  imports: () => ({}),
  run(instance) {
    const ex = instance.exports;
    const mem = () => new Uint8Array(ex.memory.buffer);
    const buf = ex.buffer_address();
    const input = text(4000, 7);
    let h = 0;
    for (let r = 0; r < 40; r++) {
      mem().set(input, buf);
      mem()[buf + 4000] = 0;
      h = mix(h, ex.murmur3(4000, r));
      h = mix(h, ex.crc32(4000));
      h = mix(h, ex.count_words());
      mem().set(text(16, r), buf + 100);
      h = mix(h, ex.compare_ignore_case(0, 40));
      mem().set(new TextEncoder().encode(` -${r}12345 `), buf);
      h = mix(h, ex.parse_int());
      h = mix(h, ex.pow_mod(BigInt(r + 3), 1000003n, 1000000007n));
      mem().set(input.subarray(0, 1024), buf);
      ex.blur(32, 32);
      h = mix(h, ex.murmur3(1024, 1));
      mem().set(input.subarray(0, 600), buf);
      ex.sort_bytes(600);
      h = mix(h, ex.murmur3(600, 2));
    }
    return String(h >>> 0);
  },
};

// ---- corpus modules (scripts/fetch-corpus puts them in build/corpus) ----

// AssemblyScript runtime imports.
const asImports = () => ({
  env: {
    abort() {
      throw new Error('abort');
    },
    seed: () => 42,
    'Date.now': () => 0,
  },
});

// @chainsafe/as-sha256: the package's own calling convention (lib/index.js):
// input buffer at the exported `input` global, 32-byte digest at `output`.
const asSha256 = {
  name: 'as-sha256',
  kind: 'corpus',
  source: join(corpusDir, 'as-sha256.wasm'),
  imports: asImports,
  run(instance) {
    const ex = instance.exports;
    const mem = () => new Uint8Array(ex.memory.buffer);
    const inPtr = ex.input.value;
    const outPtr = ex.output.value;
    const chunk = ex.INPUT_LENGTH.value;
    const data = bytes(64 * 1024, 11);
    const out = [];
    for (let round = 0; round < 6; round++) {
      ex.init();
      for (let off = 0; off < data.length; off += chunk) {
        const part = data.subarray(off, off + chunk);
        mem().set(part, inPtr);
        ex.update(inPtr, part.length);
      }
      ex.final(outPtr);
      out.push(digest(mem().slice(outPtr, outPtr + 32)));
      for (let i = 0; i < 200; i++) {
        mem().set(data.subarray(i * 64, i * 64 + 64), inPtr);
        ex.digest64(inPtr, outPtr);
      }
      out.push(digest(mem().slice(outPtr, outPtr + 32)));
    }
    return out.join(',');
  },
};

// @chainsafe/as-chacha20poly1305: ChaCha20 stream XOR and Poly1305, as
// lib/src/chacha20.js and poly1305.js drive them.
const asChacha = {
  name: 'as-chacha20',
  kind: 'corpus',
  source: join(corpusDir, 'as-chacha20.wasm'),
  imports: asImports,
  run(instance) {
    const ex = instance.exports;
    const mem = () => new Uint8Array(ex.memory.buffer);
    const n = ex.CHACHA20_INPUT_LENGTH.value;
    mem().set(bytes(32, 3), ex.chacha20Key.value);
    mem().set(bytes(16, 4), ex.chacha20Counter.value);
    const src = bytes(128 * 1024, 5);
    const h = createHash('sha256');
    for (let off = 0; off < src.length; off += n) {
      const part = src.subarray(off, off + n);
      mem().set(part, ex.chacha20Input.value);
      const len = ex.chacha20StreamXORUpdate(part.length);
      h.update(mem().slice(ex.chacha20Output.value, ex.chacha20Output.value + len));
    }
    const pn = 256;
    mem().set(bytes(32, 6), ex.poly1305Key.value);
    ex.poly1305Init();
    for (let off = 0; off < 64 * 1024; off += pn) {
      mem().set(src.subarray(off, off + pn), ex.poly1305Input.value);
      ex.poly1305Update(pn);
    }
    ex.poly1305Digest();
    h.update(mem().slice(ex.poly1305Output.value, ex.poly1305Output.value + 16));
    return h.digest('hex').slice(0, 16);
  },
};

// wasm-bindgen helpers for the Rust modules (raw exports, no JS glue).
function bindgen(ex) {
  const mem = () => new Uint8Array(ex.memory.buffer);
  const i32 = () => new Int32Array(ex.memory.buffer);
  const put = (u8) => {
    const p = ex.__wbindgen_malloc(u8.length, 1);
    mem().set(u8, p);
    return p;
  };
  // A function returning Vec<u8> through a return pointer (lz4_wasm_nodejs.js).
  const vecCall = (fn, fallible, ...args) => {
    const retptr = ex.__wbindgen_add_to_stack_pointer(-16);
    try {
      fn(retptr, ...args);
      const r = i32();
      const [p, len] = [r[retptr / 4], r[retptr / 4 + 1]];
      if (fallible && r[retptr / 4 + 3]) throw new Error('returned an error');
      const v = mem().slice(p, p + len);
      ex.__wbindgen_free(p, len, 1);
      return v;
    } finally {
      ex.__wbindgen_add_to_stack_pointer(16);
    }
  };
  return { mem, put, vecCall };
}

// Imports the paths we drive never call: a call fails the run.
function stubImports(module) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    imports[imp.module] ??= {};
    if (imp.kind === 'function') {
      imports[imp.module][imp.name] = () => {
        throw new Error(`unexpected import call ${imp.module}.${imp.name}`);
      };
    }
  }
  return imports;
}

// lz4-wasm-nodejs: compress then decompress text and random bytes.
const lz4 = {
  name: 'lz4',
  kind: 'corpus',
  source: join(corpusDir, 'lz4.wasm'),
  imports: (module) => stubImports(module),
  run(instance) {
    const ex = instance.exports;
    const { put, vecCall } = bindgen(ex);
    const out = [];
    for (const input of [text(256 * 1024, 1), bytes(64 * 1024, 2)]) {
      const packed = vecCall(ex.compress, false, put(input), input.length);
      const unpacked = vecCall(ex.decompress, true, put(packed), packed.length);
      if (digest(unpacked) !== digest(input)) throw new Error('lz4 round trip failed');
      out.push(digest(packed), packed.length);
    }
    return out.join(',');
  },
};

// farmhash-modern: 32- and 64-bit hashes of many short and long keys.
const farmhash = {
  name: 'farmhash',
  kind: 'corpus',
  source: join(corpusDir, 'farmhash.wasm'),
  imports: (module) => stubImports(module),
  run(instance) {
    const ex = instance.exports;
    // Each call takes ownership of its input (a Vec<u8>), as in
    // bin/nodejs/farmhash_modern.js: every call gets a fresh copy.
    const { put } = bindgen(ex);
    const data = bytes(64 * 1024, 9);
    let h = 0;
    for (let i = 0; i < 2000; i++) {
      const len = (i * 37) % 200;
      const off = (i * 101) % (data.length - 256);
      const key = data.subarray(off, off + len);
      h = mix(h, ex.fingerprint32(put(key), len));
      h = mix(h, ex.hash64(put(key), len));
      h = mix(h, ex.hash32_with_seed(put(key), len, i));
    }
    for (let i = 0; i < 8; i++) h = mix(h, ex.fingerprint64(put(data), data.length - i));
    return String(h >>> 0);
  },
};

// wasm-gzip: gzip compress and decompress, as wasm_gzip.js calls them.
const gzip = {
  name: 'wasm-gzip',
  kind: 'corpus',
  source: join(corpusDir, 'wasm-gzip.wasm'),
  imports: () => ({}),
  run(instance) {
    const ex = instance.exports;
    const mem = () => new Uint8Array(ex.memory.buffer);
    const call = (fn, input, flags) => {
      const p = ex.malloc_u8(input.length);
      mem().set(input, p);
      const n = fn(p, input.length, flags) >>> 0;
      ex.free_u8(p, input.length);
      if (n === 4294967295) throw new Error('gzip error');
      const b = ex.buffer() >>> 0;
      const out = mem().slice(b, b + n);
      ex.deallocate_buffer();
      return out;
    };
    const out = [];
    for (const input of [text(96 * 1024, 3), bytes(16 * 1024, 4)]) {
      const packed = call(ex.gzip_compress, input, 0);
      const unpacked = call(ex.gzip_decompress, packed, 0);
      if (digest(unpacked) !== digest(input)) throw new Error('gzip round trip failed');
      out.push(digest(packed), packed.length);
    }
    return out.join(',');
  },
};

// @jsquash/png (squoosh_png): encode an RGBA image to PNG, decode it again.
const png = {
  name: 'jsq-png',
  kind: 'corpus',
  source: join(corpusDir, 'jsq-png.wasm'),
  imports: (module, ctx) => {
    const imports = stubImports(module);
    const heap = [];
    const add = (o) => heap.push(o) - 1;
    Object.assign(imports.wbg, {
      __wbindgen_memory: () => add(ctx.exports.memory),
      __wbindgen_object_drop_ref: () => {},
      __wbindgen_throw: () => {
        throw new Error('wbindgen throw');
      },
    });
    for (const name of Object.keys(imports.wbg)) {
      if (name.startsWith('__wbg_buffer_')) imports.wbg[name] = (m) => add(heap[m].buffer);
      if (name.startsWith('__wbg_newwithbyteoffsetandlength_'))
        imports.wbg[name] = (b, off, len) => add(new Uint16Array(heap[b], off >>> 0, len >>> 0));
      if (name.startsWith('__wbg_newwithownedu8clampedarrayandsh_'))
        imports.wbg[name] = (p, len, w, h) => {
          const px = new Uint8Array(ctx.exports.memory.buffer).slice(p, p + len);
          ctx.exports.__wbindgen_free(p, len, 1);
          ctx.decoded.push(`${w}x${h}:${digest(px)}`);
          return add(null);
        };
    }
    return imports;
  },
  run(instance, ctx) {
    const ex = instance.exports;
    const { put, vecCall } = bindgen(ex);
    const w = 192;
    const h = 128;
    const img = new Uint8Array(w * h * 4);
    const r = rng(8);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        img.set([(x * 3) & 255, (y * 5) & 255, (x ^ y) & 255, 255 - (r() & 15)], i);
      }
    const out = [];
    for (let round = 0; round < 2; round++) {
      const encoded = vecCall(ex.encode, false, put(img), img.length, w, h, 8);
      out.push(digest(encoded));
      ctx.decoded = [];
      ex.decode(put(encoded), encoded.length);
      out.push(...ctx.decoded);
    }
    return out.join(',');
  },
};

export const workloads = [...fixtures, example, asSha256, asChacha, lz4, farmhash, gzip, png];
export const byName = Object.fromEntries(workloads.map((w) => [w.name, w]));
export { stubImports, bindgen, bytes, text, digest, mix, rng };
