// Which exports of the kernels (KernelExports, src/wasm/kernel-exports.generated.ts) the package's own
// code calls: every property read in src/ whose object is typed KernelExports (the raw exports) or
// PrecisionKernels (`typed(p).gebrd` calls gebrdF64 or gebrdF32, whichever p picks at run time, so it
// uses both), found with the TypeScript type checker rather than by grepping names.
//
//   node scripts/kernel-usage.mjs           prints the exports nothing in src/ uses (exit 0)
//   node scripts/kernel-usage.mjs --json    {"exports": [...], "used": [...], "unused": [...]}
//
// The shipped module should export exactly what src/ uses (test/kernel-exports.test.ts checks it);
// kernels only tests need are exported by the testing build (assembly/testing.ts) instead.
import ts from 'typescript';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const generated = join(root, 'src/wasm/kernel-exports.generated.ts');

/** The member names of `interface name` in the generated file. */
function interfaceMembers(name) {
  const text = readFileSync(generated, 'utf8');
  const body = text.match(new RegExp(`export interface ${name} \\{\\n([\\s\\S]*?)\\n\\}`))?.[1];
  if (body === undefined) throw new Error(`${generated} has no interface ${name} (run "npm run build:wasm")`);
  return [...body.matchAll(/^ {2}(?:readonly )?(\w+)[(:]/gm)].map((m) => m[1]);
}

/** Names read from KernelExports-typed or PrecisionKernels-typed objects anywhere in src/. */
export function kernelUsage() {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic() {} });
  const program = ts.createProgram({ rootNames: config.fileNames, options: { ...config.options, noEmit: true } });
  const checker = program.getTypeChecker();
  const exportsNames = interfaceMembers('KernelExports');
  const exportSet = new Set(exportsNames);
  const used = new Map(); // name -> first place it is used

  /** Whether a type is (or includes) one of the seam's kernel types, and which. */
  const kindOf = (type) => {
    if (type.isTypeParameter()) type = checker.getBaseConstraintOfType(type) ?? type; // Kernels<E>'s E
    const parts = type.isUnionOrIntersection() ? type.types : [type];
    for (const t of parts) {
      const name = (t.aliasSymbol ?? t.getSymbol())?.getName();
      if (name === 'KernelExports' || name === 'ThreadPoolExports') return 'raw';
      if (name === 'PrecisionKernels' || name === 'PrecisionInfo') return 'typed';
    }
    return undefined;
  };
  const record = (name, kind, node) => {
    const where = `${node.getSourceFile().fileName.slice(root.length + 1)}:${node.getSourceFile().getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    const names = kind === 'raw' ? [name] : [`${name}F64`, `${name}F32`];
    for (const n of names) if (exportSet.has(n) && !used.has(n)) used.set(n, where);
  };
  const visit = (node) => {
    if (ts.isPropertyAccessExpression(node)) {
      const kind = kindOf(checker.getTypeAtLocation(node.expression));
      if (kind) record(node.name.text, kind, node);
    } else if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) {
      const kind = kindOf(checker.getTypeAtLocation(node.expression));
      if (kind) record(node.argumentExpression.text, kind, node);
    } else if (ts.isObjectBindingPattern(node)) {
      const kind = kindOf(checker.getTypeAtLocation(node));
      if (kind) {
        for (const element of node.elements) {
          const key = element.propertyName ?? element.name;
          if (ts.isIdentifier(key)) record(key.text, kind, element);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  for (const file of program.getSourceFiles()) {
    if (file.isDeclarationFile || !file.fileName.startsWith(join(root, 'src') + '/') || file.fileName === generated) continue;
    visit(file);
  }
  return { exports: exportsNames, used, unused: exportsNames.filter((n) => !used.has(n) && n !== 'memory') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { exports, used, unused } = kernelUsage();
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ exports, used: Object.fromEntries(used), unused }, null, 1) + '\n');
  } else {
    process.stdout.write(`${exports.length} exports, ${used.size} used by src/, ${unused.length} unused${unused.length ? ':' : ''}\n`);
    for (const name of unused) process.stdout.write(`  ${name}\n`);
  }
}
