/**
 * Shapes through a NetworkGraph (model/graph.ts): what each layer makes of a C x H x W activation,
 * checked layer by layer, so that a graph whose layers do not fit together is refused before any
 * kernel runs. Also the names of units (`stage.unit`, 1-based, and 0..N-1) of any graph.
 */
import type { Layer, NetworkGraph, ResidualUnitGraph, Shape3 } from '../model/graph.js';
import { InputError } from '../util/errors.js';

/** floor((n + 2P - K)/S) + 1, PyTorch's output size of a window (0 when the window does not fit). */
export function windowOutput(size: number, kernel: number, stride: number, padding: number): number {
  const span = size + 2 * padding - kernel;
  return span < 0 || stride < 1 ? 0 : Math.floor(span / stride) + 1;
}

/**
 * The output shape of `layer` on an input of shape `shape`. Errors: InputError naming `where` when
 * the layer does not accept that shape (channels that differ, a window larger than the input).
 */
export function layerOutputShape(layer: Layer, shape: Shape3, where: string): Shape3 {
  const [c, h, w] = shape;
  const fail = (why: string): never => {
    throw new InputError(`${where} (${layer.op}): ${why} on an input of ${c}x${h}x${w}`);
  };
  switch (layer.op) {
    case 'conv': {
      if (layer.inChannels !== c) fail(`expects ${layer.inChannels} channels`);
      if (layer.weight.length !== layer.outChannels * layer.inChannels * layer.kernel * layer.kernel) fail('weight has the wrong size');
      const ho = windowOutput(h, layer.kernel, layer.stride, layer.padding), wo = windowOutput(w, layer.kernel, layer.stride, layer.padding);
      if (ho < 1 || wo < 1) fail(`a ${layer.kernel}x${layer.kernel} window does not fit`);
      return [layer.outChannels, ho, wo];
    }
    case 'bn':
      if (layer.channels !== c || layer.params.weight.length !== c) fail(`expects ${layer.channels} channels`);
      return [c, h, w];
    case 'relu':
      return [c, h, w];
    case 'maxpool': {
      const ho = windowOutput(h, layer.kernel, layer.stride, layer.padding), wo = windowOutput(w, layer.kernel, layer.stride, layer.padding);
      if (ho < 1 || wo < 1 || 2 * layer.padding > layer.kernel) fail(`a ${layer.kernel}x${layer.kernel} pool window does not fit`);
      return [c, ho, wo];
    }
    case 'option-a':
      if (layer.inChannels !== c) fail(`expects ${layer.inChannels} channels`);
      if (layer.outChannels < c || (layer.outChannels - c) % 2 !== 0) fail(`cannot zero-pad ${c} channels to ${layer.outChannels}`);
      return [layer.outChannels, Math.ceil(h / layer.stride), Math.ceil(w / layer.stride)];
    case 'avgpool':
      return [c, 1, 1];
    case 'linear':
      if (layer.inFeatures !== c * h * w) fail(`expects ${layer.inFeatures} features`);
      return [layer.outFeatures, 1, 1];
  }
}

/** The shape after a list of layers (each checked). */
export function layersOutputShape(layers: Layer[], shape: Shape3, where: string): Shape3 {
  let s = shape;
  layers.forEach((layer, i) => {
    s = layerOutputShape(layer, s, `${where} layer ${i}`);
  });
  return s;
}

/** `stage.unit` of a unit (both 1-based). */
export function graphUnitLabel(unit: ResidualUnitGraph): string {
  return `${unit.stage}.${unit.indexInStage + 1}`;
}

function unitRange(graph: NetworkGraph): string {
  const units = graph.units;
  return `the network has units ${graphUnitLabel(units[0])}-${graphUnitLabel(units[units.length - 1])} (0-${units.length - 1})`;
}

/**
 * The 0-based index of a unit given as an index (number or digits) or as `stage.unit`. Errors:
 * InputError naming the spec and the valid range.
 */
export function resolveGraphUnit(graph: NetworkGraph, spec: number | string): number {
  const count = graph.units.length;
  const text = String(spec).trim();
  if (typeof spec === 'number' || /^\d+$/.test(text)) {
    const index = Number(text);
    if (Number.isInteger(index) && index >= 0 && index < count) return index;
    throw new InputError(`unit ${text} is out of range: ${unitRange(graph)}`);
  }
  const at = graph.units.findIndex((u) => graphUnitLabel(u) === text);
  if (at >= 0) return at;
  if (/^\d+\.\d+$/.test(text)) throw new InputError(`unit ${text} is out of range: ${unitRange(graph)}`);
  throw new InputError(`unit "${text}" is neither an index nor stage.unit: ${unitRange(graph)}`);
}

/** The indices of the units of stage `spec` (1-based). Errors: InputError naming the valid stages. */
export function resolveGraphStage(graph: NetworkGraph, spec: number | string): number[] {
  const text = String(spec).trim();
  const stages = [...new Set(graph.units.map((u) => u.stage))];
  const stage = /^\d+$/.test(text) ? Number(text) : NaN;
  const units = graph.units.flatMap((u, i) => (u.stage === stage ? [i] : []));
  if (units.length === 0) {
    throw new InputError(`stage ${JSON.stringify(text)} is out of range: the network has stages ${stages.join(', ')}`);
  }
  return units;
}

/**
 * Check that the stem, every unit (body, shortcut and their sum) and the head fit together, and that
 * the units' recorded shapes are what the layers make. Errors: InputError naming the first misfit.
 */
export function checkGraphShapes(graph: NetworkGraph): void {
  let shape = layersOutputShape(graph.stem, graph.inputShape, 'stem');
  graph.units.forEach((unit) => {
    const where = `unit ${graphUnitLabel(unit)} (${unit.source})`;
    if (!sameShape(shape, unit.inShape)) throw new InputError(`${where}: input ${shape.join('x')} but the unit expects ${unit.inShape.join('x')}`);
    const p = layersOutputShape(unit.pre, shape, `${where} pre`);
    const b = layersOutputShape(unit.body, p, `${where} body`);
    const s = layersOutputShape(unit.shortcut, unit.shortcutFrom === 'pre' ? p : shape, `${where} shortcut`);
    if (!sameShape(b, s)) throw new InputError(`${where}: body gives ${b.join('x')}, shortcut ${s.join('x')}`);
    shape = layersOutputShape(unit.post, b, `${where} post`);
    if (!sameShape(shape, unit.outShape)) throw new InputError(`${where}: output ${shape.join('x')} but the unit records ${unit.outShape.join('x')}`);
  });
  layersOutputShape(graph.head, shape, 'head');
}

export function sameShape(a: Shape3, b: Shape3): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}
