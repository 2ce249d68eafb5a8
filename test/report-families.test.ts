/**
 * The report's plan and job costs for every family (issue 11): units, stages, labels, sizes and depth
 * come from the model's graph, whatever its number of stages and units per stage. Expected values are
 * derived by hand from the fixture networks' layouts (test/fixtures/families/families.json: widths,
 * units per stage) and the cost formula of src/study/job-cost.ts, 2 K^2 C_in C_out H_out W_out per
 * convolution; the paper family's plan is the one it has always had (unit indices of ResNet-56, n = 9).
 * The WRN's spectrum and accuracy jobs are checked against PyTorch float64 values
 * (test/fixtures/families/report-wrn-pytorch.json, scripts/make-report-family-fixture.py).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { unitLabel } from '../src/linearize/units.js';
import { loadModel } from '../src/model/load.js';
import { ResNetModel } from '../src/model/model.js';
import { fullSpectrumFits, jobCost, unitForwardCost, unitJacobianShape } from '../src/study/job-cost.js';
import { loadCifar } from '../src/data/cifar.js';
import { InProcessExecutor } from '../src/study/executor.js';
import { comparisonFigures } from '../src/report/comparison-figures.js';
import { buildReport } from '../src/report/documents.js';
import { computeFindings } from '../src/report/findings.js';
import { propagationSpec } from '../src/report/figures.js';
import { renderSvg } from '../src/report/render.js';
import { reportHtml } from '../src/report/html.js';
import { depthLabel, reportJobs, reportPlan, runReportJob, runReportJobs, stageEndDepths, type ReportPlan, type ReportStudy } from '../src/study/report-study.js';
import { f64, graphOfFixture, type FixtureFamily } from './support/graph-fixture.js';
import { cifarSampleFile } from './support/shared.js';
import { parseNpyFloat64 } from '../src/util/npy.js';

const family = (file: string) => loadModel(fileURLToPath(new URL(`./fixtures/families/${file}`, import.meta.url)));
const labels = (model: ResNetModel, plan: ReportPlan) => plan.spectra.map((g) => g.units.map((u) => unitLabel(model, u)));

test('the paper family keeps its plan: ResNet-56 units 3.2, 3.9, 2.2, the last of stages 1 and 2, every unit for paper', async () => {
  const model = await loadModel('resnet56');
  const stage = (s: number) => Array.from({ length: 9 }, (_, i) => (s - 1) * 9 + i);
  assert.deepEqual(reportPlan(model, 'test', 1000).spectra, [{ units: [19], images: [0, 1] }]);
  assert.equal(reportPlan(model, 'test', 1000).sweep.unit, 19);
  const quick = reportPlan(model, 'quick', 1000);
  assert.deepEqual(quick.spectra, [{ units: [19, 26], images: [0, 1] }, { units: [10], images: [0] }]);
  assert.equal(quick.sweep.unit, 26);
  assert.deepEqual(reportPlan(model, 'depth', 1000).spectra.at(-1), { units: [8, 17], images: [0] });
  const paper = reportPlan(model, 'paper', 10000);
  assert.deepEqual(paper.spectra.map((g) => g.units), [[...stage(3), ...stage(2)], stage(1)]);
  assert.deepEqual(paper.sweep.spectrumValues, [0, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2]);
  assert.deepEqual(stageEndDepths(model), [9, 18, 27]);
  // 2 * 9 * C_out * H_out^2 * (C_in + C_out): unit 1.1 (16 -> 16 at 32x32) and unit 2.1 (16 -> 32 at 16x16).
  assert.equal(unitForwardCost(model, 0), 2 * 9 * 16 * 1024 * (16 + 16));
  assert.equal(unitForwardCost(model, 9), 2 * 9 * 32 * 256 * (16 + 32));
});

test('pre-activation ResNet with four stages of 2, 1, 1, 1 units: the last stage\'s only unit, 3.1 for quick, every stage', async () => {
  const model = await family('preact-bn.pt');
  assert.deepEqual(stageEndDepths(model), [2, 3, 4, 5]);
  assert.deepEqual(labels(model, reportPlan(model, 'test', 1000)), [['4.1']]);
  const quick = reportPlan(model, 'quick', 1000);
  assert.deepEqual(labels(model, quick), [['4.1'], ['3.1']]);
  assert.equal(unitLabel(model, quick.sweep.unit), '4.1');
  assert.deepEqual(labels(model, reportPlan(model, 'depth', 1000)), [['4.1'], ['3.1'], ['1.2', '2.1', '3.1']]);
  assert.deepEqual(labels(model, reportPlan(model, 'paper', 10000)), [['4.1', '3.1', '2.1'], ['1.1', '1.2']]);
  // The jobs name units by index; the unscaled sweep spectrum is the test spectrum of 4.1 at image 0.
  const jobs = reportJobs(reportPlan(model, 'test', 1000)).filter((j) => j.kind === 'spectrum').map((j) => j.key);
  assert.deepEqual(jobs, ['unit4-image0', 'unit4-image1', 'unit4-image0-alpha0.5', 'unit4-image0-beta0.5']);
});

test('WRN-16 (three stages of 2): units 3.2 and 2.2, Jacobian shapes and costs from its graph', async () => {
  const model = await family('wrn.pt');
  assert.deepEqual(stageEndDepths(model), [2, 4, 6]);
  assert.deepEqual(labels(model, reportPlan(model, 'quick', 1000)), [['3.2'], ['2.2']]);
  assert.deepEqual(labels(model, reportPlan(model, 'test', 1000)), [['3.2']]);
  // Unit 1.1: 4x32x32 -> 8x32x32, convs 3x3 4->8, 3x3 8->8 and the 1x1 4->8 shortcut, all at 32x32.
  assert.deepEqual(unitJacobianShape(model, 0), [8 * 1024, 4 * 1024]);
  assert.equal(unitForwardCost(model, 0), 2 * 1024 * (9 * 4 * 8 + 9 * 8 * 8 + 4 * 8));
  // Unit 2.1: 8x32x32 -> 16x16x16, convs 3x3/2 8->16, 3x3 16->16 and the 1x1/2 shortcut 8->16 at 16x16.
  assert.deepEqual(unitJacobianShape(model, 2), [16 * 256, 8 * 1024]);
  assert.equal(unitForwardCost(model, 2), 2 * 256 * (9 * 8 * 16 + 9 * 16 * 16 + 8 * 16));
  const network = [0, 1, 2, 3, 4, 5].reduce((t, u) => t + unitForwardCost(model, u), 0);
  assert.equal(jobCost(model, { kind: 'accuracy', images: 3 }), 3 * network);
  // Full spectrum of 2.1: n products plus m n min(m, n) for the SVD.
  assert.equal(jobCost(model, { kind: 'spectrum', unit: 2, method: 'full' }), 8192 * unitForwardCost(model, 2) + 4096 * 8192 * 4096);
});

test('torchvision basic ResNet (7x7/2 stem and max-pool): units 1.1 at 8x8 and 4.1 at 1x1', async () => {
  const model = await family('tv-basic.pt');
  assert.deepEqual(unitJacobianShape(model, 0), [8 * 64, 8 * 64]);
  assert.deepEqual(unitJacobianShape(model, 4), [64, 32 * 4]);
  // Unit 4.1: 32x2x2 -> 64x1x1, convs 3x3/2 32->64, 3x3 64->64, 1x1/2 32->64.
  assert.equal(unitForwardCost(model, 4), 2 * (9 * 32 * 64 + 9 * 64 * 64 + 32 * 64));
  assert.deepEqual(labels(model, reportPlan(model, 'quick', 1000)), [['4.1'], ['3.1']]);
});

test('full spectra only where the largest route fits: the cheaper of dense and operator-Gram with every row active', async () => {
  const model = await family('wrn.pt');
  // Unit 1.1, m = 8192, n = 4096: dense 8 (2 m n + n^2) = 671088640, Gram 8 (m^2 + 3m + 32 (m + n)) = 540213248 bytes.
  assert.equal(fullSpectrumFits(model, 0, 540213248), true);
  assert.equal(fullSpectrumFits(model, 0, 540213247), false);
  assert.equal(fullSpectrumFits(model, 0), true);
});

test('a model whose inputs are not CIFAR\'s 3x32x32 is refused with one line', () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/graph-units-pytorch.json', import.meta.url), 'utf8')) as { families: FixtureFamily[] };
  const wrn = fixture.families.find((f) => f.name === 'wrn')!;
  const model = new ResNetModel(graphOfFixture(wrn), { name: 'wrn16' });
  assert.throws(() => reportPlan(model, 'test', 1000), (e: Error) =>
    e.name === 'InputError' && e.message === 'model wrn16 takes 3x16x16 inputs; the report runs on CIFAR\'s 3x32x32 images');
});

interface WrnReference {
  spectra: { unit: number; image: number; alpha: number; beta: number; shape: [number, number]; values: string }[];
  accuracy: { parameter: string; scope: string; value: number; images: number; correct: number; smallestMargin: number }[];
}

test('WRN-16 test preset: its spectrum jobs are PyTorch\'s singular values, its accuracy jobs PyTorch\'s top-1 counts', async () => {
  const reference = JSON.parse(readFileSync(new URL('./fixtures/families/report-wrn-pytorch.json', import.meta.url), 'utf8')) as WrnReference;
  const model = await family('wrn.pt');
  const data = await loadCifar(cifarSampleFile);
  const plan = reportPlan(model, 'test', data.count);
  const executor = new InProcessExecutor();
  const jobs = reportJobs(plan);
  for (const r of reference.spectra) {
    const job = jobs.find((j) => j.kind === 'spectrum' && j.unit === r.unit && j.image === r.image && j.alpha === r.alpha && j.beta === r.beta);
    assert.ok(job, `the plan has the spectrum of unit ${r.unit} at image ${r.image}, alpha ${r.alpha}, beta ${r.beta}`);
    const { record, files } = await runReportJob(model, data, plan, 0, job, executor, true);
    assert.deepEqual((record as unknown as { shape: number[] }).shape, r.shape);
    const values = parseNpyFloat64(files![`${job.key}.npy`]!, job.key).values;
    const expected = f64(r.values);
    assert.equal(values.length, expected.length);
    let worst = 0;
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i] - expected[i]));
    assert.ok(worst <= 1e-10 * expected[0], `${job.key}: largest difference ${worst} against s_max ${expected[0]}`);
  }
  let checked = 0;
  for (const r of reference.accuracy) {
    // float32 logits can swap two classes whose float64 logits are this close: such sweeps are not asserted.
    if (r.smallestMargin < 1e-3) continue;
    const key = r.parameter === 'none' ? 'accuracy-clean' : `accuracy-${r.parameter}-${r.scope}-${r.value}`;
    const job = jobs.find((j) => j.key === key);
    assert.ok(job, `the plan has job ${key}`);
    const { record } = await runReportJob(model, data, plan, 0, job, executor, true);
    assert.equal((record as unknown as { correct: number }).correct, r.correct, key);
    assert.equal((record as unknown as { images: number }).images, r.images, key);
    checked++;
  }
  assert.ok(checked >= 5, `${checked} accuracy jobs checked`);
});

test('the page of a non-paper model says what was recognised and the general form of a unit\'s linearization', async () => {
  const model = await family('wrn.pt');
  const study: ReportStudy = {
    model: model.name, depth: model.depth, units: model.unitCount, architecture: model.graph.description, preset: 'test', seed: 0,
    plan: {} as ReportStudy['plan'], tolerances: { one: 1e-6, zero: 1e-10, nearOne: 0.1 },
    cleanAccuracy: { images: 100, correct: 10, accuracy: 0.1 }, spectra: [], variation: [],
    sweep: { unit: 5, unitLabel: '3.2', image: 0, accuracy: [], spectra: [] },
    propagation: { eps: 2 / 255, norm: 'linf', images: [], attacks: [], stageEnds: [2, 4, 6] },
    projection: { available: false, reason: 'constructed' }, seconds: {},
  };
  const html = reportHtml(study, computeFindings(study), [], { version: 'v', data: 'd', created: 'c' });
  assert.match(html, /Architecture: wide-resnet, depth 16, basic blocks, widths 8-16-32, units per stage 2-2-2 \(6 units, labelled stage\.unit\), shortcut conv, 10 classes\./);
  assert.match(html, /J = Post \(alpha S \+ Body\) Pre/);
  assert.doesNotMatch(html, /D_out \(alpha S \+ B2 W2 D_mid B1 W1\)/);
  const { architecture: _a, ...paper } = study;
  assert.match(reportHtml(paper, computeFindings(paper), [], { version: 'v', data: 'd', created: 'c' }), /J = D_out \(alpha S \+ B2 W2 D_mid B1 W1\)/);
});

test('data whose labels are not all classes of the model (CIFAR-100 for a 10-class model) is refused in one line, before any job', async () => {
  const model = await family('wrn.pt');
  const few = { count: 3, labels: new Uint8Array(3), pixels: new Uint8Array(3 * 3072) };
  await assert.rejects(runReportJobs(model, few, { preset: 'test' }), (e: Error) =>
    e.name === 'InputError' && e.message === 'preset test needs at least 4 images, the data has 3');
  const enough = { count: 200, labels: Uint8Array.from({ length: 200 }, (_, i) => i % 100), pixels: new Uint8Array(200 * 3072) };
  await assert.rejects(runReportJobs(model, enough, { preset: 'test' }), (e: Error) =>
    e.name === 'InputError' && e.message === 'the data has labels up to 99, model wrn has 10 classes (CIFAR-100 data for a CIFAR-10 model?)');
});

/** A study with no measurements, of a model with the given stage ends (the shape buildReport and compare read). */
function bareStudy(model: string, stageEnds: number[], architecture?: ReportStudy['architecture']): ReportStudy {
  const units = stageEnds.at(-1)!;
  return {
    model, depth: 2 * units + 2, units, ...(architecture ? { architecture } : {}), preset: 'test', seed: 0,
    plan: {} as ReportStudy['plan'], tolerances: { one: 1e-6, zero: 1e-10, nearOne: 0.1 },
    cleanAccuracy: { images: 100, correct: 10, accuracy: 0.1 }, spectra: [], variation: [],
    sweep: { unit: units - 1, unitLabel: depthLabel(stageEnds, units), image: 0, accuracy: [], spectra: [] },
    propagation: { eps: 2 / 255, norm: 'linf', images: [], attacks: [], stageEnds },
    projection: { available: false, reason: 'constructed' }, seconds: { total: 0 },
  };
}

test('a study without any full spectrum (no unit fits the memory limit) still makes a page: those findings not computed', async () => {
  const study = bareStudy('huge', [2, 3, 4, 5]);
  const report = await buildReport(study, { version: 'v', data: 'd', created: 'c' });
  assert.deepEqual(report.findings.map((f) => f.verdict), ['not computed', 'not computed', 'not computed', 'not computed', 'not computed']);
  assert.equal((report.html.match(/<svg[\s>]/g) ?? []).length, report.json.figures.length);
});

test('comparison across families: the depth axis says where stages end only when every model has equal thirds', () => {
  const title = (studies: ReportStudy[]) => {
    const figure = comparisonFigures(studies).find((f) => f.id === 'spectra-depth')!;
    return (figure.spec as unknown as { spec: { encoding: { x: { title: string } } } }).spec.encoding.x.title;
  };
  assert.equal(title([bareStudy('resnet56', [9, 18, 27]), bareStudy('wrn', [2, 4, 6])]), 'unit position (unit index / units; stages end at 1/3, 2/3, 1)');
  assert.equal(title([bareStudy('resnet56', [9, 18, 27]), bareStudy('preact', [2, 3, 4, 5])]), 'unit position (unit index / units)');
  assert.equal(title([bareStudy('tv', [2, 4, 6, 8]), bareStudy('preact', [1, 2, 3, 4])]), 'unit position (unit index / units; stages end at 1/4, 2/4, 3/4, 1)');
  assert.deepEqual([1, 2, 3, 4, 5].map((k) => depthLabel([2, 3, 4, 5], k)), ['1.1', '1.2', '2.1', '3.1', '4.1']);
  assert.equal(depthLabel([2, 3, 4, 5], 0), 'stem');
});

test('the propagation figure of a non-paper model labels every depth with the unit it follows; the paper family\'s keeps depth indices', async () => {
  const mean = [1, 1.1, 1.2, 1.5, 1.6, 2, 3];
  const attack = { attack: 'fgsm' as const, results: [], relative: { mean, q10: mean, median: mean, q90: mean }, firstOrder: { mean, q10: mean, median: mean, q90: mean }, flipped: 0 };
  const model = await family('wrn.pt');
  const study = bareStudy('wrn', [2, 4, 6], model.graph.description);
  study.propagation.attacks = [attack];
  const svg = await renderSvg(propagationSpec(study), 'p-');
  const ticks = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  for (const label of ['stem', '1.1', '1.2', '2.1', '2.2', '3.1', '3.2']) assert.ok(ticks.includes(label), `tick ${label} in ${ticks.join(' ')}`);
  assert.ok(ticks.includes('after unit (stage.unit; dotted: stage boundaries)'));
  const { architecture: _a, ...paper } = study;
  const paperTicks = [...(await renderSvg(propagationSpec(paper), 'q-')).matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.ok(paperTicks.includes('depth (0 = stem, k = after unit k)'));
  assert.ok(!paperTicks.includes('1.1') && !paperTicks.includes('stem'));
});
