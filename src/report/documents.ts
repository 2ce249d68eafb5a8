/**
 * From a study to the report's two documents: the HTML page (findings table, inline SVG figures,
 * tables) and the JSON object with every number behind it.
 */
import type { ReportStudy } from '../study/report-study.js';
import { reportFigures } from './figures.js';
import { computeFindings, THRESHOLDS, type Finding } from './findings.js';
import { reportHtml, type RenderedFigure } from './html.js';
import { renderSvg } from './render.js';

export interface ReportMeta {
  version: string;
  /** Where the images came from (a path or a name). */
  data: string;
  /** When the report was made (ISO 8601). */
  created: string;
}

export interface ReportDocuments {
  html: string;
  json: ReportStudy & { meta: ReportMeta; findings: Finding[]; thresholds: typeof THRESHOLDS; figures: { id: string; title: string; caption: string }[] };
  findings: Finding[];
}

export async function buildReport(study: ReportStudy, meta: ReportMeta): Promise<ReportDocuments> {
  const findings = computeFindings(study);
  const figures = reportFigures(study);
  const rendered: RenderedFigure[] = [];
  for (const { spec, ...rest } of figures) rendered.push({ ...rest, svg: await renderSvg(spec, `${rest.id}-`) });
  const html = reportHtml(study, findings, rendered, meta);
  return {
    html,
    json: { meta, ...study, findings, thresholds: THRESHOLDS, figures: figures.map(({ id, title, caption }) => ({ id, title, caption })) },
    findings,
  };
}
