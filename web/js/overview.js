// overview.js - the main page (paper section IV): for the selected day and operation, one
// large row per monitored port with its assumed service, holding four nested top-10
// tables (bytes, packets, durations, peers) of IP, score and annotation badge.

import { getJSON, missingShards } from './api.js';
import { h, fill, byId } from './dom.js';
import { badge } from './annotations.js';
import {
  FEATURES, OPS, OP_TEXT, DAY_RE, ESTIMATE_TEXT, service, formatCell, exact, markEstimate
} from './format.js';
import { stateToSearch, graphState, directionParam, directionText } from './state.js';
import { loadSparks, sparkline } from './spark.js';

let days = []; // ascending, from /api/days

export async function renderOverview (state, ctx) {
  const op = state.op;
  const [daysAnswer] = await Promise.all([getJSON('days')]);
  if (!ctx.isCurrent()) return;
  days = Array.isArray(daysAnswer.days) ? daysAnswer.days.map(String).sort() : [];
  ctx.learnPorts([]);

  const date = state.date || days[days.length - 1] || '';
  const direction = state.direction;
  setControls(date, op, direction);
  byId('ov-date').textContent = date ? `Top 10 of ${date}, ${directionText(direction)}` : 'Overview';
  byId('ov-op').textContent = (OPS.includes(op)
    ? `Operation: ${op} (${OP_TEXT[op]}) · times and days in UTC`
    : `Operation: ${op}`) + (direction === 'in'
    ? ' · incoming: local hosts as destinations, peers are their sources'
    : ' · outgoing: local hosts as sources, peers are their destinations');
  const body = byId('ov-body');

  if (!date) {
    fill(body, h('div', { class: 'empty' },
      h('h2', {}, 'No data yet'),
      h('p', {}, 'The cluster has not stored any day: no 5-minute block has been ingested yet. ' +
        'Days appear here as soon as the ingestors deliver the first nfcapd files.')));
    return;
  }

  // Sparklines are of the outgoing direction (/api/sparks): none in the incoming view
  const noSparks = Object.assign(new Map(), { days: [] });
  const [top, sparks] = await Promise.all([
    getJSON('top', { date, op, direction: directionParam(direction) }),
    direction === 'in' ? noSparks : loadSparks(date, op)]);
  if (!ctx.isCurrent()) return;
  ctx.showMissing(missingShards(top));
  const ports = Array.isArray(top.ports) ? top.ports : [];
  ctx.learnPorts(ports.map(p => p.port));
  const withData = ports.filter(p => FEATURES.some(f => (p.features?.[f] || []).length > 0));

  if (withData.length === 0) {
    fill(body, emptyDay(date, ctx));
    return;
  }
  fill(body, ...withData.map(p => portRow(p, op, direction, ctx, sparks)));
}

function setControls (date, op, direction) {
  const dirSel = byId('ov-direction-select');
  dirSel.value = direction === 'in' ? 'in' : 'out';
  const input = byId('ov-date-input');
  input.value = DAY_RE.test(date) ? date : '';
  if (days.length) {
    input.min = days[0];
    input.max = days[days.length - 1];
  }
  const sel = byId('ov-op-select');
  sel.value = OPS.includes(op) ? op : 'sum';
  const i = days.indexOf(date);
  const prev = i === -1 ? [...days].reverse().find(d => d < date) : days[i - 1];
  const next = i === -1 ? days.find(d => d > date) : days[i + 1];
  byId('ov-prev').disabled = !prev;
  byId('ov-prev').dataset.day = prev || '';
  byId('ov-next').disabled = !next;
  byId('ov-next').dataset.day = next || '';
}

function emptyDay (date, ctx) {
  const box = h('div', { class: 'empty', id: 'ov-empty' },
    h('h2', {}, `No data for ${date}`),
    h('p', {}, days.includes(date)
      ? 'No host of the monitored network sent traffic to a monitored port on that day.'
      : 'The cluster holds no flows of that day (it is outside the stored days, or nothing was ingested for it).'));
  if (days.length) {
    const latest = days.slice(-7).reverse();
    box.append(h('p', {}, `Days with data: ${days[0]} to ${days[days.length - 1]} (${days.length} day${days.length === 1 ? '' : 's'}). Latest: `,
      latest.map((d, i) => [i ? ', ' : '', ctx.link({ view: 'overview', date: d, op: 'sum' }, d)])));
  }
  return box;
}

function portRow (p, op, direction, ctx, sparks) {
  const svc = service(p.port, p.service);
  return h('section', { class: 'port-row', dataset: { port: String(p.port) } },
    h('h2', { class: 'port-head' },
      h('span', { class: 'port-num' }, `Port ${p.port}`),
      svc ? h('span', { class: 'port-svc' }, svc) : null),
    h('div', { class: 'features' }, FEATURES.map(f => featureTable(p.port, f, p.features?.[f] || [], op, direction, ctx, sparks))));
}

function featureTable (port, feature, entries, op, direction, ctx, sparks) {
  const rows = entries.length
    ? entries.map((e, i) => {
      const ip = String(e.ip);
      const score = Number(e.score);
      // The shard says which peers scores rest on a block past the cap (per operation:
      // gateway/API.md "Estimated peers"); the UI does not guess from the value.
      const capped = feature === 'peers' && e.peers_capped === true;
      const scoreCell = h('td', {
        class: capped ? 'score estimate' : 'score',
        title: exact(feature, score) + (capped ? ` — ${ESTIMATE_TEXT}` : ''),
        dataset: capped ? { estimate: 'true' } : undefined
      }, markEstimate(formatCell(feature, score), capped));
      return h('tr', {},
        h('td', { class: 'rank' }, String(i + 1)),
        h('td', { class: 'ip' }, ctx.link(graphState(ip, port, feature, op, direction), ip, { class: 'ip-link', title: `${ip}: Port Evolution of ${feature} on port ${port}` })),
        scoreCell,
        h('td', { class: 'spark-cell' }, sparkline(sparks.get(`${port}/${feature}/${ip}`), sparks.days)),
        h('td', { class: 'annot' }, badge(ip, e.annotations)));
    })
    : [h('tr', { class: 'none' }, h('td', { colspan: '5' }, 'no traffic'))];
  return h('table', { class: 'top', dataset: { feature } },
    h('thead', {}, h('tr', {},
      h('th', { class: 'rank' }, '#'),
      h('th', {}, feature),
      h('th', {}, 'score'),
      h('th', { class: 'spark-cell', title: 'the last 14 days, each scaled to its own maximum' }, '14 d'),
      h('th', { title: 'annotations (passive DNS); hover a red badge to list them' }, '@'))),
    h('tbody', {}, rows));
}

export function overviewDays () {
  return days;
}

export { stateToSearch };
