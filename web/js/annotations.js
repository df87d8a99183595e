// annotations.js - the red badges of the overview: the number of annotations of an IP;
// hovering (or focusing) one fetches /api/host and lists the names in a tooltip.

import { getJSON } from './api.js';
import { h, fill, byId } from './dom.js';
import { formatTime } from './format.js';

const cache = new Map(); // ip -> Promise of the host answer
let current = null;      // the badge the tooltip belongs to

// direction: undefined for out (the badges: annotations are per host), 'in' for the
// incoming direction's first/last seen and ports.
export function hostInfo (ip, direction) {
  const key = direction ? `${direction} ${ip}` : ip;
  if (!cache.has(key)) {
    const p = getJSON('host', { ip, direction });
    p.catch(() => cache.delete(key)); // retry next time
    cache.set(key, p);
  }
  return cache.get(key);
}

export function forgetHosts () {
  cache.clear();
}

export function badge (ip, count) {
  const n = Number(count) || 0;
  if (n <= 0) return h('span', { class: 'no-badge', 'aria-hidden': 'true' });
  const el = h('span', {
    class: 'badge',
    tabindex: '0',
    'aria-label': `${n} annotation${n === 1 ? '' : 's'} for ${ip}`,
    dataset: { ip }
  }, String(n));
  el.addEventListener('mouseenter', () => show(el, ip));
  el.addEventListener('focus', () => show(el, ip));
  el.addEventListener('mouseleave', () => hide(el));
  el.addEventListener('blur', () => hide(el));
  return el;
}

function place (tip, anchor) {
  const r = anchor.getBoundingClientRect();
  const left = Math.min(window.scrollX + r.left, window.scrollX + document.documentElement.clientWidth - tip.offsetWidth - 8);
  tip.style.left = `${Math.max(4, left)}px`;
  tip.style.top = `${window.scrollY + r.bottom + 6}px`;
}

async function show (anchor, ip) {
  const tip = byId('tooltip');
  current = anchor;
  fill(tip, h('div', { class: 'tip-head' }, `Annotations of ${ip}`), h('div', { class: 'tip-loading' }, 'Loading…'));
  tip.hidden = false;
  place(tip, anchor);
  let rows;
  try {
    const host = await hostInfo(ip);
    const list = Array.isArray(host.annotations) ? host.annotations : [];
    rows = list.length
      ? h('ul', {}, list.map(a => h('li', {},
        h('span', { class: 'tip-name' }, String(a.rrname ?? '')),
        a.rrtype ? h('span', { class: 'tip-type' }, ` ${a.rrtype}`) : null,
        h('span', { class: 'tip-seen' }, ` last seen ${formatTime(a.last_seen)}`))))
      : h('div', {}, 'No annotation stored any more.');
  } catch (err) {
    rows = h('div', { class: 'tip-error' }, `Cannot load the annotations: ${err.message}`);
  }
  if (current !== anchor) return;
  fill(tip, h('div', { class: 'tip-head' }, `Annotations of ${ip}`), rows);
  place(tip, anchor);
}

function hide (anchor) {
  if (current !== anchor) return;
  current = null;
  byId('tooltip').hidden = true;
}

export function hideTooltip () {
  current = null;
  byId('tooltip').hidden = true;
}
