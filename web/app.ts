/**
 * The demo page: choose a model (shipped, or your own from disk), an image (50 shipped CIFAR-10 test
 * images, a CIFAR-10 batch or archive, or a PNG/JPEG) and a unit; the page shows the prediction, the
 * unit's top-k singular values, its spectrum (all values when the unit's linearization is at most
 * 4096 x 4096, a stochastic-Lanczos density for the larger ones) and how an FGSM and a random
 * perturbation grow from unit to unit. All computation runs in one Web Worker (web/worker.ts), the only
 * place tfjs is loaded; Cancel terminates it and starts a fresh one, to which the page hands the model
 * files it keeps. Prediction and propagation are kept per (model, image, eps), so changing only the
 * unit recomputes only the unit's spectrum. A model of any family the package imports is analysed
 * alike (its own unit labels, any number of stages); a model whose input is not 32x32 gets each image
 * resized to its input size (src/web/resize-image.ts, PyTorch's bilinear interpolate), with a note.
 *
 * For tests: #status carries data-state (loading | ready | running | done | cancelled | error),
 * #results data-state (empty | running | done), #top-values data-values and #prediction
 * data-probabilities (the top-k values and the class probabilities as JSON, at full precision), and
 * every figure element data-figure.
 */
import * as Comlink from 'comlink';
import { CIFAR_CLASSES, imageToFloat, readCifarBatch, type CifarBatch } from '../src/data/cifar.js';
import { decodeImage, imageDimensions } from '../src/data/image.js';
import { isGzip, testBatchFromArchive } from '../src/web/cifar-archive.js';
import {
  binCounts, formatValue, histogramData, histogramEdges, probabilitiesData, propagationData, spectrumData,
} from '../src/web/figures.js';
import type { ChosenFile, PickedFile } from '../src/web/model-files.js';
import { checkFileSize, checkPageInputs, INPUT_LIMITS } from '../src/web/page-inputs.js';
import { resizeBilinear } from '../src/web/resize-image.js';
import { InputError } from '../src/util/errors.js';
import { clearFigure, drawFigure } from './charts.js';
import type { DemoApi, ModelDescription } from './worker.js';

/** Thumbnails per gallery page (10 columns x 5 rows). */
const PAGE_SIZE = 50;
const GALLERY_COLUMNS = 10;
/** Units whose linearization has at most this many rows and columns get all their singular values. */
const FULL_SPECTRUM_LIMIT = 4096;
const SAMPLES = 'samples/cifar10-test-0-49.bin';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  model: $<HTMLSelectElement>('model'),
  modelFile: $<HTMLInputElement>('model-file'),
  modelFolder: $<HTMLInputElement>('model-folder'),
  cifarFile: $<HTMLInputElement>('cifar-file'),
  imageFile: $<HTMLInputElement>('image-file'),
  gallery: $<HTMLDivElement>('gallery'),
  galleryInfo: $<HTMLSpanElement>('gallery-info'),
  pagePrev: $<HTMLButtonElement>('page-prev'),
  pageNext: $<HTMLButtonElement>('page-next'),
  imageIndex: $<HTMLInputElement>('image-index'),
  selectedCanvas: $<HTMLCanvasElement>('selected-canvas'),
  selectedLabel: $<HTMLSpanElement>('selected-label'),
  unit: $<HTMLSelectElement>('unit'),
  unitNote: $<HTMLParagraphElement>('unit-note'),
  inputNote: $<HTMLParagraphElement>('input-note'),
  k: $<HTMLInputElement>('k'),
  kLabel: $<HTMLLabelElement>('k-label'),
  eps: $<HTMLInputElement>('eps'),
  epsLabel: $<HTMLLabelElement>('eps-label'),
  run: $<HTMLButtonElement>('run'),
  cancel: $<HTMLButtonElement>('cancel'),
  status: $<HTMLDivElement>('status'),
  statusText: $<HTMLSpanElement>('status-text'),
  progress: $<HTMLProgressElement>('progress'),
  error: $<HTMLParagraphElement>('error'),
  results: $<HTMLElement>('results'),
  prediction: $<HTMLParagraphElement>('prediction'),
  topTitle: $<HTMLHeadingElement>('top-title'),
  topValues: $<HTMLOListElement>('top-values'),
  spectrumTitle: $<HTMLHeadingElement>('spectrum-title'),
  spectrumBlock: $<HTMLElement>('spectrum-block'),
  spectrumFigure: $<HTMLDivElement>('spectrum-figure'),
  histogramFigure: $<HTMLDivElement>('histogram-figure'),
  histogramCaption: $<HTMLElement>('histogram-caption'),
  propagationFigure: $<HTMLDivElement>('propagation-figure'),
  propagationSummary: $<HTMLParagraphElement>('propagation-summary'),
  propagationBlock: $<HTMLElement>('propagation-block'),
  probabilitiesBlock: $<HTMLElement>('probabilities-block'),
  probabilitiesFigure: $<HTMLDivElement>('probabilities-figure'),
};

interface ChosenImage {
  /** Identifies the image in the result caches. */
  id: string;
  /** 3 x H x W (CHW) in [0, 1]; resized for models of another input size (modelPixels). */
  pixels: Float32Array;
  /** [H, W]: 32 x 32 for CIFAR images, an upload's own size (32 x 32 or the model's input size). */
  size: [number, number];
  /** The CIFAR-10 label, or undefined for an uploaded image (FGSM then uses the predicted class). */
  label?: number;
  name: string;
}

interface ModelEntry {
  /** What the select shows. */
  title: string;
  /** Shipped models: their files, fetched on first use. */
  files?: ChosenFile[];
  /** Models chosen from disk: the picked files, which the worker reads (and reads again after Cancel). */
  picked?: PickedFile[];
  description?: ModelDescription;
}

type Propagation = Awaited<ReturnType<DemoApi['propagate']>>;

let worker: Worker;
let api: Comlink.Remote<DemoApi>;
/** Models handed to the current worker. */
let registered = new Set<string>();
const models = new Map<string, ModelEntry>([
  ['resnet56', { title: 'ResNet-56 (shipped)' }],
  ['resnet110', { title: 'ResNet-110 (shipped)' }],
]);
let userModels = 0;

let batch: CifarBatch | undefined;
let page = 0;
let chosenIndex: number | undefined;
let image: ChosenImage | undefined;
let uploads = 0;
/** The model whose units fill the unit select. */
let unitsModel: string | undefined;
/** Number of the latest loadUnits call, and whether it is still loading (Compute waits for it). */
let unitsCall = 0;
let unitsLoading = false;

/** Prediction and propagation per model, image and eps: they do not depend on the unit. */
const predictions = new Map<string, number[]>();
const propagations = new Map<string, Propagation>();
/** Increases with every run and every cancel: a run whose number is no longer current stops drawing. */
let runId = 0;

function startWorker(): void {
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  api = Comlink.wrap<DemoApi>(worker);
  registered = new Set();
  api.warmUp().catch(() => undefined); // a real failure is reported by the first computation
}

function setState(state: string, text: string, fraction?: number): void {
  ui.status.dataset.state = state;
  ui.statusText.textContent = text;
  if (fraction === undefined) ui.progress.removeAttribute('value');
  else ui.progress.value = fraction;
  ui.progress.setAttribute('aria-valuetext', text);
  updateButtons();
}

function updateButtons(): void {
  const state = ui.status.dataset.state;
  ui.run.disabled = state === 'running' || state === 'loading' || unitsLoading || !image || !unitsModel;
  ui.cancel.disabled = state !== 'running';
}

const running = () => ui.status.dataset.state === 'running';

/** Say what is loading, unless a run is in flight: its status and Cancel stay. */
function setLoading(text: string, fraction?: number): void {
  if (running()) updateButtons();
  else setState('loading', text, fraction);
}

function showError(message: string | undefined): void {
  ui.error.hidden = !message;
  ui.error.textContent = message ?? '';
}

function fail(err: unknown): void {
  showError(String((err as Error)?.message ?? err).split('\n')[0]);
  setState('error', 'failed', 0);
}

// ---- models ----

/** The files of model `key`: shipped models are fetched once (model.json and the weights it names). */
async function modelFiles(key: string): Promise<{ files: ChosenFile[] } | { picked: PickedFile[] }> {
  const entry = models.get(key)!;
  if (entry.picked) return { picked: entry.picked };
  if (entry.files) return { files: entry.files };
  const base = new URL(`models/${key}/`, document.baseURI);
  const get = async (path: string): Promise<Uint8Array> => {
    const response = await fetch(new URL(path, base));
    if (!response.ok) throw new Error(`models/${key}/${path}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  };
  const json = await get('model.json');
  const manifest = JSON.parse(new TextDecoder().decode(json)) as { weightsManifest: { paths: string[] }[] };
  const paths = manifest.weightsManifest.flatMap((group) => group.paths);
  const weights = await Promise.all(paths.map(get));
  entry.files = [{ path: `${key}/model.json`, bytes: json }, ...paths.map((p, i) => ({ path: `${key}/${p}`, bytes: weights[i] }))];
  return { files: entry.files };
}

/** Make sure the current worker has model `key`, and return its description. */
async function ensureModel(key: string): Promise<ModelDescription> {
  const entry = models.get(key)!;
  if (!registered.has(key)) {
    await api.register(key, await modelFiles(key));
    registered.add(key);
  }
  if (!entry.description) {
    entry.description = await api.describe(key);
    // Build the model's forward network in the worker now, while the visitor is still choosing.
    api.predict(key, new Float32Array(entry.description.inputShape.reduce((a, b) => a * b, 1))).catch(() => undefined);
  }
  return entry.description;
}

/** Fill the unit select for the chosen model, keeping the unit by its label (or saying why not). */
async function loadUnits(): Promise<void> {
  const call = ++unitsCall;
  const key = ui.model.value;
  const previous = ui.unit.value;
  unitsLoading = true;
  setLoading(`loading ${models.get(key)!.title}…`);
  let units: ModelDescription['units'];
  try {
    units = (await ensureModel(key)).units;
  } catch (err) {
    if (call === unitsCall && key.startsWith('user-')) forgetUserModel(key);
    throw err;
  } finally {
    if (call === unitsCall) unitsLoading = false;
  }
  if (call !== unitsCall) return; // another model was chosen meanwhile, or Cancel started a new worker
  ui.unit.replaceChildren(
    ...units.map((u, i) => Object.assign(document.createElement('option'), { value: u.label, textContent: `${u.label} (stage ${u.stage}, unit index ${i})` })),
  );
  const labels = units.map((u) => u.label);
  let note = '';
  if (previous && labels.includes(previous)) ui.unit.value = previous;
  else {
    const firstOfLast = units.find((u) => u.stage === units.at(-1)!.stage)!.label;
    ui.unit.value = firstOfLast;
    if (previous) note = `Unit ${previous} does not exist in ${models.get(key)!.title}; unit ${firstOfLast} is chosen instead.`;
  }
  ui.unitNote.hidden = !note;
  ui.unitNote.textContent = note;
  unitsModel = key;
  showInputNote();
  if (running()) updateButtons();
  else setState('ready', image ? 'ready' : 'choose an image', 0);
}

async function addUserModel(input: HTMLInputElement): Promise<void> {
  if (!input.files?.length) return;
  showError(undefined);
  const picked = Array.from(input.files, (file) => ({ path: file.webkitRelativePath || file.name, file }));
  input.value = '';
  const key = `user-${++userModels}`;
  // A folder by its name, a model.json (and weights) by the manifest's, a checkpoint by its own.
  const json = picked.find((f) => f.path.endsWith('/model.json')) ?? picked.find((f) => /\.json$/i.test(f.path));
  const name = json ? (json.path.includes('/') ? json.path.slice(0, json.path.lastIndexOf('/') + 1) : json.path) : picked[0].path;
  models.set(key, { title: `${name} (yours)`, picked });
  ui.model.append(Object.assign(document.createElement('option'), { value: key, textContent: models.get(key)!.title }));
  ui.model.value = key;
  await loadUnits();
}

/** A model from disk that could not be read: out of the select, back to the model whose units are shown. */
function forgetUserModel(key: string): void {
  models.delete(key);
  registered.delete(key);
  ui.model.querySelector(`option[value="${key}"]`)?.remove();
  ui.model.value = unitsModel ?? 'resnet56';
}

// ---- images ----

/** The model's input height and width when they differ from the image's, else undefined. */
function resizedTo(chosen: ChosenImage, description: ModelDescription): [number, number] | undefined {
  const [, h, w] = description.inputShape;
  return h === chosen.size[0] && w === chosen.size[1] ? undefined : [h, w];
}

/** Say that (and how) the chosen image is resized for the chosen model, or nothing. */
function showInputNote(): void {
  const description = unitsModel ? models.get(unitsModel)?.description : undefined;
  const size = description && image && resizedTo(image, description);
  ui.inputNote.hidden = !size;
  ui.inputNote.textContent = size
    ? `This model takes ${size[0]}×${size[1]} images: the chosen ${image!.size[0]}×${image!.size[1]} image is resized to ${size[0]}×${size[1]} (bilinear, as PyTorch's interpolate with align_corners=False) before every computation.`
    : '';
}

/** The image as the model takes it: its own pixels, or those resized to the model's input size. */
function modelPixels(chosen: ChosenImage, description: ModelDescription): Float32Array {
  const size = resizedTo(chosen, description);
  return size ? resizeBilinear(chosen.pixels, [3, ...chosen.size], size) : chosen.pixels;
}

/** Draw a 3 x H x W image (`size` [H, W]) at its own resolution; CSS scales the canvas. */
function drawImage(canvas: HTMLCanvasElement, pixels: Float32Array, [height, width]: readonly [number, number] = [32, 32]): void {
  if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
  const context = canvas.getContext('2d')!;
  const data = context.createImageData(width, height);
  const plane = height * width;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) data.data[4 * p + c] = Math.round(pixels[c * plane + p] * 255);
    data.data[4 * p + 3] = 255;
  }
  context.putImageData(data, 0, 0);
}

function chooseImage(chosen: ChosenImage): void {
  image = chosen;
  drawImage(ui.selectedCanvas, chosen.pixels, chosen.size);
  showInputNote();
  ui.selectedLabel.textContent = chosen.name;
  const state = ui.status.dataset.state;
  if (state !== 'running' && state !== 'loading') setState('ready', 'ready', 0);
}

function chooseFromBatch(index: number): void {
  if (!batch) return;
  chosenIndex = index;
  const label = batch.labels[index];
  chooseImage({ id: `${batch.source}#${index}`, pixels: imageToFloat(batch, index), size: [32, 32], label, name: `image ${index} of ${batch.source} (${CIFAR_CLASSES[label]})` });
  for (const b of ui.gallery.querySelectorAll<HTMLButtonElement>('button')) b.setAttribute('aria-pressed', String(Number(b.dataset.index) === index));
}

/** Show gallery page `p`; the one tab stop goes to `focusIndex` (or the chosen image, or the first). */
function showPage(p: number, focusIndex?: number): void {
  if (!batch) return;
  const pages = Math.ceil(batch.count / PAGE_SIZE);
  page = Math.min(Math.max(0, p), pages - 1);
  const first = page * PAGE_SIZE;
  const last = Math.min(batch.count, first + PAGE_SIZE) - 1;
  const stop = focusIndex ?? (chosenIndex !== undefined && chosenIndex >= first && chosenIndex <= last ? chosenIndex : first);
  const buttons: HTMLButtonElement[] = [];
  for (let i = first; i <= last; i++) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'thumb';
    button.dataset.index = String(i);
    button.tabIndex = i === stop ? 0 : -1;
    button.setAttribute('aria-pressed', String(i === chosenIndex));
    button.setAttribute('aria-label', `image ${i}: ${CIFAR_CLASSES[batch.labels[i]]}`);
    button.title = `image ${i}: ${CIFAR_CLASSES[batch.labels[i]]}`;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 32;
    canvas.setAttribute('aria-hidden', 'true');
    drawImage(canvas, imageToFloat(batch, i));
    button.append(canvas);
    buttons.push(button);
  }
  ui.gallery.replaceChildren(...buttons);
  ui.galleryInfo.textContent = `images ${first}–${last} of ${batch.count} (${batch.source})`;
  ui.pagePrev.disabled = page === 0;
  ui.pageNext.disabled = page === pages - 1;
  ui.imageIndex.max = String(batch.count - 1);
  ui.imageIndex.placeholder = `0 to ${batch.count - 1}`;
}

function focusThumb(index: number): void {
  if (!batch) return;
  const target = Math.min(Math.max(0, index), batch.count - 1);
  if (Math.floor(target / PAGE_SIZE) !== page) showPage(Math.floor(target / PAGE_SIZE), target);
  for (const b of ui.gallery.querySelectorAll<HTMLButtonElement>('button')) b.tabIndex = Number(b.dataset.index) === target ? 0 : -1;
  ui.gallery.querySelector<HTMLButtonElement>(`button[data-index="${target}"]`)?.focus();
}

function useBatch(loaded: CifarBatch): void {
  batch = loaded;
  chosenIndex = undefined;
  showPage(0);
}

async function loadSamples(): Promise<void> {
  const response = await fetch(new URL(SAMPLES, document.baseURI));
  if (!response.ok) throw new Error(`${SAMPLES}: HTTP ${response.status}`);
  const samples = readCifarBatch(new Uint8Array(await response.arrayBuffer()), 'the samples');
  if (!batch) {
    useBatch(samples);
    if (!image) chooseFromBatch(3);
  }
}

async function loadCifarFile(file: File): Promise<void> {
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  let bytes: Uint8Array;
  if (isGzip(file.name, head)) {
    setLoading(`unpacking ${file.name}…`, 0);
    bytes = await testBatchFromArchive(file.stream(), file.name, (read) => setLoading(`unpacking ${file.name}…`, read / file.size));
  } else {
    const refused = checkFileSize('cifarBinary', file.name, file.size);
    if (refused) throw new InputError(refused);
    bytes = new Uint8Array(await file.arrayBuffer());
  }
  useBatch(readCifarBatch(bytes, file.name));
  if (running()) updateButtons();
  else setState('ready', image ? 'ready' : 'choose an image', 0);
}

// ---- results ----

function clearResults(): void {
  ui.results.dataset.state = 'running';
  ui.prediction.textContent = '';
  ui.prediction.removeAttribute('data-probabilities');
  ui.topValues.replaceChildren();
  ui.topValues.removeAttribute('data-values');
  ui.propagationSummary.textContent = '';
  ui.propagationSummary.removeAttribute('data-unavailable');
  ui.propagationBlock.hidden = ui.probabilitiesBlock.hidden = false;
  for (const f of [ui.spectrumFigure, ui.histogramFigure, ui.propagationFigure, ui.probabilitiesFigure]) clearFigure(f);
}

const argmax = (values: number[]) => values.indexOf(Math.max(...values));
const percent = (p: number) => `${formatValue(100 * p)} %`;

async function compute(): Promise<void> {
  if (!image || !unitsModel) return;
  const key = unitsModel;
  const description = models.get(key)!.description!;
  const labels = description.units.map((u) => u.label);
  const inputs = checkPageInputs({ k: ui.k.value, eps: ui.eps.value, unit: ui.unit.value }, labels);
  if ('error' in inputs) {
    showError(inputs.error);
    setState('error', 'check the inputs', 0);
    return;
  }
  showError(undefined);
  const run = ++runId;
  const current = () => run === runId;
  const { k, eps } = inputs;
  const unit = labels.indexOf(inputs.unit);
  const chosen = image;
  const pixels = modelPixels(chosen, description);
  const classes = description.classes;
  clearResults();

  const started = performance.now();
  const steps = ['prediction', `top-${k} singular values`, 'spectrum', 'perturbation propagation'];
  const step = (i: number) =>
    current() && setState('running', `${i + 1}/${steps.length}: ${steps[i]}… (${((performance.now() - started) / 1000).toFixed(1)} s)`, i / steps.length);

  step(0);
  await ensureModel(key);
  const imageKey = `${key}|${chosen.id}`;
  let probabilities = predictions.get(imageKey);
  if (!probabilities) {
    probabilities = await api.predict(key, pixels);
    predictions.set(imageKey, probabilities);
  }
  if (!current()) return;
  const predicted = argmax(probabilities);
  ui.prediction.dataset.probabilities = JSON.stringify(probabilities);
  ui.prediction.textContent = `${classes[predicted]} (${percent(probabilities[predicted])})` +
    (chosen.label === undefined ? '' : `; true label: ${classes[chosen.label]}`);

  // The propagation does not depend on the unit: when it is known, it is shown before the unit's numbers.
  const propagationKey = `${imageKey}|${eps}`;
  const known = propagations.get(propagationKey);
  if (known) await showPropagation(known, description, unit, probabilities, eps);

  step(1);
  const top = await api.topSpectrum(key, pixels, unit, k);
  if (!current()) return;
  const unitName = `unit ${labels[unit]}`;
  ui.topTitle.textContent = `Largest ${k} singular values of ${unitName} (${top.shape[0]} × ${top.shape[1]} linearization)`;
  ui.topValues.replaceChildren(...top.values.map((v) => Object.assign(document.createElement('li'), { textContent: formatValue(v) })));
  ui.topValues.dataset.values = JSON.stringify(top.values);

  step(2);
  const size = Math.min(...top.shape);
  const edges = histogramEdges(top.values[0]);
  if (Math.max(...top.shape) <= FULL_SPECTRUM_LIMIT) {
    const full = await api.fullSpectrum(key, pixels, unit);
    if (!current()) return;
    const values = full.values;
    const above = values.filter((v) => v > 1).length;
    ui.spectrumTitle.textContent = `All ${values.length} singular values of ${unitName} (${full.seconds.toFixed(1)} s)`;
    ui.spectrumBlock.hidden = false;
    ui.histogramCaption.textContent = 'How the singular values are spread: the mass right of the σ = 1 line is the share of directions this unit amplifies.';
    await drawFigure(ui.spectrumFigure, 'spectrum', spectrumData(values, top.alpha),
      `Line chart of the ${values.length} singular values of ${unitName}, sorted: from ${formatValue(values[0])} down to ${formatValue(values[values.length - 1])}; ${above} of them are above 1.`);
    await drawFigure(ui.histogramFigure, 'histogram', histogramData(edges, binCounts(values, edges), values.length, top.alpha),
      `Histogram of the singular values of ${unitName} from 0 to ${formatValue(edges.at(-1)!)}; ${percent(above / values.length)} of them are above 1.`);
  } else {
    const density = await api.density(key, pixels, unit, edges);
    if (!current()) return;
    const total = density.counts.reduce((a, b) => a + b, 0);
    const above = density.counts.reduce((t, c, i) => t + (edges[i] >= 1 ? c : 0), 0);
    ui.spectrumTitle.textContent = `Density of the ${size} singular values of ${unitName} (stochastic Lanczos quadrature, ${density.seconds.toFixed(1)} s)`;
    ui.spectrumBlock.hidden = true;
    ui.histogramCaption.textContent = 'Estimated spread of the singular values (this unit is too large to compute them all here): the mass right of the σ = 1 line is the share of directions this unit amplifies.';
    await drawFigure(ui.histogramFigure, 'histogram', histogramData(edges, density.counts, size, top.alpha),
      `Estimated histogram of the ${size} singular values of ${unitName} from 0 to ${formatValue(edges.at(-1)!)}; about ${percent(total > 0 ? above / total : 0)} of them are above 1.`);
  }

  step(3);
  let propagation = propagations.get(propagationKey);
  if (!propagation) {
    try {
      propagation = await api.propagate(key, pixels, chosen.label ?? predicted, eps);
    } catch (err) {
      // A model the propagation does not support yet (a usage error, one line) keeps its spectrum.
      if ((err as Error)?.name !== 'UsageError') throw err;
      if (!current()) return;
      ui.propagationSummary.textContent = `Perturbation growth is not available for this model: ${(err as Error).message.split('\n')[0]}`;
      ui.propagationSummary.dataset.unavailable = 'true';
      ui.propagationBlock.hidden = ui.probabilitiesBlock.hidden = true;
      ui.results.dataset.state = 'done';
      setState('done', `done in ${((performance.now() - started) / 1000).toFixed(1)} s (without perturbation growth)`, 1);
      return;
    }
    if (!current()) return;
    propagations.set(propagationKey, propagation);
  }
  await showPropagation(propagation, description, unit, probabilities, eps);
  ui.results.dataset.state = 'done';
  setState('done', `done in ${((performance.now() - started) / 1000).toFixed(1)} s`, 1);
}

async function showPropagation(p: Propagation, description: ModelDescription, unit: number, clean: number[], eps: number): Promise<void> {
  const { classes, units } = description;
  const labels = units.map((u) => u.label);
  const last = (r: Propagation['fgsm']) => r.relative.at(-1)!;
  await drawFigure(ui.propagationFigure, 'propagation', propagationData(p, labels, unit),
    `Line chart, log scale, of the relative perturbation after the stem and each of the ${labels.length} units, unit ${labels[unit]} marked. ` +
      `FGSM: ${formatValue(p.fgsm.relative[0])} after the stem, ${formatValue(last(p.fgsm))} after the last unit; ` +
      `random: ${formatValue(p.gaussian.relative[0])} and ${formatValue(last(p.gaussian))}.`);
  const outcome = (r: Propagation['fgsm']) => `${classes[r.predClean]} → ${classes[r.predPerturbed]}, ${formatValue(last(r))} after the last unit`;
  ui.propagationSummary.textContent = `eps = ${formatValue(eps)}. Prediction under FGSM: ${outcome(p.fgsm)}; under the random perturbation: ${outcome(p.gaussian)}.`;
  const top = (probs: number[]) => `${classes[argmax(probs)]} (${percent(Math.max(...probs))})`;
  await drawFigure(ui.probabilitiesFigure, 'probabilities', probabilitiesData(classes, clean, p.fgsm.probabilities, p.gaussian.probabilities),
    `Bar chart of the class probabilities: clean image ${top(clean)}, FGSM ${top(p.fgsm.probabilities)}, random ${top(p.gaussian.probabilities)}.`);
}

// ---- wiring ----

function showLimits(): void {
  const { k, eps } = INPUT_LIMITS;
  ui.k.min = String(k.min);
  ui.k.max = String(k.max);
  ui.kLabel.textContent = `Top-k singular values (whole number, ${k.min} to ${k.max})`;
  ui.eps.max = String(eps.max);
  ui.epsLabel.innerHTML = `Perturbation size eps (L<sub>∞</sub>, pixels in [0, 1]; ${eps.min} &lt; eps ≤ ${eps.max})`;
}

const guard = (task: () => Promise<void>) => () => task().catch(fail);

ui.cifarFile.addEventListener('change', guard(async () => {
  showError(undefined);
  const file = ui.cifarFile.files?.[0];
  if (file) await loadCifarFile(file);
}));

ui.imageFile.addEventListener('change', guard(async () => {
  showError(undefined);
  const file = ui.imageFile.files?.[0];
  if (!file) return;
  const refused = checkFileSize('image', file.name, file.size);
  if (refused) throw new InputError(refused);
  // 32x32 as CIFAR-10, or the chosen model's own input size (then nothing is resized for it).
  const bytes = new Uint8Array(await file.arrayBuffer());
  const [height, width] = imageDimensions(bytes, file.name);
  const description = unitsModel ? models.get(unitsModel)?.description : undefined;
  const [, modelH, modelW] = description?.inputShape ?? [3, 32, 32];
  if (!(height === 32 && width === 32) && !(height === modelH && width === modelW)) {
    throw new InputError(`${file.name}: image is ${width}x${height} pixels; expected 32x32${modelH !== 32 || modelW !== 32 ? ` or this model's ${modelW}x${modelH}` : ''}`);
  }
  const pixels = decodeImage(bytes, file.name, [height, width]);
  chosenIndex = undefined;
  for (const b of ui.gallery.querySelectorAll('button')) b.setAttribute('aria-pressed', 'false');
  chooseImage({ id: `upload ${++uploads}`, pixels, size: [height, width], name: file.name });
}));

ui.gallery.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-index]');
  if (!button) return;
  const index = Number(button.dataset.index);
  chooseFromBatch(index);
  focusThumb(index);
});

ui.gallery.addEventListener('keydown', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-index]');
  if (!button || !batch) return;
  const index = Number(button.dataset.index);
  const moves: Record<string, number> = {
    ArrowLeft: -1, ArrowRight: 1, ArrowUp: -GALLERY_COLUMNS, ArrowDown: GALLERY_COLUMNS,
    PageUp: -PAGE_SIZE, PageDown: PAGE_SIZE, Home: -index, End: batch.count - 1 - index,
  };
  if (!(event.key in moves)) return;
  event.preventDefault();
  focusThumb(index + moves[event.key]);
});

ui.pagePrev.addEventListener('click', () => showPage(page - 1));
ui.pageNext.addEventListener('click', () => showPage(page + 1));
ui.imageIndex.addEventListener('change', () => {
  if (!batch) return;
  const index = Number(ui.imageIndex.value);
  if (!Number.isInteger(index) || index < 0 || index >= batch.count) {
    showError(`image number: "${ui.imageIndex.value}" is not a whole number from 0 to ${batch.count - 1}`);
    return;
  }
  showError(undefined);
  showPage(Math.floor(index / PAGE_SIZE), index);
  chooseFromBatch(index);
});

ui.model.addEventListener('change', guard(loadUnits));
ui.modelFile.addEventListener('change', guard(() => addUserModel(ui.modelFile)));
ui.modelFolder.addEventListener('change', guard(() => addUserModel(ui.modelFolder)));
ui.run.addEventListener('click', guard(compute));
ui.cancel.addEventListener('click', () => {
  runId++;
  worker.terminate();
  startWorker();
  // A model that was loading in the old worker never answers: load it again in the new one.
  if (unitsLoading) loadUnits().catch(fail);
  ui.results.dataset.state = ui.results.dataset.state === 'running' ? 'done' : ui.results.dataset.state;
  setState('cancelled', 'cancelled', 0);
});

showLimits();
startWorker();
loadUnits().catch(fail);
loadSamples().catch(fail);
