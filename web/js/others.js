// others.js - the host page's "Other ports" table: per day (UTC), the host's traffic to
// the ports that are not monitored (bytes, packets, flows) and its top 5 of those ports
// by bytes (GET /api/others, gateway/API.md).  A day marked truncated had more ports
// than the shard keeps: its totals are exact, its top ports the best kept.

import { getJSON } from './api.js';
import { h, fill, byId } from './dom.js';
import { formatBytes, formatCount, service } from './format.js';

// Common services of ports outside ALL* (the API names the monitored ones only)
const OTHER_SERVICES = new Map([
  [20, 'FTP data'], [23, 'Telnet'], [53, 'DNS'], [110, 'POP3'], [123, 'NTP'], [143, 'IMAP'],
  [161, 'SNMP'], [443, 'HTTPS'], [465, 'SMTPS'], [587, 'Submission'], [993, 'IMAPS'],
  [995, 'POP3S'], [1433, 'MS SQL'], [3306, 'MySQL'], [3389, 'RDP'], [5060, 'SIP'],
  [5222, 'XMPP'], [5353, 'mDNS'], [5432, 'PostgreSQL'], [6881, 'BitTorrent'], [8443, 'HTTPS alt']
]);

function portName (p) {
  return service(p.port, p.service) || OTHER_SERVICES.get(Number(p.port)) || '';
}

// Fill #others for host over from..to (either may be '': the gateway's defaults).
export async function renderOthers (host, from, to, ctx) {
  const tb = byId('others').tBodies[0];
  fill(tb);
  let answer;
  try {
    answer = await getJSON('others', { ip: host, from, to });
  } catch (err) {
    if (!ctx.isCurrent()) return;
    fill(tb, h('tr', {}, h('td', { colspan: '5', class: 'error-cell' },
      `Cannot load the traffic to other ports: ${err.message}`)));
    return;
  }
  if (!ctx.isCurrent()) return;
  const days = Array.isArray(answer.days) ? answer.days : [];
  if (!days.length) {
    fill(tb, h('tr', { class: 'none' }, h('td', { colspan: '5' }, 'No traffic to other ports in these days.')));
    return;
  }
  // Latest day first, as one reads a log
  fill(tb, days.slice().reverse().map(d => h('tr', { dataset: { date: String(d.date) } },
    h('td', {}, String(d.date)),
    h('td', { class: 'num', title: `${d.bytes} bytes` }, formatBytes(d.bytes)),
    h('td', { class: 'num', title: `${d.packets} packets` }, formatCount(d.packets)),
    h('td', { class: 'num', title: `${d.flows} flows` }, formatCount(d.flows)),
    h('td', { class: 'top-ports' },
      (Array.isArray(d.top_ports) ? d.top_ports : []).map((p, i) => [i ? ', ' : '',
        h('span', { class: 'other-port', title: `${p.bytes} bytes, ${p.packets} packets, ${p.flows} flows` },
          `${p.port}${portName(p) ? ' ' + portName(p) : ''} (${formatBytes(p.bytes)})`)]),
      d.truncated ? h('span', { class: 'truncated', title: 'more ports than kept: totals exact, top ports the best kept' }, ' …') : null))));
}
