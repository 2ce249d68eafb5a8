/**
 * The report page: one self-contained HTML document (inline CSS and SVG, no scripts, no external
 * resources) from the study's numbers, the findings and the rendered figures.
 */
import { depthLabel, type ReportStudy } from '../study/report-study.js';
import type { Figure } from './figures.js';
import { THRESHOLDS, type Finding } from './findings.js';

export interface RenderedFigure extends Omit<Figure, 'spec'> {
  svg: string;
}

export const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
export const pct = (x: number, digits = 2) => (Number.isFinite(x) ? `${(100 * x).toFixed(digits)} %` : '–');
const num = (x: number, digits = 4) =>
  !Number.isFinite(x) ? '–' : Number.isInteger(x) && Math.abs(x) < 1e9 ? String(x) : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? x.toFixed(digits) : x.toExponential(3);

export function table(header: string[], rows: (string | number)[][], className = ''): string {
  const cell = (v: string | number) => (typeof v === 'number' ? `<td class="n">${escapeHtml(num(v))}</td>` : `<td>${escapeHtml(v)}</td>`);
  return (
    `<table${className ? ` class="${className}"` : ''}><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`
  );
}

export function figureHtml(f: RenderedFigure): string {
  return `<figure id="fig-${escapeHtml(f.id)}" class="figure">${f.svg}<figcaption><b>${escapeHtml(f.title)}.</b> ${escapeHtml(f.caption)}</figcaption></figure>`;
}

export function verdictClass(v: Finding['verdict']): string {
  return v === 'consistent' ? 'ok' : v === 'partly consistent' ? 'partly' : v === 'not consistent' ? 'no' : 'none';
}

function findingsTable(findings: Finding[]): string {
  const rows = findings.map(
    (f) =>
      `<tr class="finding" id="finding-${f.id}"><td class="n">${f.id}</td><td><b>${escapeHtml(f.title)}</b></td>` +
      `<td class="claim">${escapeHtml(f.claim)}</td><td class="measurement">${escapeHtml(f.measurement)}</td>` +
      `<td class="verdict ${verdictClass(f.verdict)}"><b>${escapeHtml(f.verdict)}</b>${f.reason ? `<br><span class="reason">${escapeHtml(f.reason)}</span>` : ''}</td></tr>`,
  );
  return (
    `<table class="findings"><thead><tr><th>#</th><th>finding</th><th>the paper's claim</th><th>our measurement</th><th>verdict</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

export const CSS = `
body { font: 14px/1.45 Helvetica, Arial, sans-serif; color: #222; max-width: 1200px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #555; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 12.5px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; vertical-align: top; text-align: left; }
th { background: #f4f4f4; } td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.findings td { font-size: 13px; } table.findings td.claim { width: 22%; } table.findings td.verdict { width: 18%; }
td.verdict.ok { background: #e6f4e6; } td.verdict.partly { background: #fff6dc; } td.verdict.no { background: #fbe4e4; } td.verdict.none { background: #eee; }
.reason { color: #555; font-size: 12px; }
figure { margin: 1.2em 0; overflow-x: auto; } figcaption { color: #444; font-size: 12.5px; max-width: 900px; }
details { margin: 0.6em 0; } summary { cursor: pointer; color: #335; }
code { background: #f4f4f4; padding: 0 3px; }
`;

export function reportHtml(study: ReportStudy, findings: Finding[], figures: RenderedFigure[], meta: { version: string; data: string; created: string }): string {
  const fig = (id: string) => figures.filter((f) => f.id === id || f.id.startsWith(`${id}-`)).map(figureHtml).join('\n');
  const unscaled = study.spectra.filter((e) => e.alpha === 1 && e.beta === 1);
  const withRows = unscaled.some((e) => e.activeRows !== undefined);
  const spectraTable = table(
    ['unit', 'stage', 'image', 'm x n', ...(withRows ? ['active rows'] : []), 's_max', 'at 1', `within ${study.tolerances.nearOne} of 1`, `nonzero within ${study.tolerances.nearOne} of 1`, 'zero', 'median nonzero', 'smallest nonzero', 'seconds'],
    unscaled.map((e) => [
      `${e.unitLabel} (${e.unit})`, e.stage, e.image, `${e.shape[0]} x ${e.shape[1]}`, ...(withRows ? [e.activeRows ?? '–'] : []), e.smax, pct(e.fractionOne), pct(e.fractionNearOne),
      pct(e.fractionNearOneOfNonzero), pct(e.fractionZero), e.medianNonzero, e.smallestNonzero, e.seconds,
    ]),
  );
  const variationTable = study.variation.length
    ? table(
        ['unit', 'images', 'rank-wise std: max', 'mean', 'relative variation', 's_max range', 'at-1 fraction range'],
        study.variation.map((v) => [
          v.unitLabel, v.images.join(', '), v.rankStdMax, v.rankStdMean, pct(v.relativeVariation), `${num(v.smaxMin)} – ${num(v.smaxMax)}`,
          `${pct(v.fractionOneMin)} – ${pct(v.fractionOneMax)}`,
        ]),
      )
    : '<p>No unit has spectra at more than one image in this preset.</p>';
  const sweep = study.sweep;
  const accuracyValues = [...new Set(sweep.accuracy.map((a) => a.value))].sort((a, b) => a - b);
  const accuracyCell = (parameter: string, scope: string, value: number) => {
    const a = sweep.accuracy.find((r) => r.parameter === parameter && r.scope === scope && r.value === value);
    return a ? `${pct(a.accuracy)} (${a.correct}/${a.images})` : '–';
  };
  const sweepAccuracyTable = table(
    ['value', `alpha: unit ${sweep.unitLabel}`, 'alpha: every unit', `beta: unit ${sweep.unitLabel}`, 'beta: every unit'],
    accuracyValues.map((v) => [v, accuracyCell('alpha', 'unit', v), accuracyCell('alpha', 'network', v), accuracyCell('beta', 'unit', v), accuracyCell('beta', 'network', v)]),
  );
  const sweepSpectraTable = table(
    ['parameter', 'value', 's_max', 'at alpha', `within ${study.tolerances.nearOne} of 1`, 'zero', 'change of sorted spectrum vs. value 1', 'seconds'],
    sweep.spectra.map((s) => [s.parameter, s.value, s.smax, pct(s.fractionOne), pct(s.fractionNearOne), pct(s.fractionZero), pct(s.relativeChange), s.seconds]),
  );
  const attacks = study.propagation.attacks;
  const propagationTable = table(
    ['depth', 'after', ...attacks.flatMap((a) => [`${a.attack} mean`, `${a.attack} q10`, `${a.attack} median`, `${a.attack} q90`, `${a.attack} first order (mean)`])],
    (attacks[0]?.relative.mean ?? []).map((_, k) => [
      k, depthLabel(study.propagation.stageEnds, k),
      ...attacks.flatMap((a) => [a.relative.mean[k], a.relative.q10[k], a.relative.median[k], a.relative.q90[k], a.firstOrder.mean[k]]),
    ]),
  );
  const p = study.projection;
  const projectionSection = p.available
    ? fig('projection') +
      table(
        ['unit', 'n', `chance ${p.k}/n`, ...attacks.flatMap((a) => [`${a.attack} mean`, `${a.attack} min`, `${a.attack} max`, `${a.attack} amplification`])],
        p.units.map((u) => [u.unitLabel, u.inputs, u.chance, ...u.byAttack.flatMap((a) => [a.mean, a.min, a.max, a.amplification])]),
      )
    : `<p>Not computed in this version: ${escapeHtml(p.reason)}.</p>`;
  const findingById = (id: number) => findings.find((f) => f.id === id)!;
  const findingNote = (id: number) => {
    const f = findingById(id);
    return `<p><b>Finding ${id}</b> — paper: ${escapeHtml(f.claim)} <b>Verdict: ${escapeHtml(f.verdict)}</b>${f.reason ? ` (${escapeHtml(f.reason)})` : ''}.</p>`;
  };
  const thresholds = Object.entries(THRESHOLDS).map(([k, v]) => `<code>${k}</code> = ${Number.isInteger(v) ? v : Number(v).toFixed(3)}`).join(', ');
  const seconds = Object.entries(study.seconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ');
  const a = study.architecture;
  const architecture = a
    ? `\nArchitecture: ${escapeHtml(a.family)}, depth ${a.depth}, ${a.block} blocks, widths ${a.widths.join('-')}, units per stage ${a.unitsPerStage.join('-')} ` +
      `(${study.units} units, labelled stage.unit), shortcut ${escapeHtml(a.shortcut)}, ${a.classes} classes.`
    : '';
  // The paper's family's unit, or any family's (src/model/graph.ts): the layers' Jacobians in order.
  const linearization = a
    ? 'A unit\'s linearization is J = Post (alpha S + Body) Pre at the image\'s float64 trajectory: the Jacobians of its layers in order ' +
      '(conv: its weights, times beta in the body; BN: its scale; ReLU: a 0/1 mask), Pre the pre-activation BN + ReLU (pre-activation families), ' +
      'Post the output ReLU (post-activation families), S the shortcut (identity, or 1x1 conv [+ BN]);'
    : 'A unit\'s linearization is J = D_out (alpha S + B2 W2 D_mid B1 W1) at the image\'s float64 trajectory;';

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stability report: ${escapeHtml(study.model)} (${escapeHtml(study.preset)})</title>
<style>${CSS}</style>
</head>
<body>
<h1>Residual networks as nonlinear systems — ${escapeHtml(study.model)}</h1>
<p class="meta">Measurements set beside Rothauge, Yao, Hu &amp; Mahoney, <i>Residual Networks as Nonlinear Systems: Stability
Analysis using Linearization</i> (2019). Preset <b>${escapeHtml(study.preset)}</b>, seed ${study.seed}, data ${escapeHtml(meta.data)},
resnet-stability ${escapeHtml(meta.version)}, ${escapeHtml(meta.created)}. Took ${escapeHtml(seconds)}.${architecture}
Every number is in <code>report.json</code> beside this file.</p>

<h2 id="findings">Findings</h2>
${findingsTable(findings)}
<p class="reason">Verdicts are computed from the measurements with these thresholds: ${thresholds}.
${linearization}
"at 1" means |s - alpha| &lt; ${study.tolerances.one} (alpha = 1 unscaled), "zero" s &lt; ${study.tolerances.zero}.</p>

<h2 id="spectra">1–2. Spectra of the unit linearizations</h2>
${findingNote(1)}
${findingNote(2)}
${fig('spectra')}
${fig('histogram')}
<h3>Spectra</h3>
${spectraTable}
<h3>Variation across images</h3>
${variationTable}

<h2 id="sweep">3. Scaling the skip connection (alpha) and the weights (beta)</h2>
${findingNote(3)}
${fig('sweep')}
<h3>Accuracy (first ${study.cleanAccuracy.images} test images)</h3>
${sweepAccuracyTable}
<h3>Spectrum of unit ${escapeHtml(sweep.unitLabel)} at image ${sweep.image}</h3>
${sweepSpectraTable}

<h2 id="propagation">4. Perturbations through the network</h2>
${findingNote(4)}
${fig('propagation')}
<details><summary>Relative perturbation at every depth (mean and quantiles over ${study.propagation.images.length} images)</summary>
${propagationTable}
</details>

<h2 id="projection">5. Projections onto the top right singular vectors</h2>
${findingNote(5)}
${projectionSection}
</body>
</html>
`;
}
