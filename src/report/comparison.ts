/**
 * The comparison page: several models' studies (one report each) side by side — for each of the
 * paper's findings its claim and every model's measurement and verdict, the cross-model figures of
 * comparison-figures.ts, and a summary table. Self-contained like the single-model page (inline CSS and
 * SVG, no scripts); the only links are relative ones to the models' own report pages.
 */
import type { ReportStudy } from '../study/report-study.js';
import { comparisonFigures, type Row } from './comparison-figures.js';
import { computeFindings, THRESHOLDS, type Finding } from './findings.js';
import { CSS, escapeHtml, figureHtml, pct, table, verdictClass, type RenderedFigure } from './html.js';
import { renderSvg } from './render.js';
import type { ReportMeta } from './documents.js';

export interface ComparedModel {
  study: ReportStudy;
  /** How that study's own report was made. */
  meta: ReportMeta;
  /** Relative address of the model's own report.html, linked from the page. */
  href?: string;
}

export interface ComparisonDocuments {
  html: string;
  json: {
    meta: Pick<ReportMeta, 'version' | 'created'>;
    models: { model: string; depth: number; units: number; family?: string; preset: string; seed: number; data: string; report?: string; cleanAccuracy: ReportStudy['cleanAccuracy'] }[];
    findings: { id: number; title: string; claim: string; byModel: ({ model: string } & Omit<Finding, 'id' | 'title' | 'claim'>)[] }[];
    thresholds: typeof THRESHOLDS;
    figures: { id: string; title: string; caption: string; rows: Row[] }[];
  };
}

function findingsTable(models: string[], findings: ComparisonDocuments['json']['findings']): string {
  const rows = findings.map((f) =>
    `<tr class="finding" id="finding-${f.id}"><td class="n">${f.id}</td><td><b>${escapeHtml(f.title)}</b></td><td class="claim">${escapeHtml(f.claim)}</td>` +
    f.byModel
      .map((m) => `<td class="verdict ${verdictClass(m.verdict)}" data-model="${escapeHtml(m.model)}"><b>${escapeHtml(m.verdict)}</b><br><span class="measurement">${escapeHtml(m.measurement)}</span></td>`)
      .join('') +
    '</tr>');
  return (
    `<table class="findings"><thead><tr><th>#</th><th>finding</th><th>the paper's claim</th>${models.map((m) => `<th>${escapeHtml(m)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function summaryTable(compared: ComparedModel[]): string {
  const final = (s: ReportStudy, attack: string) => {
    const a = s.propagation.attacks.find((x) => x.attack === attack);
    return a ? `${a.relative.mean[a.relative.mean.length - 1].toFixed(4)} (${a.flipped}/${s.propagation.images.length} flipped)` : '–';
  };
  return table(
    ['model', 'units', 'preset', 'clean accuracy', 'spectra', 'final relative perturbation: FGSM', 'random (Gaussian)', 'took'],
    compared.map(({ study: s }) => [
      s.model, s.units, s.preset, `${pct(s.cleanAccuracy.accuracy)} (${s.cleanAccuracy.correct}/${s.cleanAccuracy.images})`,
      s.spectra.filter((e) => e.alpha === 1 && e.beta === 1).length, final(s, 'fgsm'), final(s, 'gaussian'),
      `${(Object.values(s.seconds).reduce((a, b) => a + b, 0) / 60).toFixed(1)} min`,
    ]),
  );
}

export async function buildComparison(compared: ComparedModel[], meta: Pick<ReportMeta, 'version' | 'created'>): Promise<ComparisonDocuments> {
  const studies = compared.map((c) => c.study);
  const models = studies.map((s) => s.model);
  const perModel = studies.map((s) => computeFindings(s));
  const findings = perModel[0].map((f, i) => ({
    id: f.id,
    title: f.title,
    claim: f.claim,
    byModel: perModel.map((all, m) => {
      const { id: _id, title: _title, claim: _claim, ...rest } = all[i];
      return { model: models[m], ...rest };
    }),
  }));
  const figures = comparisonFigures(studies);
  const rendered: RenderedFigure[] = [];
  for (const { spec, rows: _rows, ...rest } of figures) rendered.push({ ...rest, svg: await renderSvg(spec, `${rest.id}-`) });

  const modelList = compared
    .map(({ study: s, meta: m, href }) =>
      `<li><b>${escapeHtml(s.model)}</b>${s.architecture ? ` (${escapeHtml(s.architecture.family)}, depth ${s.architecture.depth}, ${s.units} units in stages of ${s.architecture.unitsPerStage.join('-')})` : ''}: preset ${escapeHtml(s.preset)}, seed ${s.seed}, data ${escapeHtml(m.data)}, resnet-stability ${escapeHtml(m.version)}, ${escapeHtml(m.created)}` +
      (href ? ` — <a href="${escapeHtml(href)}">its full report</a>` : '') + '</li>')
    .join('\n');
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stability report: ${escapeHtml(models.join(' vs '))}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Residual networks as nonlinear systems — ${escapeHtml(models.join(' and '))}</h1>
<p class="meta">Measurements of ${compared.length} models set beside Rothauge, Yao, Hu &amp; Mahoney, <i>Residual Networks as Nonlinear
Systems: Stability Analysis using Linearization</i> (2019). Made by resnet-stability ${escapeHtml(meta.version)}, ${escapeHtml(meta.created)}.
Every number is in <code>comparison.json</code> beside this file.</p>
<ul class="meta">
${modelList}
</ul>

<h2 id="findings">Findings</h2>
${findingsTable(models, findings)}
<p class="reason">Each verdict is computed from that model's measurements with the thresholds of the single-model reports.</p>

<h2 id="summary">Summary</h2>
${summaryTable(compared)}

<h2 id="figures">Side by side</h2>
${rendered.map(figureHtml).join('\n')}
</body>
</html>
`;
  return {
    html,
    json: {
      meta,
      models: compared.map(({ study: s, meta: m, href }) => ({
        model: s.model, depth: s.depth, units: s.units, ...(s.architecture ? { family: s.architecture.family } : {}), preset: s.preset, seed: s.seed, data: m.data, ...(href ? { report: href } : {}), cleanAccuracy: s.cleanAccuracy,
      })),
      findings,
      thresholds: THRESHOLDS,
      figures: figures.map(({ spec: _spec, ...rest }) => rest),
    },
  };
}
