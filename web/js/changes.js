// changes.js - "What changed": for a day and an operation, per port, the hosts new to a
// top 10, the spikes (score above k times the host's median over the window), the
// hosts back after silence and the hosts seen on the port for the first time ever, most
// unusual first (/api/changes, gateway/API.md).  Each row links to the host's graph and
// says why it is listed.

import { getJSON, missingShards } from './api.js';
import { h, fill, byId } from './dom.js';
import { badge } from './annotations.js';
import { OPS, DAY_RE, service, formatScore, exact } from './format.js';
import { graphState } from './state.js';

export const REASON_TEXT = {
  first_ever: 'first time ever on this port',
  back: 'back after silence: no traffic on this port in the window',
  spike: 'score above k × its median over the window',
  new_top: 'new to the top 10 (not in it the day before)'
};
const REASON_LABEL = { first_ever: 'first ever', back: 'back', spike: 'spike', new_top: 'new to top 10' };

export async function renderChanges (state, ctx) {
  const daysAnswer = await getJSON('days');
  if (!ctx.isCurrent()) return;
  const days = Array.isArray(daysAnswer.days) ? daysAnswer.days.map(String).sort() : [];
  const date = state.date || days[days.length - 1] || '';
  const op = OPS.includes(state.op) ? state.op : 'sum';
  byId('ch-date-input').value = DAY_RE.test(date) ? date : '';
  byId('ch-op-select').value = op;
  const body = byId('ch-body');
  if (!date) {
    byId('ch-title').textContent = 'What changed';
    fill(body, h('div', { class: 'empty' }, h('h2', {}, 'No data yet')));
    return;
  }
  const answer = await getJSON('changes', { date, op, k: state.k, window: state.window });
  if (!ctx.isCurrent()) return;
  ctx.showMissing(missingShards(answer));
  byId('ch-title').textContent = `What changed on ${date}`;
  byId('ch-sub').textContent = `Operation: ${op} · spike: score above ${answer.k} × the ` +
    `host's median over the ${answer.window} days before (days with traffic) · most unusual first`;
  const ports = Array.isArray(answer.ports) ? answer.ports : [];
  ctx.learnPorts(ports.map(p => p.port));
  if (!ports.length) {
    fill(body, h('div', { class: 'empty', id: 'ch-empty' }, h('h2', {}, `Nothing changed on ${date}`),
      h('p', {}, 'No host is new to a top 10, above its usual level, back after silence or new to a port.')));
    return;
  }
  fill(body, ports.map(p => portSection(p, op, ctx)));
}

function portSection (p, op, ctx) {
  const svc = service(p.port, p.service);
  const rows = (Array.isArray(p.changes) ? p.changes : []).map((c, i) => changeRow(p.port, c, i, op, ctx));
  return h('section', { class: 'port-row changes-port', dataset: { port: String(p.port) } },
    h('h2', { class: 'port-head' }, h('span', { class: 'port-num' }, `Port ${p.port}`),
      svc ? h('span', { class: 'port-svc' }, svc) : null),
    h('table', { class: 'changes' },
      h('thead', {}, h('tr', {}, h('th', { class: 'rank' }, '#'), h('th', {}, 'host'),
        h('th', {}, 'feature'), h('th', {}, 'why'), h('th', { class: 'num' }, 'score'),
        h('th', { class: 'num' }, 'median'), h('th', { class: 'num' }, 'days'),
        h('th', { title: 'annotations (passive DNS)' }, '@'))),
      h('tbody', {}, rows)));
}

function changeRow (port, c, i, op, ctx) {
  const ip = String(c.ip);
  const feature = String(c.feature);
  const reasons = Array.isArray(c.reasons) ? c.reasons.map(String) : [];
  const score = Number(c.score);
  const median = Number(c.median);
  const ratio = reasons.includes('spike') && median > 0 ? ` (×${(score / median).toPrecision(3)})` : '';
  return h('tr', { dataset: { ip, feature, reasons: reasons.join(' ') } },
    h('td', { class: 'rank' }, String(i + 1)),
    h('td', { class: 'ip' }, ctx.link(graphState(ip, port, feature, op), ip,
      { class: 'ip-link', title: `${ip}: Port Evolution of ${feature} on port ${port}` })),
    h('td', {}, feature),
    h('td', { class: 'why' }, reasons.map(r => h('span', { class: `reason reason-${r}`, title: REASON_TEXT[r] || r }, REASON_LABEL[r] || r)), ratio),
    h('td', { class: 'num', title: exact(feature, score) }, formatScore(feature, score)),
    h('td', { class: 'num', title: exact(feature, median) }, c.days > 0 ? formatScore(feature, median) : '—'),
    h('td', { class: 'num' }, String(Number(c.days))),
    h('td', { class: 'annot' }, badge(ip, c.annotations)));
}
