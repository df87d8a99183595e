// main.js - portevo's web UI: routing (the URL holds the state), the Host Query
// Interface, the notices and error states.  See overview.js and graph.js for the pages.

import { h, fill, byId } from './dom.js';
import { DEFAULT_PORTS, service } from './format.js';
import { parseState, stateToSearch } from './state.js';
import { renderOverview } from './overview.js';
import { renderGraph, destroyChart } from './graph.js';
import { renderChanges } from './changes.js';
import { hideTooltip, forgetHosts } from './annotations.js';

const LAST_HOST_KEY = 'portevo.lastHost';
const knownPorts = new Set(DEFAULT_PORTS);
let lastOverview = { view: 'overview', date: '', op: 'sum', direction: 'out' }; // where the Overview link goes
let generation = 0;

function storedHost () {
  try {
    return localStorage.getItem(LAST_HOST_KEY) || '';
  } catch {
    return '';
  }
}

function rememberHost (ip) {
  try {
    localStorage.setItem(LAST_HOST_KEY, ip);
  } catch { /* private mode: nothing to remember with */ }
}

// ---- Host Query Interface -------------------------------------------------------------

function fillPortSelect (selected) {
  const sel = byId('q-port');
  const want = selected ?? sel.value ?? 'all';
  if (want && want !== 'all' && /^\d+$/.test(want)) knownPorts.add(Number(want));
  const ports = [...knownPorts].sort((a, b) => a - b);
  fill(sel,
    h('option', { value: 'all' }, 'ALL*'),
    ports.map(p => h('option', { value: String(p) }, service(p) ? `${p} ${service(p)}` : String(p))));
  sel.value = [...sel.options].some(o => o.value === String(want)) ? String(want) : 'all';
}

function learnPorts (ports) {
  let added = false;
  for (const p of ports) {
    const n = Number(p);
    if (Number.isInteger(n) && n >= 0 && n <= 65535 && !knownPorts.has(n)) {
      knownPorts.add(n);
      added = true;
    }
  }
  if (added) fillPortSelect();
}

function setForm (s) {
  byId('q-host').value = s.host;
  fillPortSelect(s.port);
  setSelect('q-feature', s.feature);
  setSelect('q-op', s.op);
  setSelect('q-direction', s.direction);
}

function setSelect (id, value) {
  const sel = byId(id);
  if ([...sel.options].some(o => o.value === value)) sel.value = value;
}

function onSubmit (ev) {
  ev.preventDefault();
  const host = byId('q-host').value.trim();
  const err = byId('q-error');
  if (!host) {
    err.textContent = 'Enter the IP address of a host (IPv4 or IPv6).';
    err.hidden = false;
    byId('q-host').focus();
    return;
  }
  err.hidden = true;
  rememberHost(host);
  navigate({
    view: 'graph',
    host,
    port: byId('q-port').value,
    feature: byId('q-feature').value,
    op: byId('q-op').value,
    direction: byId('q-direction').value
  });
}

// ---- routing -------------------------------------------------------------------------

export function navigate (state, { replace = false } = {}) {
  const url = stateToSearch(state);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

// An <a> with a real href (open in new tab works) that navigates in place on a click.
function link (state, text, attrs = {}) {
  return h('a', {
    ...attrs,
    href: stateToSearch(state),
    onclick: ev => {
      if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
      ev.preventDefault();
      if (state.view === 'graph') rememberHost(state.host);
      navigate(state);
    }
  }, text);
}

function showError (err) {
  const box = byId('error');
  const status = err && err.status ? ` (HTTP ${err.status})` : '';
  const what = err && err.path ? `The request for /api/${err.path} failed${status}: ` : 'Error: ';
  fill(box, h('strong', {}, 'Error. '), what, h('span', { class: 'error-text' }, String(err && err.message ? err.message : err)));
  box.hidden = false;
}

function showMissing (shards) {
  const box = byId('notice');
  if (!shards.length) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  fill(box, h('strong', {}, 'Incomplete answer. '),
    `${shards.length === 1 ? 'Shard' : 'Shards'} not answering: `,
    h('span', { class: 'missing-shards' }, shards.join(', ')),
    `. The hosts ${shards.length === 1 ? 'it holds are' : 'they hold are'} missing from what is shown here, until ${shards.length === 1 ? 'it answers' : 'they answer'} again.`);
  box.hidden = false;
}

async function render () {
  const my = ++generation;
  const state = parseState(location.search);
  const ctx = {
    isCurrent: () => my === generation,
    showMissing,
    learnPorts,
    link
  };
  hideTooltip();
  byId('error').hidden = true;
  showMissing([]);
  byId('overview').hidden = state.view !== 'overview';
  byId('graph').hidden = state.view !== 'graph';
  byId('changes').hidden = state.view !== 'changes';
  byId('overview-link').classList.toggle('active', state.view === 'overview');
  byId('changes-link').classList.toggle('active', state.view === 'changes');
  document.body.dataset.view = state.view;
  document.body.dataset.state = 'loading';
  delete document.body.dataset.shown;
  const loading = byId('loading');
  const timer = setTimeout(() => { if (ctx.isCurrent()) loading.hidden = false; }, 150);

  try {
    if (state.view === 'graph') {
      setForm(state);
      document.title = `${state.host} — portevo`;
      await renderGraph(state, ctx);
    } else if (state.view === 'changes') {
      destroyChart();
      document.title = `Changes${state.date ? ' ' + state.date : ''} — portevo`;
      fill(byId('ch-body'));
      await renderChanges(state, ctx);
    } else {
      destroyChart();
      forgetHosts();
      if (!byId('q-host').value) byId('q-host').value = storedHost();
      document.title = `Overview${state.date ? ' ' + state.date : ''} — portevo`;
      fill(byId('ov-body'));
      lastOverview = { view: 'overview', date: state.date, op: state.op, direction: state.direction };
      byId('overview-link').setAttribute('href', stateToSearch(lastOverview));
      await renderOverview(state, ctx);
    }
    if (ctx.isCurrent()) {
      document.body.dataset.state = 'ready';
      document.body.dataset.shown = location.search;
    }
  } catch (err) {
    if (!ctx.isCurrent()) return;
    console.error(err);
    showError(err);
    if (state.view === 'overview') fill(byId('ov-body'));
    else if (state.view === 'changes') fill(byId('ch-body'));
    else destroyChart();
    document.body.dataset.state = 'error';
    document.body.dataset.shown = location.search;
  } finally {
    clearTimeout(timer);
    if (ctx.isCurrent()) loading.hidden = true;
  }
}

function init () {
  fillPortSelect('all');
  byId('q-host').value = storedHost();
  byId('query').addEventListener('submit', onSubmit);
  byId('overview-link').addEventListener('click', ev => {
    if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    navigate(lastOverview);
  });
  byId('ov-controls').addEventListener('submit', ev => ev.preventDefault());
  byId('ov-date-input').addEventListener('change', ev => {
    const date = ev.target.value;
    if (!date) return;
    navigate({ view: 'overview', date, op: byId('ov-op-select').value, direction: byId('ov-direction-select').value });
  });
  byId('ov-op-select').addEventListener('change', ev => {
    const cur = parseState(location.search);
    navigate({ view: 'overview', date: cur.date || byId('ov-date-input').value, op: ev.target.value, direction: byId('ov-direction-select').value });
  });
  byId('ov-direction-select').addEventListener('change', ev => {
    const cur = parseState(location.search);
    navigate({ view: 'overview', date: cur.date || byId('ov-date-input').value, op: byId('ov-op-select').value, direction: ev.target.value });
  });
  for (const id of ['ov-prev', 'ov-next']) {
    byId(id).addEventListener('click', ev => {
      const day = ev.currentTarget.dataset.day;
      if (day) navigate({ view: 'overview', date: day, op: byId('ov-op-select').value, direction: byId('ov-direction-select').value });
    });
  }
  byId('changes-link').addEventListener('click', ev => {
    if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    const cur = parseState(location.search);
    navigate({ view: 'changes', date: cur.view === 'graph' ? '' : cur.date, op: cur.op || 'sum' });
  });
  byId('ch-controls').addEventListener('submit', ev => ev.preventDefault());
  for (const id of ['ch-date-input', 'ch-op-select']) {
    byId(id).addEventListener('change', () => {
      const cur = parseState(location.search);
      navigate({ ...cur, view: 'changes', date: byId('ch-date-input').value, op: byId('ch-op-select').value });
    });
  }
  window.addEventListener('popstate', render);
  window.addEventListener('scroll', hideTooltip, { passive: true });
  render();
}

init();
