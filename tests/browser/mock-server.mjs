// tests/browser/mock-server.mjs - a stand-in for portevo-gateway while developing the UI:
// serves web/ (with the strict CSP the gateway may send) and canned answers in DESIGN.md's
// shapes.  Not used by the system test, which runs the real cluster.
//
//   node tests/browser/mock-server.mjs [--port N]     prints "listening on http://..."
//
// Canned data: days 2026-11-14..2026-11-20; 10.0.0.25 a spam bot from 2026-11-17 (two
// annotations, one an HTML payload), 10.0.0.22 an SSH scanner at the peer cap on
// 2026-11-18, 10.0.0.90 a Tor relay; 2026-11-19 answers with missing_shards ["shard-1"];
// /api/top?date=2026-11-01 has no data; /api/host?ip=10.0.0.99 answers 503.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');
const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1] || 0) || 0;

const SERVICES = { 21: 'FTP', 22: 'SSH', 25: 'SMTP', 80: 'Web', 445: 'Netbios', 1194: 'OpenVPN', 3128: 'Squid proxy', 8080: 'Webproxy', 8081: 'Webproxy', 8118: 'Privoxy', 8123: 'Polipo web proxy', 9050: 'Tor' };
const DAYS = ['2026-11-14', '2026-11-15', '2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20'];
const FEATURES = ['bytes', 'packets', 'durations', 'peers'];

// daily[ip][port][day] = {sum: {bytes,...}, max: {...}, min: {...}}
const daily = {};
function put (ip, port, day, bytes, packets, durations, peers) {
  const v = { bytes, packets, durations, peers };
  const scale = (k) => Object.fromEntries(FEATURES.map(f => [f, Math.max(0, Math.round(v[f] * k))]));
  const rec = { sum: v, max: scale(0.08), min: scale(0.001) };
  // peers_capped per op (gateway/API.md): sum and max if a block reached the cap (here:
  // the max block has 4096 peers or more), min if the smallest block did
  rec.capped = { sum: rec.max.peers >= 4096, max: rec.max.peers >= 4096, min: rec.min.peers >= 4096 };
  ((daily[ip] ??= {})[port] ??= {})[day] = rec;
}
DAYS.forEach((d, i) => {
  for (let h = 1; h <= 14; h++) put(`10.0.${h % 3}.${h}`, 80, d, 1e6 * h * (i + 1), 900 * h, 60000 * h, 3 * h);
  for (let h = 1; h <= 5; h++) put(`10.0.1.${100 + h}`, 25, d, 2e5 * h, 300 * h, 9000 * h, h);
  put('10.0.0.25', 25, d, i >= 3 ? 4.2e9 * (i - 2) : 3e4, i >= 3 ? 3e6 : 40, i >= 3 ? 8.6e7 : 1200, i >= 3 ? 35000 * (i - 2) : 2);
  put('10.0.0.22', 22, d, 5e5 * (i + 1) ** 3, 8000 * (i + 1) ** 2, 1e5 * (i + 1), i === 4 ? 4096 * 288 : 30 * (i + 1) ** 3);
  for (const p of [9050, 80, 21, 22, 25, 445, 1194, 3128, 8080, 8081, 8118, 8123]) put('10.0.0.90', p, d, (p === 9050 ? 9e9 : 2e7) * (1 + (i % 2)), 5e4, 3.6e6, 40);
  put('2001:db8:1::42', 443 - 443 + 8080, d, 3e8, 2e5, 5e6, 120);
});
put('10.0.0.22', 22, '2026-11-16', 0, 0, 0, 0); // a zero value (log scale leaves it out)
const annotations = {
  '10.0.0.25': [
    { rrname: '<img src=x onerror=alert(1)>', rrtype: 'A', first_seen: '2026-11-01T08:00:00Z', last_seen: '2026-11-19T22:10:00Z' },
    { rrname: 'mail.example.net', rrtype: 'A', first_seen: '2025-06-01T00:00:00Z', last_seen: '2026-11-20T06:00:00Z' }
  ],
  '10.0.0.90': [{ rrname: 'tor-relay.example.org', rrtype: 'AAAA', first_seen: '2026-01-01T00:00:00Z', last_seen: '2026-11-20T00:00:00Z' }]
};

function top (date, op, onlyPort) {
  const ports = {};
  for (const [ip, byPort] of Object.entries(daily)) {
    for (const [p, byDay] of Object.entries(byPort)) {
      if (onlyPort !== undefined && Number(p) !== onlyPort) continue;
      const v = byDay[date]?.[op];
      if (!v) continue;
      for (const f of FEATURES) {
        const entry = { ip, score: v[f], annotations: (annotations[ip] || []).length };
        if (f === 'peers') entry.peers_capped = byDay[date].capped[op];
        ((ports[p] ??= {})[f] ??= []).push(entry);
      }
    }
  }
  return Object.keys(ports).map(Number).sort((a, b) => a - b).map(p => ({
    port: p,
    service: SERVICES[p] || '',
    features: Object.fromEntries(FEATURES.map(f => [f, (ports[p][f] || []).sort((a, b) => b.score - a.score || (a.ip < b.ip ? -1 : 1)).slice(0, 10)]))
  }));
}

function send (res, status, body, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
const bad = (res, text) => send(res, 400, { error: text });
const DAY_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

function api (url, res) {
  const q = url.searchParams;
  const op = q.get('op') || 'sum';
  const missing = q.get('date') === '2026-11-19' ? ['shard-1'] : [];
  switch (url.pathname) {
    case '/api/days': return send(res, 200, { days: DAYS });
    case '/api/top': {
      const date = q.get('date');
      if (!date || !DAY_RE.test(date)) return bad(res, `date: '${date ?? ''}' is not a day (YYYY-MM-DD)`);
      if (!['sum', 'max', 'min'].includes(op)) return bad(res, `op: '${op}' is not sum, max or min`);
      return send(res, 200, { date, op, ports: top(date, op, q.has('port') ? Number(q.get('port')) : undefined), missing_shards: missing });
    }
    case '/api/series': {
      const host = q.get('host');
      const feature = q.get('feature') || 'bytes';
      const port = q.get('port') || 'all';
      if (!host || !/^[0-9a-fA-F:.]+$/.test(host)) return bad(res, `host: '${host ?? ''}' is not an IP address`);
      if (!FEATURES.includes(feature)) return bad(res, `feature: '${feature}' is not bytes, packets, durations or peers`);
      if (!['sum', 'max', 'min'].includes(op)) return bad(res, `op: '${op}' is not sum, max or min`);
      const byPort = daily[host] || {};
      const ports = port === 'all' ? Object.keys(byPort).map(Number).sort((a, b) => a - b) : [Number(port)];
      const series = ports.map(p => {
        const days = DAYS.filter(d => byPort[p]?.[d]);
        const entry = { port: p, points: days.map(d => [d, byPort[p][d][op][feature]]) };
        if (feature === 'peers') entry.peers_capped = days.map(d => byPort[p][d].capped[op]);
        return entry;
      });
      if (q.get('format') === 'csv') {
        const peers = feature === 'peers';
        return send(res, 200, `port,date,score${peers ? ',peers_capped' : ''}\n` + series.flatMap(s => s.points.map(([d, v], i) =>
          `${s.port},${d},${v}${peers ? ',' + s.peers_capped[i] : ''}`)).join('\n') + '\n', 'text/csv');
      }
      return send(res, 200, { host, feature, op, series, missing_shards: [] });
    }
    case '/api/host': {
      const ip = q.get('ip');
      if (ip === '10.0.0.99') return send(res, 503, { error: 'no shard answered within 500 ms' });
      if (!ip || !/^[0-9a-fA-F:.]+$/.test(ip)) return bad(res, `ip: '${ip ?? ''}' is not an IP address`);
      const byPort = daily[ip];
      if (!byPort) return send(res, 200, { ip, first_seen: null, last_seen: null, ports: [], annotations: annotations[ip] || [] });
      const days = Object.values(byPort).flatMap(o => Object.keys(o)).sort();
      return send(res, 200, { ip, first_seen: `${days[0]}T00:05:00Z`, last_seen: `${days[days.length - 1]}T23:55:00Z`, ports: Object.keys(byPort).map(Number).sort((a, b) => a - b), annotations: annotations[ip] || [] });
    }
    case '/api/status': return send(res, 200, { shards: [{ name: 'shard-0', up: true }] });
    default: return send(res, 404, { error: `no such API: ${url.pathname}` });
  }
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/api/')) return api(url, res);
  if (url.pathname === '/health') return send(res, 200, { ok: true });
  let file = path.normalize(path.join(root, decodeURIComponent(url.pathname)));
  if (!file.startsWith(root)) return send(res, 403, { error: 'forbidden' });
  if (url.pathname.endsWith('/')) file = path.join(file, 'index.html');
  fs.readFile(file, (err, data) => {
    if (err) return send(res, 404, { error: 'not found' });
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
      'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
      'X-Content-Type-Options': 'nosniff'
    });
    res.end(data);
  });
});
server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}/`));
