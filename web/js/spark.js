// spark.js - the overview's 14-day sparklines: one /api/sparks request per overview
// (gateway/API.md), a small inline SVG per top-10 row.  Values only become numbers and
// attributes: nothing from the API is parsed as markup.

import { getJSON } from './api.js';

const SVG = 'http://www.w3.org/2000/svg';
export const SPARK_DAYS = 14;
const WIDTH = 56;
const HEIGHT = 16;

// Map "port/feature/ip" -> scores (oldest first); empty when the request failed (the
// overview then shows no sparklines rather than an error).
export async function loadSparks (date, op) {
  const byRow = new Map();
  try {
    const answer = await getJSON('sparks', { date, op, days: SPARK_DAYS });
    for (const p of Array.isArray(answer.ports) ? answer.ports : []) {
      for (const [feature, entries] of Object.entries(p.features || {})) {
        for (const e of Array.isArray(entries) ? entries : []) {
          if (Array.isArray(e.spark)) byRow.set(`${p.port}/${feature}/${e.ip}`, e.spark.map(Number));
        }
      }
    }
    byRow.days = Array.isArray(answer.days) ? answer.days.map(String) : [];
  } catch (err) {
    console.warn('sparklines unavailable:', err && err.message ? err.message : err);
  }
  return byRow;
}

// An SVG polyline of values (a flat line at the bottom for zeros), scaled to its own max.
export function sparkline (values, days = []) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('width', String(WIDTH));
  svg.setAttribute('height', String(HEIGHT));
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('aria-hidden', 'true');
  if (!values || !values.length) return svg;
  svg.dataset.values = values.join(',');
  const max = Math.max(...values, 1);
  const step = values.length > 1 ? (WIDTH - 2) / (values.length - 1) : 0;
  const points = values.map((v, i) => `${(1 + i * step).toFixed(1)},${(HEIGHT - 1 - (v / max) * (HEIGHT - 2)).toFixed(1)}`);
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points.join(' '));
  svg.append(line);
  const title = document.createElementNS(SVG, 'title');
  title.textContent = days.length === values.length
    ? `last ${values.length} days (${days[0]} to ${days[days.length - 1]}): ${values.join(', ')}`
    : values.join(', ');
  svg.append(title);
  return svg;
}
