/**
 * The modules of src/ load one another in one direction only: no cycle of imports that load a module.
 * `import type` is erased at compile time and is left out: it lets a class and the scope it opens
 * (wasm/kernels.ts, wasm/scope.ts) name each other's types. A cycle shows up here as the list of files
 * on it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const srcRoot = fileURLToPath(new URL('../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * The src files that `file` imports or re-exports statically (relative specifiers, `.js` -> `.ts`),
 * leaving out `import type` / `export type` and imports whose names are all `type`.
 */
function importsOf(file: string, known: Set<string>): string[] {
  const text = readFileSync(file, 'utf8');
  const out = new Set<string>();
  for (const match of text.matchAll(/^\s*(?:import|export)\b([^;]*?)\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    const clause = match[1]!.trim();
    const names = /^\{([^}]*)\}$/.exec(clause)?.[1]?.split(',').map((n) => n.trim()).filter(Boolean);
    if (clause.startsWith('type ') || (names && names.length > 0 && names.every((n) => n.startsWith('type ')))) continue;
    const target = resolve(dirname(file), match[2]!.replace(/\.js$/, '.ts'));
    if (known.has(target)) out.add(target);
  }
  return [...out];
}

/** Strongly connected components with more than one file (Tarjan), each sorted. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('the cycle finder finds a planted cycle (so an empty answer below means something)', () => {
  const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
  assert.deepEqual(cycles(g), [['a', 'b', 'c']]);
});

test('src/ has no import cycle', () => {
  const files = sourceFiles(srcRoot);
  const known = new Set(files);
  const graph = new Map(files.map((f) => [f, importsOf(f, known)]));
  assert.ok([...graph.values()].flat().length > 100, 'the import scan found too few imports to be trusted');
  const found = cycles(graph).map((c) => c.map((f) => relative(srcRoot, f)).join(' -> '));
  assert.deepEqual(found, []);
});
