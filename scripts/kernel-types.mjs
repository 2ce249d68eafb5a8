// Writes src/wasm/kernel-exports.generated.ts: the TypeScript interface of the kernels' exports, taken
// from the AssemblyScript compiler's own declarations (asc --bindings raw) of assembly/index.ts (the
// module every build exports), assembly/threads.ts (the threads build adds its pool) and
// assembly/testing.ts (the testing build adds kernels only tests call), so that a kernel whose
// signature changes in assembly/ no longer type-checks where TypeScript calls it.
//
// The file is generated, not committed: `npm run build:wasm` (and so `npm ci`, through `prepare`) and
// `npm run typecheck` run this script, which recompiles (unoptimized, in memory, nothing written but
// the one file) only when the file is missing or older than a source under assembly/, asconfig.json or
// this script. `--force` regenerates regardless.
import asc from 'assemblyscript/asc';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = join(root, 'src/wasm/kernel-exports.generated.ts');

function sourcesOf(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === '__tests__' ? [] : sourcesOf(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function isFresh() {
  let written;
  try {
    written = statSync(output).mtimeMs;
  } catch {
    return false;
  }
  const inputs = [...sourcesOf(join(root, 'assembly')), join(root, 'asconfig.json'), fileURLToPath(import.meta.url)];
  return inputs.every((file) => statSync(file).mtimeMs <= written);
}

/** The .d.ts asc writes for `entry` built as asconfig target `target` (unoptimized: same exports). */
async function declarationsOf(entry, target) {
  let declarations;
  const { error, stderr } = await asc.main(
    [entry, '--config', 'asconfig.json', '--target', target, '--optimizeLevel', '0', '--shrinkLevel', '0',
      '--outFile', 'kernels.wasm', '--bindings', 'raw'],
    {
      writeFile(name, contents) {
        if (name.endsWith('.d.ts')) declarations = String(contents);
      },
    },
  );
  if (error) throw new Error(`asc ${entry} (target ${target}) failed: ${error.message}\n${stderr.toString()}`);
  if (declarations === undefined) throw new Error(`asc ${entry} (target ${target}) wrote no declarations`);
  return declarations;
}

/**
 * The exports declared in asc's `declare namespace __AdaptedExports { ... }`, in order: functions with
 * their parameters' names and AssemblyScript types (from the doc comment), and globals.
 */
function parseExports(declarations) {
  const body = declarations.match(/declare namespace __AdaptedExports \{\n([\s\S]*?)\n\}\n/);
  if (!body) throw new Error('unexpected asc declarations: no __AdaptedExports namespace');
  const exports = [];
  const pattern = /(?:\/\*\*([\s\S]*?)\*\/\s*)?export (function|const) (\w+)([^;]*);/g;
  for (const [, doc = '', kind, name, rest] of body[1].matchAll(pattern)) {
    // asc names an export by module path and name: assembly/memory/allocate.
    const source = doc.match(/(assembly\/[\w/]+)\/\w+/)?.[1] + '.ts';
    if (kind === 'const') {
      const type = doc.match(/@type `(\w+)`/)?.[1] ?? rest.match(/@type `(\w+)`/)?.[1];
      exports.push({ kind, name, source, type, memory: rest.includes('WebAssembly.Memory') });
      continue;
    }
    const asTypes = Object.fromEntries([...doc.matchAll(/@param (\w+) `([\w<>]+)`/g)].map(([, p, t]) => [p, t]));
    const result = doc.match(/@returns `([\w<>]+)`/)?.[1] ?? 'void';
    const signature = rest.match(/^\(([^)]*)\)/)?.[1];
    if (signature === undefined) throw new Error(`cannot read the parameters of ${name}: ${rest}`);
    const names = signature.trim() ? signature.split(',').map((p) => p.trim().split(/\??:/)[0]) : [];
    for (const p of names) if (!(p in asTypes)) throw new Error(`${name}: no AssemblyScript type for parameter ${p}`);
    exports.push({ kind, name, source, params: names.map((p) => ({ name: p, type: asTypes[p] })), result });
  }
  if (exports.length === 0) throw new Error('unexpected asc declarations: no exports found');
  return exports;
}

/** TypeScript type of a raw WebAssembly value of AssemblyScript type `t` (i64 crosses as bigint). */
function tsType(t, position) {
  if (t === 'void') return 'void';
  if (t === 'i64' || t === 'u64' || t === 'isize64') return 'bigint';
  // A raw export returns a bool as 0 or 1, and takes anything ToInt32 accepts.
  if (t === 'bool') return position === 'param' ? 'boolean | number' : 'number';
  const numeric = ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'f32', 'f64', 'usize', 'isize'];
  if (numeric.includes(t)) return 'number';
  // Kernels take numbers and pointers only; anything else (a managed object) cannot be called raw.
  console.warn(`kernel-types: ${t} has no raw WebAssembly form; calls with it will not type-check`);
  return 'never';
}

function member(e) {
  if (e.kind === 'const') {
    if (e.memory) return '  readonly memory: WebAssembly.Memory;';
    return `  /** ${e.source}: global \`${e.name}: ${e.type}\` */\n  readonly ${e.name}: WebAssembly.Global;`;
  }
  const asSignature = `${e.name}(${e.params.map((p) => `${p.name}: ${p.type}`).join(', ')}): ${e.result}`;
  const params = e.params.map((p) => `${p.name}: ${tsType(p.type, 'param')}`).join(', ');
  return `  /** ${e.source}: \`${asSignature}\` */\n  ${e.name}(${params}): ${tsType(e.result, 'result')};`;
}

if (process.argv.includes('--force') || !isFresh()) {
  process.chdir(root);
  const single = parseExports(await declarationsOf('assembly/index.ts', 'release'));
  const threads = parseExports(await declarationsOf('assembly/threads.ts', 'threads'));
  const known = new Set(single.map((e) => e.name));
  const pool = threads.filter((e) => !known.has(e.name) && !(e.kind === 'const' && e.memory));
  const testing = parseExports(await declarationsOf('assembly/testing.ts', 'testing')).filter((e) => !known.has(e.name) && !(e.kind === 'const' && e.memory));
  // asc's declarations leave out the start function, which this target exports instead of running.
  const { exportStart } = JSON.parse(readFileSync('asconfig.json', 'utf8')).targets.threads;
  if (exportStart) {
    pool.unshift({ kind: 'function', name: exportStart, source: 'asconfig.json target threads (exportStart)', params: [], result: 'void' });
  }
  if (!single.some((e) => e.memory)) throw new Error('the kernels export no memory');
  const text = [
    '// Generated by scripts/kernel-types.mjs from the AssemblyScript declarations (asc --bindings raw) of',
    '// assembly/index.ts, assembly/threads.ts and assembly/testing.ts. Do not edit; not committed: `npm run build:wasm` and',
    '// `npm run typecheck` regenerate it when assembly/ changes.',
    '',
    '/**',
    ' * The raw exports of the kernels (build/resnet-stability.wasm). Pointers and sizes are byte offsets;',
    ' * a `usize` result is a signed i32 as it crosses, so one above 2 GiB reads negative until `>>> 0`.',
    ' */',
    'export interface KernelExports {',
    ...single.map(member),
    '}',
    '',
    '/** What the threads build (build/resnet-stability.threads.wasm) exports besides KernelExports. */',
    'export interface ThreadPoolExports {',
    ...pool.map(member),
    '}',
    '',
    '/** What the testing build (build/resnet-stability.testing.wasm, never shipped) exports besides KernelExports. */',
    'export interface TestingExports {',
    ...testing.map(member),
    '}',
    '',
  ].join('\n');
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, text);
  console.log(`kernel-types: ${single.length} + ${pool.length} (threads) + ${testing.length} (testing) exports -> ${output.slice(root.length + 1)}`);
}
