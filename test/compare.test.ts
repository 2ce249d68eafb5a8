/**
 * Several models side by side: `report --model resnet56 resnet110` (tiny `test` preset) writes each
 * model's report in its own directory and a comparison page; `compare` makes the same page from
 * existing reports. The page's numbers must be those of the models' own reports, and those must agree
 * with independent facts (ResNet-110's PyTorch logits); bad input fails in one line.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { runCli, type CliResult } from './support/cli.js';
import { cifarTestFile, readReferenceJson } from './support/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'rs-compare-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const out = join(tmp, 'both');
let run: CliResult;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
let comparison: Json;
let html: string;
const reports: Record<string, Json> = {};

before(async () => {
  run = await runCli(['report', '--model', 'resnet56', 'resnet110', '--preset', 'test', '--out', out]);
  if (run.code !== 0) return;
  comparison = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8'));
  html = readFileSync(join(out, 'comparison.html'), 'utf8');
  for (const model of ['resnet56', 'resnet110']) reports[model] = JSON.parse(readFileSync(join(out, model, 'report.json'), 'utf8'));
});

test('report with two models writes a report per model and the comparison, nothing half-written', () => {
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '');
  for (const file of ['comparison.html', 'comparison.json', 'resnet56/report.html', 'resnet56/report.json', 'resnet110/report.html', 'resnet110/report.json']) {
    assert.ok(existsSync(join(out, file)), file);
  }
  for (const dir of [out, join(out, 'resnet56'), join(out, 'resnet110'), join(out, 'resnet110', 'jobs')]) {
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], `temporary files left in ${dir}`);
  }
  assert.deepEqual(comparison.models.map((m: Json) => [m.model, m.units, m.report]), [['resnet56', 27, 'resnet56/report.html'], ['resnet110', 54, 'resnet110/report.html']]);
});

test('ResNet-110: its clean accuracy on 100 images is that of the PyTorch reference logits', () => {
  const reference = readReferenceJson<{ images: number[]; logits: number[][] }>('resnet110_logits_100.json');
  const data = readFileSync(cifarTestFile);
  let correct = 0;
  reference.logits.forEach((row, i) => {
    const label = data[reference.images[i] * 3073];
    if (row.indexOf(Math.max(...row)) === label) correct++;
  });
  const { cleanAccuracy } = comparison.models[1];
  assert.equal(cleanAccuracy.images, 100);
  assert.equal(cleanAccuracy.correct, correct);
  assert.deepEqual(cleanAccuracy, reports.resnet110.cleanAccuracy);
});

test('each model\'s column holds the findings of its own report; the figures plot its own numbers', () => {
  assert.equal(comparison.findings.length, 5);
  for (const f of comparison.findings) {
    assert.deepEqual(f.byModel.map((m: Json) => m.model), ['resnet56', 'resnet110']);
    for (const m of f.byModel) {
      const own = reports[m.model].findings.find((g: Json) => g.id === f.id);
      assert.equal(f.claim, own.claim);
      assert.deepEqual([m.verdict, m.measurement, m.numbers], [own.verdict, own.measurement, own.numbers]);
    }
  }
  const propagation = comparison.figures.find((f: Json) => f.id === 'propagation-models');
  for (const model of ['resnet56', 'resnet110']) {
    const fgsm = reports[model].propagation.attacks.find((a: Json) => a.attack === 'fgsm');
    const plotted = propagation.rows.filter((r: Json) => r.model === model && r.attack === 'FGSM' && r.kind === 'measured');
    assert.deepEqual(plotted.map((r: Json) => r.mean), fgsm.relative.mean);
    // The stage boundaries sit after unit n and 2n of that model.
    const n = reports[model].units / 3;
    assert.deepEqual(propagation.rows.filter((r: Json) => r.model === model && r.kind === 'stage boundary').map((r: Json) => r.depth), [n, 2 * n]);
  }
  const spectra = comparison.figures.find((f: Json) => f.id === 'spectra-depth');
  for (const e of reports.resnet110.spectra.filter((s: Json) => s.alpha === 1 && s.beta === 1)) {
    const row = spectra.rows.find((r: Json) => r.model === 'resnet110' && r.unit === e.unitLabel && r.image === e.image && r.metric === 's_max');
    assert.equal(row.value, e.smax);
    assert.equal(row.relativeDepth, (e.unit + 1) / 54);
  }
});

test('the comparison page is self-contained: an <svg> per figure, a column per model, links to the models\' pages', () => {
  assert.equal((html.match(/<svg[\s>]/g) ?? []).length, comparison.figures.length);
  assert.ok(comparison.figures.length >= 3);
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\((?!#)/i);
  const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, ids.length);
  for (const [, ref] of html.matchAll(/url\(#([^)]+)\)/g)) assert.ok(ids.includes(ref), `url(#${ref})`);
  for (const f of comparison.findings) {
    const row = new RegExp(`<tr class="finding" id="finding-${f.id}">.*?</tr>`, 's').exec(html)?.[0] ?? '';
    assert.equal((row.match(/data-model="/g) ?? []).length, 2, `finding ${f.id}`);
  }
  assert.match(html, /<a href="resnet56\/report\.html">/);
  assert.match(html, /<a href="resnet110\/report\.html">/);
});

test('compare makes the same comparison from the two reports', async () => {
  const again = join(tmp, 'again');
  const result = await runCli(['compare', join(out, 'resnet56'), join(out, 'resnet110', 'report.json'), '--out', again, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const made = JSON.parse(readFileSync(join(again, 'comparison.json'), 'utf8'));
  assert.deepEqual(JSON.parse(result.stdout), made, '--json prints what comparison.json holds');
  assert.deepEqual(made.findings, comparison.findings);
  assert.deepEqual(made.figures, comparison.figures);
  assert.deepEqual(made.models.map((m: Json) => m.report), ['../both/resnet56/report.html', '../both/resnet110/report.html']);
});

test('bad input: one line, non-zero exit, nothing written', async () => {
  const bad = join(tmp, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'report.json'), '{"model": "resnet56", "units"');
  const cases: [string[], number, RegExp][] = [
    [['compare', join(out, 'resnet56'), '--out', join(tmp, 'x1')], 2, /at least two reports/],
    [['compare', join(out, 'resnet56'), join(tmp, 'missing'), '--out', join(tmp, 'x2')], 1, /missing[/\\]report\.json: no such report/],
    [['compare', join(out, 'resnet56'), bad, '--out', join(tmp, 'x3')], 1, /bad[/\\]report\.json: not JSON/],
    [['compare', join(out, 'resnet56'), join(out, 'resnet56', 'report.json'), '--out', join(tmp, 'x4')], 1, /two of the reports are of model "resnet56"/],
    [['report', '--model', 'resnet56', 'resnet56', '--preset', 'test', '--out', join(tmp, 'x5')], 2, /same model twice/],
  ];
  for (const [args, code, message] of cases) {
    const result = await runCli(args);
    assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, message);
  }
  for (const x of ['x1', 'x2', 'x3', 'x4', 'x5']) assert.equal(existsSync(join(tmp, x)), false, x);
});

test('three models or more: the across-depth figure plots each model\'s last-unit spectra and its jump at the last unit', async () => {
  // A third report, constructed from ResNet-56's: another name, and its spectrum moved to the last unit
  // of stage 3 so that the spectrum panels have a point.
  const third = join(tmp, 'third');
  mkdirSync(third);
  const constructed = JSON.parse(JSON.stringify(reports.resnet56));
  constructed.model = 'resnet56-moved';
  for (const e of constructed.spectra) e.unit = 26;
  writeFileSync(join(third, 'report.json'), JSON.stringify(constructed));
  const again = join(tmp, 'three');
  const result = await runCli(['compare', join(out, 'resnet56'), join(out, 'resnet110'), third, '--out', again]);
  assert.equal(result.code, 0, result.stderr);
  const made = JSON.parse(readFileSync(join(again, 'comparison.json'), 'utf8'));
  const figure = made.figures.find((f: Json) => f.id === 'network-depth');
  assert.ok(figure, 'network-depth figure');
  assert.equal(comparison.figures.find((f: Json) => f.id === 'network-depth'), undefined, 'two models: no depth figure');
  for (const [model, report] of [['resnet56', reports.resnet56], ['resnet110', reports.resnet110], ['resnet56-moved', constructed]] as const) {
    for (const attack of report.propagation.attacks) {
      const mean: number[] = attack.relative.mean;
      const row = figure.rows.find((r: Json) => r.model === model && r.metric.startsWith('last unit:') && r.images === report.propagation.images.length && Math.abs(r.value - mean[mean.length - 1] / mean[mean.length - 2]) < 1e-15);
      assert.ok(row, `${model} ${attack.attack} jump`);
      assert.equal(row.depth, report.depth);
    }
  }
  const spectrumRows = figure.rows.filter((r: Json) => r.metric.startsWith('last unit of each stage'));
  assert.deepEqual([...new Set(spectrumRows.map((r: Json) => r.model))], ['resnet56-moved']);
  const smax = [...constructed.spectra].filter((e: Json) => e.alpha === 1 && e.beta === 1).map((e: Json) => e.smax).sort((a: number, b: number) => a - b);
  const expected = smax.length % 2 ? smax[(smax.length - 1) / 2] : (smax[smax.length / 2 - 1] + smax[smax.length / 2]) / 2;
  assert.equal(spectrumRows.find((r: Json) => r.metric.endsWith('s_max')).value, expected);
  assert.match(readFileSync(join(again, 'comparison.html'), 'utf8'), /Across network depth/);
});
