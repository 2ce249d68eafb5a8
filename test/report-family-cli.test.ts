/**
 * `report` and `compare` for a family other than the paper's (issue 11), end to end with the built CLI:
 * the WRN-16 fixture (test/fixtures/families/wrn.pt, three stages of two pre-activation units) with the
 * `test` preset. report.json's spectra and accuracies are checked against PyTorch float64 values
 * computed in plain torch.nn (families/report-wrn-pytorch.json, scripts/make-report-family-fixture.py),
 * never against our own output; the five findings must be computed and be the rules' verdicts on the
 * file's numbers; figures carry the model's own unit labels and stage boundaries. Then `compare` puts
 * it beside a paper-family ResNet-8 (test/fixtures/checkpoints/resnet8-legacy.th). The `quick` preset
 * runs on the four-stage pre-activation fixture (families/preact-bn.pt, 2-1-1-1 units), its spectra
 * checked against PyTorch's too.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { computeFindings } from '../src/report/findings.js';
import { runCli, type CliResult } from './support/cli.js';
import { f64 } from './support/graph-fixture.js';
import { parseNpyFloat64 } from '../src/util/npy.js';

const tmp = mkdtempSync(join(tmpdir(), 'rs-report-family-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const fixture = (path: string) => fileURLToPath(new URL(`./fixtures/${path}`, import.meta.url));
const wrnOut = join(tmp, 'wrn');
const paperOut = join(tmp, 'resnet8');
const reference = JSON.parse(readFileSync(fixture('families/report-wrn-pytorch.json'), 'utf8')) as {
  spectra: { unit: number; image: number; alpha: number; beta: number; shape: [number, number]; values: string }[];
  accuracy: { parameter: string; scope: string; value: number; images: number; correct: number; smallestMargin: number }[];
  preactQuick: { spectra: { unit: number; label: string; image: number; shape: [number, number]; values: string }[] };
};
let run: CliResult;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let json: any;
let html: string;

before(async () => {
  run = await runCli(['report', '--model', fixture('families/wrn.pt'), '--preset', 'test', '--out', wrnOut, '--reproducible', '--workers', '1']);
  if (run.code === 0) {
    json = JSON.parse(readFileSync(join(wrnOut, 'report.json'), 'utf8'));
    html = readFileSync(join(wrnOut, 'report.html'), 'utf8');
  }
});

const referenceValues = (unit: number, image: number, alpha = 1, beta = 1) => {
  const r = reference.spectra.find((s) => s.unit === unit && s.image === image && s.alpha === alpha && s.beta === beta);
  assert.ok(r, `reference spectrum of unit ${unit} at image ${image}, alpha ${alpha}, beta ${beta}`);
  return f64(r.values);
};

test('report --preset test on a WRN-16: report.html and report.json, nothing half-written, what was recognised', () => {
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /report: \[1\/\d+, \d+ s\] spectrum of unit 3\.2 \(5\) at image 0/);
  for (const dir of [wrnOut, join(wrnOut, 'jobs')]) {
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], `temporary files left in ${dir}`);
  }
  assert.equal(json.model, 'wrn');
  assert.equal(json.depth, 16);
  assert.equal(json.units, 6);
  assert.deepEqual(json.architecture, {
    family: 'wide-resnet', depth: 16, widths: [8, 16, 32], unitsPerStage: [2, 2, 2], shortcut: 'conv', block: 'basic', classes: 10,
  });
  assert.match(html, /Architecture: wide-resnet, depth 16/);
});

test('WRN-16 spectra: every value of unit 3.2 at images 0 and 1 within 1e-10 s_max of PyTorch, and the summaries its own', () => {
  const spectra = [0, 1].map((image) => {
    const entry = json.spectra.find((e: { unit: number; image: number }) => e.unit === 5 && e.image === image);
    assert.ok(entry, `unit 5 at image ${image}`);
    assert.deepEqual([entry.unitLabel, entry.stage, entry.shape], ['3.2', 3, [2048, 2048]]);
    const want = referenceValues(5, image);
    const values = parseNpyFloat64(readFileSync(join(wrnOut, 'jobs', `${entry.key}.npy`)), entry.key).values;
    assert.equal(values.length, want.length);
    values.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-10 * want[0], `image ${image}, rank ${i}: ${v} vs ${want[i]}`));
    assert.ok(Math.abs(entry.smax - want[0]) <= 1e-10 * want[0]);
    assert.equal(entry.fractionOne, want.filter((s) => Math.abs(s - 1) < 1e-6).length / want.length);
    assert.equal(entry.fractionZero, want.filter((s) => s < 1e-10).length / want.length);
    assert.equal(entry.fractionNearOne, want.filter((s) => Math.abs(s - 1) < 0.1).length / want.length);
    entry.sorted.ranks.forEach((rank: number, i: number) => assert.ok(Math.abs(entry.sorted.values[i] - want[rank]) <= 1e-10 * want[0]));
    return want;
  });
  // Variation across the two images: sum over ranks of the sample std / sum of the means.
  let std = 0;
  let mean = 0;
  for (let r = 0; r < spectra[0].length; r++) {
    const m = (spectra[0][r] + spectra[1][r]) / 2;
    std += Math.sqrt((spectra[0][r] - m) ** 2 + (spectra[1][r] - m) ** 2);
    mean += m;
  }
  const variation = json.variation.find((v: { unit: number }) => v.unit === 5);
  assert.ok(Math.abs(variation.relativeVariation - std / mean) <= 1e-9 * (std / mean));
});

test('WRN-16 sweep: alpha 0.5 and beta 0.5 spectra of unit 3.2 and the accuracies are PyTorch\'s', () => {
  const { sweep, cleanAccuracy } = json;
  assert.equal(sweep.unitLabel, '3.2');
  for (const [parameter, alpha, beta] of [['alpha', 0.5, 1], ['beta', 1, 0.5]] as const) {
    const s = sweep.spectra.find((e: { parameter: string; value: number }) => e.parameter === parameter && e.value === 0.5);
    const want = referenceValues(5, 0, alpha, beta);
    assert.ok(Math.abs(s.smax - want[0]) <= 1e-10 * want[0], `${parameter} s_max ${s.smax} vs ${want[0]}`);
    assert.equal(s.fractionOne, want.filter((v) => Math.abs(v - alpha) < 1e-6).length / want.length);
  }
  const clean = reference.accuracy.find((a) => a.parameter === 'none')!;
  assert.deepEqual([cleanAccuracy.correct, cleanAccuracy.images], [clean.correct, clean.images]);
  let checked = 0;
  for (const r of reference.accuracy.filter((a) => a.parameter !== 'none' && a.smallestMargin >= 1e-3)) {
    const row = sweep.accuracy.find((a: { parameter: string; scope: string; value: number }) => a.parameter === r.parameter && a.scope === r.scope && a.value === r.value);
    assert.ok(row, `${r.parameter} ${r.scope} ${r.value}`);
    assert.equal(row.correct, r.correct, `${r.parameter} = ${r.value} in ${r.scope}`);
    checked++;
  }
  assert.ok(checked >= 4);
});

test('WRN-16: the five findings computed from report.json\'s numbers, propagation and projection over its six units', () => {
  assert.equal(json.findings.length, 5);
  assert.deepEqual(json.findings.filter((f: { verdict: string }) => f.verdict === 'not computed').map((f: { id: number }) => f.id), []);
  assert.deepEqual(computeFindings(json), json.findings);
  assert.deepEqual(json.propagation.stageEnds, [2, 4, 6]);
  for (const a of json.propagation.attacks) {
    assert.equal(a.results.length, 4);
    for (const r of a.results) assert.equal(r.relative.length, 7, 'stem and six units');
  }
  assert.match(json.findings[3].measurement, /within stage 3 x[\d.]+ at unit 3\.[12]/);
  assert.ok(json.projection.available);
  assert.deepEqual(json.projection.units.map((u: { unitLabel: string }) => u.unitLabel), ['1.1', '1.2', '2.1', '2.2', '3.1', '3.2']);
  // Input dimension of each unit from its shape: 4x32x32, 8x32x32, 8x32x32, 16x16x16, 16x16x16, 32x8x8.
  assert.deepEqual(json.projection.units.map((u: { inputs: number }) => u.inputs), [4096, 8192, 8192, 4096, 4096, 2048]);
});

test('WRN-16 figures: its own unit labels and stage boundaries', () => {
  const ids = json.figures.map((f: { id: string }) => f.id);
  for (const id of ['spectra-stage3', 'histogram-stage3', 'sweep', 'sweep-spectra', 'propagation', 'projection']) assert.ok(ids.includes(id), `figure ${id}`);
  assert.equal((html.match(/<svg[\s>]/g) ?? []).length, json.figures.length);
  const figure = (id: string) => new RegExp(`<figure id="fig-${id}" class="figure">(.*?)</figure>`, 's').exec(html)?.[1] ?? '';
  assert.match(figure('spectra-stage3'), />3\.2</, 'the sorted spectra panel is titled with the unit label');
  for (const label of ['1.1', '1.2', '2.1', '2.2', '3.1', '3.2']) assert.match(figure('projection'), new RegExp(`>${label.replace('.', '\\.')}<`), `projection axis label ${label}`);
  // The propagation table names the unit after each depth from the model's stages.
  assert.match(html, /<td class="n">2<\/td><td>1\.2<\/td>/);
  assert.match(html, /<td class="n">3<\/td><td>2\.1<\/td>/);
});

test('compare: a paper-family ResNet-8 beside the WRN-16, each with its own findings and stages', async () => {
  const paper = await runCli(['report', '--model', fixture('checkpoints/resnet8-legacy.th'), '--preset', 'test', '--out', paperOut, '--reproducible', '--workers', '1', '--quiet']);
  assert.equal(paper.code, 0, paper.stderr);
  const out = join(tmp, 'compared');
  const result = await runCli(['compare', wrnOut, paperOut, '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  const comparison = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8'));
  const paperJson = JSON.parse(readFileSync(join(paperOut, 'report.json'), 'utf8'));
  assert.equal(paperJson.architecture, undefined);
  assert.deepEqual(comparison.models.map((m: { model: string; family?: string; units: number }) => [m.model, m.family, m.units]), [['wrn', 'wide-resnet', 6], ['resnet8-legacy', undefined, 3]]);
  for (const f of comparison.findings) {
    const { id: _id, title: _t, claim: _c, ...wrn } = json.findings[f.id - 1];
    const { id: _id2, title: _t2, claim: _c2, ...own } = paperJson.findings[f.id - 1];
    assert.deepEqual(f.byModel, [{ model: 'wrn', ...wrn }, { model: 'resnet8-legacy', ...own }]);
  }
  const boundaries = comparison.figures.find((f: { id: string }) => f.id === 'propagation-models').rows.filter((r: { kind: string }) => r.kind === 'stage boundary');
  assert.deepEqual(boundaries.map((r: { model: string; depth: number }) => [r.model, r.depth]), [['wrn', 2], ['wrn', 4], ['resnet8-legacy', 1], ['resnet8-legacy', 2]]);
  const spectra = comparison.figures.find((f: { id: string }) => f.id === 'spectra-depth').rows;
  assert.deepEqual([...new Set(spectra.map((r: { model: string; unit: string; relativeDepth: number }) => `${r.model} ${r.unit} ${r.relativeDepth}`))], ['wrn 3.2 1', 'resnet8-legacy 3.1 1']);
  const page = readFileSync(join(out, 'comparison.html'), 'utf8');
  assert.match(page, /<b>wrn<\/b> \(wide-resnet, depth 16, 6 units in stages of 2-2-2\)/);
  assert.ok(existsSync(join(out, 'comparison.html')));
});

test('report --preset quick on a pre-activation ResNet of four stages (2-1-1-1): units 4.1 and 3.1, PyTorch\'s spectra, stage 4 figures', async () => {
  const out = join(tmp, 'preact');
  const result = await runCli(['report', '--model', fixture('families/preact-bn.pt'), '--preset', 'quick', '--out', out, '--reproducible', '--quiet']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  const page = readFileSync(join(out, 'report.html'), 'utf8');
  assert.deepEqual(report.propagation.stageEnds, [2, 3, 4, 5]);
  assert.deepEqual(report.spectra.map((e: { unitLabel: string; stage: number; image: number }) => [e.unitLabel, e.stage, e.image]), [['4.1', 4, 0], ['4.1', 4, 1], ['3.1', 3, 0]]);
  for (const r of reference.preactQuick.spectra) {
    const entry = report.spectra.find((e: { unit: number; image: number }) => e.unit === r.unit && e.image === r.image);
    assert.deepEqual(entry.shape, r.shape);
    const want = f64(r.values);
    const values = parseNpyFloat64(readFileSync(join(out, 'jobs', `${entry.key}.npy`)), entry.key).values;
    values.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-10 * want[0], `${r.label} image ${r.image} rank ${i}`));
    assert.equal(entry.fractionZero, want.filter((s) => s < 1e-10).length / want.length);
  }
  assert.equal(report.sweep.unitLabel, '4.1');
  assert.deepEqual(report.findings.filter((f: { verdict: string }) => f.verdict === 'not computed'), []);
  assert.deepEqual(computeFindings(report), report.findings);
  assert.match(report.findings[3].measurement, /within stage 4 x[\d.]+ at unit 4\.1/);
  const ids = report.figures.map((f: { id: string }) => f.id);
  for (const id of ['spectra-stage4', 'histogram-stage4', 'spectra-stage3', 'histogram-stage3']) assert.ok(ids.includes(id), `figure ${id}`);
  assert.match(page, /<td class="n">5<\/td><td>4\.1<\/td>/);
  assert.deepEqual(report.projection.units.map((u: { unitLabel: string }) => u.unitLabel), ['1.1', '1.2', '2.1', '3.1', '4.1']);
});

test('WRN-16 report in two shards, merged: the one-machine run\'s bytes (merge loads the family\'s model from study.json)', async () => {
  const common = ['report', '--model', fixture('families/wrn.pt'), '--preset', 'test', '--reproducible', '--workers', '1', '--quiet'];
  for (const k of [1, 2]) {
    const shard = await runCli([...common, '--shard', `${k}/2`, '--out', join(tmp, `shard${k}`)]);
    assert.equal(shard.code, 0, shard.stderr);
    assert.equal(existsSync(join(tmp, `shard${k}`, 'report.json')), false, 'a shard writes no report');
  }
  const merged = await runCli(['merge', join(tmp, 'shard1'), join(tmp, 'shard2'), '--out', join(tmp, 'merged'), '--json']);
  assert.equal(merged.code, 0, merged.stderr);
  assert.deepEqual(JSON.parse(merged.stdout).written, ['report.json', 'report.html']);
  for (const file of ['report.json', 'report.html', 'study.json']) {
    assert.ok(readFileSync(join(tmp, 'merged', file)).equals(readFileSync(join(wrnOut, file))), `${file} differs from the one-machine run`);
  }
});

test('a model of 64x64 inputs is refused in one line before any work, also as the second of two models; nothing written', async () => {
  const model = join(tmp, 'tv64');
  const imported = await runCli(['import', fixture('families/tv-basic.pt'), '--out', model, '--input-size', '64x64', '--quiet']);
  assert.equal(imported.code, 0, imported.stderr);
  for (const models of [[model], [fixture('checkpoints/resnet8-legacy.th'), model]]) {
    const out = join(tmp, `refused-${models.length}`);
    const result = await runCli(['report', '--model', ...models, '--preset', 'test', '--out', out]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr, 'resnet-stability: model tv-basic takes 3x64x64 inputs; the report runs on CIFAR\'s 3x32x32 images\n');
    assert.equal(existsSync(out), false, `${out} was created`);
  }
});
