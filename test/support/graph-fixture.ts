/**
 * Reading test/fixtures/graph-units-pytorch.json (scripts/make-graph-fixtures.py): base64 arrays, and
 * a family's NetworkGraph built straight from its weights and layer lists (no recogniser involved).
 */
import assert from 'node:assert/strict';
import type { Layer, NetworkGraph, ResidualUnitGraph, Shape3 } from '../../src/model/graph.js';

export type FixtureLayer = {
  op: string; weight?: string; key?: string; inChannels?: number; outChannels?: number; kernel?: number;
  stride?: number; padding?: number; channels?: number;
};
export interface FixtureUnit {
  stage: number; indexInStage: number; source: string; inShape: Shape3; outShape: Shape3;
  pre: FixtureLayer[]; body: FixtureLayer[]; shortcut: FixtureLayer[]; shortcutFrom: 'input' | 'pre'; post: FixtureLayer[];
}
export interface FixtureRecord {
  unit: number; label: string; rows: number; columns: number; v: string; u: string; jv: string; jtu: string;
  singularValues?: string; topSingularValues?: string;
}
export interface FixtureFamily {
  name: string; alpha: number; beta: number; inputShape: Shape3;
  weights: Record<string, { shape: number[]; f32: string }>;
  stem: FixtureLayer[]; units: FixtureUnit[]; head: FixtureLayer[];
  input: string; logits: string; unitInputs: string[]; records: FixtureRecord[];
}


export function f64(text: string): Float64Array {
  const bytes = Buffer.from(text, 'base64');
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
export function f32(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** The NetworkGraph of a fixture family, read straight from its weights (no recogniser). */
export function graphOfFixture(family: FixtureFamily): NetworkGraph {
  const weight = (key: string) => {
    const w = family.weights[key];
    assert.ok(w, `${family.name}: no weight ${key}`);
    return f32(w.f32);
  };
  const layer = (l: FixtureLayer): Layer => {
    switch (l.op) {
      case 'conv':
        return {
          op: 'conv', inChannels: l.inChannels!, outChannels: l.outChannels!, kernel: l.kernel!, stride: l.stride!,
          padding: l.padding!, weight: weight(l.weight!),
        };
      case 'bn':
        return {
          op: 'bn', channels: l.channels!, params: {
            weight: weight(`${l.key}.weight`), bias: weight(`${l.key}.bias`), runningMean: weight(`${l.key}.running_mean`),
            runningVar: weight(`${l.key}.running_var`), eps: 1e-5,
          },
        };
      case 'linear': {
        const w = family.weights[`${l.key}.weight`];
        return { op: 'linear', outFeatures: w.shape[0], inFeatures: w.shape[1], weight: weight(`${l.key}.weight`), bias: weight(`${l.key}.bias`) };
      }
      case 'relu': return { op: 'relu' };
      case 'avgpool': return { op: 'avgpool' };
      case 'maxpool': return { op: 'maxpool', kernel: l.kernel!, stride: l.stride!, padding: l.padding! };
      case 'option-a': return { op: 'option-a', inChannels: l.inChannels!, outChannels: l.outChannels!, stride: l.stride! };
      default: throw new Error(`unknown fixture layer ${l.op}`);
    }
  };
  const units: ResidualUnitGraph[] = family.units.map((u) => ({
    stage: u.stage, indexInStage: u.indexInStage, source: u.source, inShape: u.inShape, outShape: u.outShape,
    pre: u.pre.map(layer), body: u.body.map(layer), shortcut: u.shortcut.map(layer), shortcutFrom: u.shortcutFrom,
    post: u.post.map(layer),
  }));
  return {
    description: {
      family: 'cifar-resnet', depth: 0, widths: [], unitsPerStage: [], shortcut: 'A', block: 'basic', classes: 10,
    },
    inputShape: family.inputShape, stem: family.stem.map(layer), units, head: family.head.map(layer),
  };
}

