/**
 * The demo page: choose a model, an image and a unit; the page shows the prediction, the unit's top-k
 * singular values, its spectrum (all values for stage-3 units, a stochastic-Lanczos density for the
 * larger stage-1 and stage-2 units) and how a random and an FGSM perturbation of the same L2 size grow
 * from unit to unit. All computation runs in one Web Worker (web/worker.ts); Cancel terminates it and
 * starts a fresh one. Figures are the report's Vega-Lite specs, rendered to SVG by vega.
 *
 * For tests, #status carries data-state (loading | ready | running | done | cancelled | error) and
 * #top-values carries data-values, the top-k values as JSON at full precision.
 */
import * as Comlink from 'comlink';
import { CIFAR_CLASSES, imageToFloat, readCifarBatch, type CifarBatch } from '../src/data/cifar.js';
import { decodeImage } from '../src/data/image.js';
import { histogramSpec, propagationSpec, sortedSpectraSpec } from '../src/report/figures.js';
import { renderSvg, type TopLevelSpec } from '../src/report/render.js';
import { curveSummary, describeSpectrum, type SpectrumEntry } from '../src/study/report-study.js';
import type { PropagationResult } from '../src/study/propagation.js';
import type { DemoApi } from './worker.js';

const GALLERY_SIZE = 64;
/** Bin width of the density histograms, as in the report. */
const BIN_WIDTH = 0.05;
const DENSITY_BINS = 61;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  model: $<HTMLSelectElement>('model'),
  cifarFile: $<HTMLInputElement>('cifar-file'),
  imageFile: $<HTMLInputElement>('image-file'),
  gallery: $<HTMLDivElement>('gallery'),
  selectedCanvas: $<HTMLCanvasElement>('selected-canvas'),
  selectedLabel: $<HTMLSpanElement>('selected-label'),
  unit: $<HTMLSelectElement>('unit'),
  k: $<HTMLInputElement>('k'),
  eps: $<HTMLInputElement>('eps'),
  run: $<HTMLButtonElement>('run'),
  cancel: $<HTMLButtonElement>('cancel'),
  status: $<HTMLDivElement>('status'),
  statusText: $<HTMLSpanElement>('status-text'),
  progress: $<HTMLProgressElement>('progress'),
  error: $<HTMLParagraphElement>('error'),
  prediction: $<HTMLParagraphElement>('prediction'),
  topValues: $<HTMLOListElement>('top-values'),
  spectrumTitle: $<HTMLHeadingElement>('spectrum-title'),
  spectrumFigure: $<HTMLDivElement>('spectrum-figure'),
  propagationFigure: $<HTMLDivElement>('propagation-figure'),
  propagationSummary: $<HTMLParagraphElement>('propagation-summary'),
};

interface ChosenImage {
  pixels: Float32Array;
  /** The CIFAR-10 label, or undefined for an uploaded image (FGSM then uses the predicted class). */
  label?: number;
  /** Index in the CIFAR-10 file, for figure legends. */
  index?: number;
  name: string;
}

let worker: Worker;
let api: Comlink.Remote<DemoApi>;
let image: ChosenImage | undefined;
let units: { label: string; stage: number }[] = [];

function startWorker(): void {
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  api = Comlink.wrap<DemoApi>(worker);
}

function setState(state: string, text: string, fraction?: number): void {
  ui.status.dataset.state = state;
  ui.statusText.textContent = text;
  if (fraction === undefined) ui.progress.removeAttribute('value');
  else ui.progress.value = fraction;
  ui.run.disabled = state === 'running' || state === 'loading' || !image;
  ui.cancel.disabled = state !== 'running';
}

function showError(message: string | undefined): void {
  ui.error.hidden = !message;
  ui.error.textContent = message ?? '';
}

function drawImage(canvas: HTMLCanvasElement, pixels: Float32Array): void {
  const context = canvas.getContext('2d')!;
  const data = context.createImageData(32, 32);
  for (let p = 0; p < 1024; p++) {
    for (let c = 0; c < 3; c++) data.data[4 * p + c] = Math.round(pixels[c * 1024 + p] * 255);
    data.data[4 * p + 3] = 255;
  }
  context.putImageData(data, 0, 0);
}

function chooseImage(chosen: ChosenImage): void {
  image = chosen;
  drawImage(ui.selectedCanvas, chosen.pixels);
  ui.selectedLabel.textContent = chosen.name;
  if (ui.status.dataset.state !== 'running' && ui.status.dataset.state !== 'loading') setState('ready', 'ready', 0);
}

function showGallery(batch: CifarBatch, classes: readonly string[]): void {
  ui.gallery.replaceChildren();
  for (let i = 0; i < Math.min(GALLERY_SIZE, batch.count); i++) {
    const button = document.createElement('button');
    button.className = 'thumb';
    button.dataset.index = String(i);
    button.title = `image ${i}: ${classes[batch.labels[i]]}`;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 32;
    const pixels = imageToFloat(batch, i);
    drawImage(canvas, pixels);
    button.append(canvas);
    button.addEventListener('click', () => {
      ui.gallery.querySelectorAll('.chosen').forEach((b) => b.classList.remove('chosen'));
      button.classList.add('chosen');
      chooseImage({ pixels, label: batch.labels[i], index: i, name: `test image ${i} (${classes[batch.labels[i]]})` });
    });
    ui.gallery.append(button);
  }
}

async function readFile(input: HTMLInputElement): Promise<{ bytes: Uint8Array; name: string } | undefined> {
  const file = input.files?.[0];
  return file ? { bytes: new Uint8Array(await file.arrayBuffer()), name: file.name } : undefined;
}

async function loadUnits(): Promise<void> {
  setState('loading', `loading ${ui.model.value}…`);
  units = await api.units(ui.model.value);
  const previous = ui.unit.value;
  ui.unit.replaceChildren(
    ...units.map((u, i) => {
      const option = document.createElement('option');
      option.value = String(i);
      option.textContent = `${u.label} (stage ${u.stage}, unit ${i})`;
      return option;
    }),
  );
  ui.unit.value = previous && Number(previous) < units.length ? previous : String(units.findIndex((u) => u.stage === 3));
  setState('ready', image ? 'ready' : 'choose an image', 0);
}

async function show(container: HTMLElement, specs: TopLevelSpec[]): Promise<void> {
  const svgs = await Promise.all(specs.map((spec, i) => renderSvg(spec, `${container.id}-${i}-`)));
  container.innerHTML = svgs.join('');
}

function spectrumEntry(unit: number, image: number, values: Float64Array, shape: [number, number], seconds: number): SpectrumEntry {
  const { label, stage } = units[unit];
  return describeSpectrum({ key: `unit${unit}`, unit, unitLabel: label, stage, image, alpha: 1, beta: 1, shape, seconds }, values);
}

/** The density's counts in the report's histogram form (bin i covers [(i - 1/2) w, (i + 1/2) w)). */
function densityEntry(unit: number, counts: number[], shape: [number, number]): SpectrumEntry {
  const { label, stage } = units[unit];
  return { unit, unitLabel: label, stage, shape, histogram: { binWidth: BIN_WIDTH, counts } } as SpectrumEntry;
}

function propagationFigure(unitCount: number, eps: number, fgsm: PropagationResult, gaussian: PropagationResult): TopLevelSpec {
  const perStage = unitCount / 3;
  const attack = (name: 'fgsm' | 'gaussian', r: PropagationResult) => ({
    attack: name,
    results: [r],
    relative: curveSummary([r.relative]),
    firstOrder: curveSummary([r.firstOrder]),
    flipped: r.predPerturbed === r.predClean ? 0 : 1,
  });
  return propagationSpec({
    units: unitCount,
    propagation: { eps, norm: 'linf', images: [0], attacks: [attack('fgsm', fgsm), attack('gaussian', gaussian)], stageEnds: [1, 2, 3].map((s) => s * perStage) },
  });
}

async function compute(): Promise<void> {
  if (!image) return;
  showError(undefined);
  const model = ui.model.value;
  const unit = Number(ui.unit.value);
  const k = Number(ui.k.value);
  const eps = Number(ui.eps.value);
  const stage = units[unit].stage;
  const started = performance.now();
  const steps = ['prediction', `top-${k} singular values`, stage === 3 ? 'full spectrum' : 'spectral density', 'perturbation propagation'];
  const step = (i: number) => setState('running', `${i + 1}/${steps.length}: ${steps[i]}… (${((performance.now() - started) / 1000).toFixed(1)} s)`, i / steps.length);
  const { pixels } = image;
  ui.topValues.removeAttribute('data-values');

  step(0);
  const { classes, probabilities } = await api.predict(model, pixels);
  const predicted = probabilities.indexOf(Math.max(...probabilities));
  ui.prediction.textContent = `${classes[predicted]} (${(100 * probabilities[predicted]).toFixed(1)} %)` +
    (image.label === undefined ? '' : `; true label ${classes[image.label]}`);

  step(1);
  const top = await api.topSpectrum(model, pixels, unit, k);
  ui.topValues.replaceChildren(...top.values.map((v) => Object.assign(document.createElement('li'), { textContent: v.toPrecision(12) })));
  ui.topValues.dataset.values = JSON.stringify(top.values);

  step(2);
  if (stage === 3) {
    const full = await api.fullSpectrum(model, pixels, unit);
    const entry = spectrumEntry(unit, image.index ?? 0, full.values, full.shape, full.seconds);
    ui.spectrumTitle.textContent = `All ${full.values.length} singular values of unit ${entry.unitLabel} (${full.seconds.toFixed(1)} s)`;
    await show(ui.spectrumFigure, [sortedSpectraSpec([entry], stage), histogramSpec([entry], stage)]);
  } else {
    const density = await api.density(model, pixels, unit, BIN_WIDTH, DENSITY_BINS);
    ui.spectrumTitle.textContent = `Density of the singular values of unit ${units[unit].label} (stochastic Lanczos quadrature, ${density.seconds.toFixed(1)} s)`;
    await show(ui.spectrumFigure, [histogramSpec([densityEntry(unit, density.counts, density.shape)], stage)]);
  }

  step(3);
  const propagation = await api.propagate(model, pixels, image.label ?? predicted, eps);
  await show(ui.propagationFigure, [propagationFigure(propagation.units, eps, propagation.fgsm, propagation.gaussian)]);
  const outcome = (r: PropagationResult) => `${classes[r.predClean]} → ${classes[r.predPerturbed]}, ${r.relative.at(-1)!.toPrecision(3)} after the last unit`;
  ui.propagationSummary.textContent = `Prediction under FGSM: ${outcome(propagation.fgsm)}; under the random perturbation: ${outcome(propagation.gaussian)}.`;
  setState('done', `done in ${((performance.now() - started) / 1000).toFixed(1)} s`, 1);
}

function fail(err: unknown): void {
  showError((err as Error).message.split('\n')[0]);
  setState('error', 'failed', 0);
}

ui.cifarFile.addEventListener('change', async () => {
  showError(undefined);
  try {
    const file = await readFile(ui.cifarFile);
    if (file) showGallery(readCifarBatch(file.bytes, file.name), CIFAR_CLASSES);
  } catch (err) {
    fail(err);
  }
});

ui.imageFile.addEventListener('change', async () => {
  showError(undefined);
  try {
    const file = await readFile(ui.imageFile);
    if (file) chooseImage({ pixels: decodeImage(file.bytes, file.name), name: file.name });
  } catch (err) {
    fail(err);
  }
});

ui.model.addEventListener('change', () => loadUnits().catch(fail));
ui.run.addEventListener('click', () => compute().catch(fail));
ui.cancel.addEventListener('click', () => {
  worker.terminate();
  startWorker();
  setState('cancelled', 'cancelled', 0);
});

startWorker();
loadUnits().catch(fail);
