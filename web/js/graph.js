// graph.js - the Port Evolution graph (paper section VI): daily scores of one host for one
// port or ALL* (one curve per port), logarithmic y axis in the feature's unit, drag to
// zoom, double-click to reset; under it the Netflow Activity and Annotations tables.

import { getJSON, apiUrl, missingShards } from './api.js';
import { h, fill, append, byId } from './dom.js';
import { hostInfo } from './annotations.js';
import { renderOthers } from './others.js';
import {
  FEATURES, OPS, OP_TEXT, FEATURE_TEXT, ESTIMATE_TEXT, ESTIMATE_MARK, service, portLabel,
  formatScore, formatTick, markEstimate, exact, dayToEpoch, epochToDay, formatTime
} from './format.js';
import { graphState, directionParam, directionText } from './state.js';

// One fixed colour per port of Table I, so that a port looks the same in every graph;
// other ports take the spare colours in turn.
const PORT_COLORS = new Map([
  [21, '#8c564b'], [22, '#d62728'], [25, '#1f77b4'], [80, '#ff7f0e'], [445, '#7f7f7f'],
  [1194, '#bcbd22'], [3128, '#17becf'], [8080, '#e377c2'], [8081, '#393b79'], [8118, '#2ca02c'],
  [8123, '#f4a300'], [9050, '#9467bd']
]);
const SPARE_COLORS = ['#000000', '#637939', '#ad494a', '#5254a3', '#8ca252', '#bd9e39', '#a55194'];
function portColor (port, index) {
  return PORT_COLORS.get(Number(port)) || SPARE_COLORS[index % SPARE_COLORS.length];
}
const DAY = 86400;

let chart = null;
let resizeHooked = false;

export function destroyChart () {
  if (chart) {
    chart.destroy();
    chart = null;
  }
  window.portevoChart = null;
  document.getElementById('graph')?.classList.remove('has-chart');
  const el = document.getElementById('chart');
  if (el) el.replaceChildren();
}

export function graphTitle (s) {
  const port = s.port === 'all' ? 'ALL*' : `${s.port}${service(s.port) ? ` (${service(s.port)})` : ''}`;
  return `Port Evolution of ${s.host} — ${s.feature}, port ${port}, operation ${s.op}, ${directionText(s.direction)}`;
}

export async function renderGraph (state, ctx) {
  destroyChart();
  byId('g-title').textContent = graphTitle(state);
  byId('g-subtitle').textContent = FEATURES.includes(state.feature) && OPS.includes(state.op)
    ? `Daily ${state.op} of ${FEATURE_TEXT[state.feature]} (${OP_TEXT[state.op]}), days in UTC.`
    : '';
  fill(byId('activity').tBodies[0]);
  fill(byId('annotations').tBodies[0]);
  fill(byId('g-ports'));

  const direction = directionParam(state.direction);
  const params = { host: state.host, port: state.port, feature: state.feature, op: state.op, from: state.from, to: state.to, direction };
  const [seriesR, hostR] = await Promise.allSettled([getJSON('series', params), hostInfo(state.host, direction),
    renderOthers(state.host, state.from, state.to, ctx)]);
  if (!ctx.isCurrent()) return;
  if (seriesR.status === 'rejected') throw seriesR.reason;
  const answer = seriesR.value;
  ctx.showMissing(missingShards(answer));

  // feature=peers: peers_capped[i] says points[i] is an estimate (gateway/API.md)
  const series = (Array.isArray(answer.series) ? answer.series : [])
    .map(s => ({
      port: s.port,
      points: Array.isArray(s.points) ? s.points : [],
      capped: Array.isArray(s.peers_capped) ? s.peers_capped : []
    }))
    .filter(s => s.points.length > 0)
    .sort((a, b) => Number(a.port) - Number(b.port));
  ctx.learnPorts(series.map(s => s.port));

  const csv = apiUrl('series', { ...params, format: 'csv' });
  byId('g-subtitle').append(' ', h('a', { href: csv.pathname + csv.search, download: '' }, 'Download CSV'));

  if (series.length === 0) {
    const where = state.port === 'all' ? 'any monitored port' : `port ${state.port}`;
    fill(byId('chart'), h('div', { class: 'empty', id: 'g-empty' },
      h('h2', {}, 'No traffic to show'),
      h('p', {}, `${state.host} has no ${state.feature} on ${where} in the stored days` +
        (state.from || state.to ? ` between ${state.from || 'the first day'} and ${state.to || 'the last day'}` : '') + '.')));
  } else {
    drawChart(state, series);
  }

  if (hostR.status === 'fulfilled') hostTables(hostR.value, state, ctx);
  else {
    fill(byId('activity').tBodies[0], h('tr', {}, h('td', { colspan: '2', class: 'error-cell' },
      `Cannot load the host's activity: ${hostR.reason.message}`)));
  }
}

function drawChart (state, series) {
  const uPlot = window.uPlot;
  const el = byId('chart');
  if (typeof uPlot !== 'function') {
    fill(el, h('div', { class: 'error' }, 'The chart library (vendor/uPlot.iife.min.js) is missing: run `make web`.'));
    return;
  }
  const feature = state.feature;
  const dayset = new Set();
  for (const s of series) for (const [d] of s.points) dayset.add(String(d));
  const xs = [...dayset].sort().map(dayToEpoch);
  const index = new Map(xs.map((x, i) => [x, i]));
  let zeros = 0;
  const estimated = new Set(); // days with an estimate in some curve
  const capped = series.map(() => new Array(xs.length).fill(false));
  const ys = series.map((s, si) => {
    const col = new Array(xs.length).fill(null);
    s.points.forEach(([d, v], pi) => {
      const n = Number(v);
      const x = index.get(dayToEpoch(String(d)));
      if (n > 0) col[x] = n;
      else zeros++;
      if (feature === 'peers' && s.capped[pi] === true) {
        capped[si][x] = true;
        estimated.add(String(d));
      }
    });
    return col;
  });
  // The legend's value cells: "≈" before an estimate, and a title saying why
  const legendTitles = u => {
    const idx = u.legend.idx;
    u.root.querySelectorAll('.u-legend .u-series').forEach((row, sidx) => {
      const cell = row.querySelector('.u-value');
      if (!cell || sidx === 0) return;
      const est = idx != null && capped[sidx - 1]?.[idx];
      if (est) cell.title = ESTIMATE_TEXT;
      else cell.removeAttribute('title');
      cell.classList.toggle('estimate', Boolean(est));
    });
  };

  const fmtTick = v => (v == null ? '' : formatTick(feature, v));
  const opts = {
    width: chartWidth(el),
    height: 380,
    tzDate: ts => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
    cursor: { drag: { x: true, y: false, setScale: true } },
    scales: {
      x: {
        time: true,
        range: (u, min, max) => (min === max || min == null) ? [(min ?? 0) - DAY, (max ?? 0) + DAY] : [min - DAY / 4, max + DAY / 4]
      },
      // Whole decades (durations: whole units of time), so that a host's curve reads
      // against 1, 10, 100...
      y: { distr: 3, log: 10, range: feature === 'durations' ? durationRange : decadeRange }
    },
    axes: [
      {
        label: 'day (UTC)',
        space: 90,
        incrs: [1, 2, 7, 14, 28, 56, 91, 182, 364].map(n => n * DAY),
        values: (u, splits) => splits.map(v => (v == null ? '' : epochToDay(v)))
      },
      {
        label: `${feature} per day (${state.op})`,
        ...(feature === 'durations'
          ? { splits: durationSplits, filter: (u, splits) => splits }
          : {}),
        values: (u, splits) => {
          const labels = splits.map(fmtTick);
          el.dataset.yTicks = labels.filter(Boolean).join('|'); // the canvas holds no text
          return labels;
        },
        size: 80
      }
    ],
    legend: { live: true },
    hooks: { setLegend: [legendTitles] },
    series: [
      { label: 'day', value: (u, ts) => (ts == null ? '—' : epochToDay(ts)) },
      ...series.map((s, i) => ({
        label: state.port === 'all' ? portLabel(s.port) : `${s.port}${service(s.port) ? ' ' + service(s.port) : ''}`,
        stroke: portColor(s.port, i),
        width: 2,
        spanGaps: false,
        points: { show: true, size: 6 },
        value: (u, v, sidx, idx) => (v == null ? '—' : markEstimate(formatScore(feature, v), capped[i][idx]))
      }))
    ]
  };
  el.replaceChildren();
  chart = new uPlot(opts, [xs, ...ys], el);
  el.dataset.yScale = 'log';
  el.dataset.curves = String(series.length);
  el.dataset.ports = series.map(s => s.port).join(',');
  window.portevoChart = chart;
  byId('graph').classList.add('has-chart');

  const notes = [];
  if (zeros) notes.push(`${zeros} day value${zeros === 1 ? '' : 's'} of 0 cannot be drawn on the logarithmic scale and ${zeros === 1 ? 'is' : 'are'} left out.`);
  el.dataset.estimates = [...estimated].sort().join(',');
  let estimateNote = null;
  if (estimated.size) {
    const n = [...capped].reduce((a, c) => a + c.filter(Boolean).length, 0);
    estimateNote = h('span', { class: 'estimate', id: 'g-estimates', title: ESTIMATE_TEXT },
      `${n} day value${n === 1 ? '' : 's'} (${[...estimated].sort().join(', ')}) ${n === 1 ? 'is' : 'are'} ` +
      `marked ${ESTIMATE_MARK} in the legend — ${ESTIMATE_TEXT}.`);
  }
  if (notes.length || estimateNote) {
    el.append(h('p', { class: 'chart-note' }, notes.join(' '), notes.length && estimateNote ? ' ' : '', estimateNote));
  }

  if (!resizeHooked) {
    resizeHooked = true;
    let timer = null;
    window.addEventListener('resize', () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (chart) chart.setSize({ width: chartWidth(byId('chart')), height: 380 });
      }, 100);
    });
  }
}

function decadeRange (u, min, max) {
  const lo = Math.pow(10, Math.floor(Math.log10(min > 0 ? min : 1)));
  let hi = Math.pow(10, Math.ceil(Math.log10(max > 0 ? max : 1)));
  if (hi <= lo) hi = lo * 10;
  return [lo, hi];
}

// Durations are milliseconds: ticks at 1 s, 10 s, 1 min, 10 min, 1 h... not at 1.67 min.
const DURATION_TICKS = [1, 10, 100, 1e3, 1e4, 6e4, 6e5, 36e5, 864e5, 864e6, 864e7, 864e8];

function durationRange (u, min, max) {
  const lo = [...DURATION_TICKS].reverse().find(t => t <= (min > 0 ? min : 1)) || 1;
  let hi = DURATION_TICKS.find(t => t >= max) || DURATION_TICKS[DURATION_TICKS.length - 1];
  if (hi <= lo) hi = DURATION_TICKS[DURATION_TICKS.indexOf(lo) + 1] || lo * 10;
  return [lo, hi];
}

function durationSplits (u, axisIdx, min, max) {
  return DURATION_TICKS.filter(t => t >= min * 0.999 && t <= max * 1.001);
}

function chartWidth (el) {
  return Math.max(320, Math.floor(el.clientWidth || el.parentElement.clientWidth || 800) - 4);
}

function hostTables (host, state, ctx) {
  const known = Boolean(host.first_seen);
  const act = byId('activity').tBodies[0];
  fill(act,
    h('tr', {}, h('th', {}, 'First seen'), h('td', { id: 'first-seen' }, formatTime(host.first_seen, 'never seen in the stored data'))),
    h('tr', {}, h('th', {}, 'Last seen'), h('td', { id: 'last-seen' }, formatTime(host.last_seen, 'never seen in the stored data'))));

  const ports = Array.isArray(host.ports) ? host.ports : [];
  const line = byId('g-ports');
  if (known && ports.length) {
    append(line, ['Ports with traffic: ', ports.map((p, i) => [i ? ', ' : '',
      ctx.link(graphState(state.host, p, state.feature, state.op, state.direction), portLabel(p))])]);
    if (ports.length > 1) append(line, [' · ', ctx.link(graphState(state.host, 'all', state.feature, state.op, state.direction), 'ALL*')]);
  }

  const list = Array.isArray(host.annotations) ? host.annotations : [];
  const tb = byId('annotations').tBodies[0];
  if (!list.length) {
    fill(tb, h('tr', { class: 'none' }, h('td', { colspan: '4' }, 'No annotations for this host.')));
    return;
  }
  fill(tb, list.map(a => h('tr', {},
    h('td', { class: 'rrname' }, String(a.rrname ?? '')),
    h('td', {}, String(a.rrtype ?? '')),
    h('td', {}, formatTime(a.first_seen)),
    h('td', {}, formatTime(a.last_seen)))));
}

export { exact };
