/**
 * `report`: the built CLI with the tiny `test` preset, end to end. The page must be self-contained
 * with one SVG per figure and the claim/measurement/verdict rows; report.json's numbers must agree with
 * independent facts (PyTorch float64 references), and its verdicts with the verdict rules (which
 * test/findings.test.ts tests rule by rule on constructed studies).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { computeFindings } from '../src/report/findings.js';
import { runCli, type CliResult } from './support/cli.js';
import { readReferenceF64, readReferenceJson } from './support/shared.js';
import { parseNpyFloat64 } from '../src/util/npy.js';

const tmp = mkdtempSync(join(tmpdir(), 'rs-report-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const out = join(tmp, 'report');
let run: CliResult;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let json: any;
let html: string;

before(async () => {
  run = await runCli(['report', '--model', 'resnet56', '--preset', 'test', '--out', out]);
  if (run.code === 0) {
    json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    html = readFileSync(join(out, 'report.html'), 'utf8');
  }
});

test('report --preset test writes report.html and report.json, progress on stderr, nothing on stdout', () => {
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /report: \[1\/\d+, \d+ s\] spectrum of unit 3\.2/);
  assert.ok(existsSync(join(out, 'report.html')));
  assert.ok(existsSync(join(out, 'report.json')));
  for (const dir of [out, join(out, 'jobs')]) {
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], `temporary files left in ${dir}`);
  }
});

test('the page is self-contained, with an <svg> per figure and a claim/measurement/verdict row per finding', () => {
  assert.equal(json.model, 'resnet56');
  assert.equal(json.preset, 'test');
  const svgs = html.match(/<svg[\s>]/g) ?? [];
  assert.ok(json.figures.length >= 6, `${json.figures.length} figures`);
  assert.equal(svgs.length, json.figures.length);
  for (const f of json.figures) assert.match(html, new RegExp(`<figure id="fig-${f.id}" class="figure"><svg`));
  for (const id of ['spectra-stage3', 'histogram-stage3', 'sweep', 'sweep-spectra', 'propagation', 'projection']) {
    assert.ok(json.figures.some((f: { id: string }) => f.id === id), `figure ${id}`);
  }
  // No scripts and nothing fetched at view time (the only URLs are the SVG namespace names).
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\((?!#)/i);
  // Ids are unique across the inlined SVGs, and every url(#id) reference resolves to one of them.
  const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, ids.length);
  for (const [, ref] of html.matchAll(/url\(#([^)]+)\)/g)) assert.ok(ids.includes(ref), `url(#${ref})`);
  const urls = (html.match(/https?:\/\/[^\s"'<>)]+/g) ?? []).filter((u) => !/^http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)$/.test(u));
  assert.deepEqual(urls, []);
  assert.equal(json.findings.length, 5);
  // The preset measures something for every finding, and the verdicts in report.json are the rules'
  // verdicts on report.json's own numbers (so a reader can recompute them from the file).
  assert.deepEqual(json.findings.map((f: { verdict: string }) => f.verdict).filter((v: string) => v === 'not computed'), []);
  assert.deepEqual(computeFindings(json), json.findings);
  const verdictClass: Record<string, string> = { consistent: 'ok', 'partly consistent': 'partly', 'not consistent': 'no' };
  for (const f of json.findings) {
    const row = new RegExp(`<tr class="finding" id="finding-${f.id}">.*?</tr>`, 's').exec(html)?.[0];
    assert.ok(row, `row of finding ${f.id}`);
    const text = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    assert.ok(row.includes(`<td class="claim">${text(f.claim)}</td>`), `claim of finding ${f.id}`);
    assert.ok(row.includes(`<td class="measurement">${text(f.measurement)}</td>`), `measurement of finding ${f.id}`);
    assert.ok(row.includes(`<td class="verdict ${verdictClass[f.verdict]}"><b>${f.verdict}</b>`), `verdict of finding ${f.id}`);
  }
});

test('the FGSM curve of image 0 is the PyTorch float64 reference (1e-3 relative)', () => {
  const reference = readReferenceJson<{ image: number; eps: number; rel_after_stem_and_units: number[] }>('resnet56_fgsm_img0_eps0.00784314.json');
  assert.ok(Math.abs(json.propagation.eps - reference.eps) < 1e-12);
  const fgsm = json.propagation.attacks.find((a: { attack: string }) => a.attack === 'fgsm');
  const row = fgsm.results.find((r: { image: number }) => r.image === 0);
  assert.equal(row.relative.length, reference.rel_after_stem_and_units.length);
  row.relative.forEach((v: number, k: number) => {
    const want = reference.rel_after_stem_and_units[k];
    assert.ok(Math.abs(v - want) <= 1e-3 * want, `depth ${k}: ${v} vs ${want}`);
  });
  // The summary curves are the mean and quantiles of the per-image curves.
  const last = row.relative.length - 1;
  const finals = fgsm.results.map((r: { relative: number[] }) => r.relative[last]);
  const mean = finals.reduce((a: number, b: number) => a + b, 0) / finals.length;
  assert.ok(Math.abs(fgsm.relative.mean[last] - mean) <= 1e-12 * mean);
  assert.ok(fgsm.relative.q10[last] <= fgsm.relative.median[last] && fgsm.relative.median[last] <= fgsm.relative.q90[last]);
});

test('unit 19 at image 0: fractionOne and the stored spectrum match the PyTorch float64 singular values', () => {
  const reference = readReferenceF64('resnet56_sv_img0_unit19.f64');
  const entry = json.spectra.find((e: { unit: number; image: number }) => e.unit === 19 && e.image === 0);
  assert.ok(entry, 'spectrum of unit 19 at image 0');
  assert.equal(entry.unitLabel, '3.2');
  const one = reference.filter((s) => Math.abs(s - 1) < 1e-6).length / reference.length;
  const zero = reference.filter((s) => s < 1e-10).length / reference.length;
  assert.equal(entry.fractionOne, one);
  assert.equal(entry.fractionZero, zero);
  assert.ok(Math.abs(entry.smax - reference[0]) <= 1e-9 * reference[0]);
  const values = parseNpyFloat64(readFileSync(join(out, 'jobs', `${entry.key}.npy`)), entry.key).values;
  assert.equal(values.length, reference.length);
  values.forEach((v, i) => assert.ok(Math.abs(v - reference[i]) <= 1e-9 * reference[0], `rank ${i}`));
  // The histogram counts every nonzero value once.
  const counted = entry.histogram.counts.reduce((a: number, b: number) => a + b, 0);
  assert.equal(counted, reference.filter((s) => s >= 1e-10).length);
  // Finding 1 from the PyTorch spectrum: of all values 45.8 % lie within 0.1 of 1, below the "most"
  // threshold of 50 %, but of the nonzero values 76.4 % do: 'partly consistent'. The preset's other
  // spectrum (image 1) has no reference; it enters the medians, which must stay on the same sides.
  const near = (v: Float64Array) => v.filter((s) => Math.abs(s - 1) < 0.1).length / v.length;
  const nearOne = near(reference);
  const nearOneOfNonzero = near(reference.filter((s) => s >= 1e-10));
  assert.ok(nearOne < 0.5 && nearOneOfNonzero > 0.5, `reference: ${nearOne}, ${nearOneOfNonzero}`);
  assert.equal(entry.fractionNearOne, nearOne);
  assert.equal(entry.fractionNearOneOfNonzero, nearOneOfNonzero);
  const other = json.spectra.find((e: { unit: number; image: number }) => e.unit === 19 && e.image === 1);
  const f1 = json.findings[0];
  assert.ok(Math.abs(f1.numbers.fractionNearOne - (nearOne + other.fractionNearOne) / 2) < 1e-15);
  assert.ok(Math.abs(f1.numbers.fractionNearOneOfNonzero - (nearOneOfNonzero + other.fractionNearOneOfNonzero) / 2) < 1e-15);
  assert.equal(f1.verdict, 'partly consistent');
});

test('the sweep: value 1 is the unscaled model, and beta scales the spectrum of a unit as expected', () => {
  const { sweep, cleanAccuracy } = json;
  for (const a of sweep.accuracy.filter((r: { value: number }) => r.value === 1)) assert.deepEqual([a.correct, a.images], [cleanAccuracy.correct, cleanAccuracy.images]);
  const base = sweep.spectra.find((s: { parameter: string; value: number }) => s.parameter === 'beta' && s.value === 1);
  const unscaled = json.spectra.find((e: { unit: number; image: number }) => e.unit === sweep.unit && e.image === sweep.image);
  assert.equal(base.smax, unscaled.smax);
  assert.equal(base.relativeChange, 0);
  const half = sweep.spectra.find((s: { parameter: string; value: number }) => s.parameter === 'beta' && s.value === 0.5);
  assert.ok(half.relativeChange > 0);
});

test('--resume reuses the stored spectra and gives the same numbers', async () => {
  const again = await runCli(['report', '--model', 'resnet56', '--preset', 'test', '--out', out, '--resume', '--quiet']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stderr, '');
  const resumed = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  // A reused spectrum keeps the timing of the run that computed it.
  assert.deepEqual(resumed.spectra.map((e: { seconds: number }) => e.seconds), json.spectra.map((e: { seconds: number }) => e.seconds));
  const numbers = (j: typeof json) => ({ spectra: j.spectra.map(({ seconds: _s, ...e }: { seconds: number }) => e), findings: j.findings, propagation: j.propagation, sweep: j.sweep.accuracy });
  assert.deepEqual(numbers(resumed), numbers(json));
});

test('a bad preset is a one-line usage error and writes nothing', async () => {
  const dir = join(tmp, 'bad');
  const result = await runCli(['report', '--model', 'resnet56', '--preset', 'huge', '--out', dir]);
  assert.equal(result.code, 2);
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /--preset/);
  assert.equal(existsSync(dir), false);
});
