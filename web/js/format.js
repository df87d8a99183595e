// format.js - readable units for the four features, dates and times (all UTC).

export const FEATURES = ['bytes', 'packets', 'durations', 'peers'];
export const OPS = ['sum', 'max', 'min'];
// The paper's Table I: the default monitored set ALL* and each port's assumed service.
export const SERVICES = new Map([
  [21, 'FTP'], [22, 'SSH'], [25, 'SMTP'], [80, 'Web'], [445, 'Netbios'], [1194, 'OpenVPN'],
  [3128, 'Squid proxy'], [8080, 'Webproxy'], [8081, 'Webproxy'], [8118, 'Privoxy'],
  [8123, 'Polipo web proxy'], [9050, 'Tor']
]);
export const DEFAULT_PORTS = [...SERVICES.keys()];
export const PEERS_CAP = 4096; // distinct peers counted exactly per (host, port, 5-minute block)
// Why a peers value carries the estimate mark (the API's peers_capped: gateway/API.md).
export const ESTIMATE_TEXT = `estimate: more than ${PEERS_CAP} distinct peers in a 5-minute block; ` +
  `counted exactly up to ${PEERS_CAP}, estimated beyond`;
export const ESTIMATE_MARK = '≈';

export const OP_TEXT = {
  sum: 'sum of the 5-minute blocks of the day',
  max: 'largest 5-minute block of the day',
  min: 'smallest 5-minute block of the day'
};
export const FEATURE_TEXT = {
  bytes: 'bytes (both directions)',
  packets: 'packets',
  durations: 'flow durations',
  peers: 'distinct peers per 5-minute block'
};

export function service (port, fallback) {
  return fallback || SERVICES.get(Number(port)) || '';
}

export function portLabel (port, serviceName) {
  const s = service(port, serviceName);
  return s ? `${port} ${s}` : String(port);
}

// Three significant digits, no trailing zeros: 1.23, 12.3, 123.
function sig3 (x) {
  if (x === 0) return '0';
  const digits = x >= 100 ? 0 : x >= 10 ? 1 : 2;
  return Number(x.toFixed(digits)).toString();
}

function scaled (value, base, units) {
  let v = Number(value);
  let i = 0;
  while (Math.abs(v) >= base && i < units.length - 1) { v /= base; i++; }
  // 999.7 kB rounds to "1000 kB": move up one unit instead.
  if (Math.abs(v) >= base - 0.5 && i < units.length - 1 && sig3(v) === String(base)) {
    v /= base; i++;
  }
  return `${sig3(v)} ${units[i]}`.trim();
}

export function formatBytes (n) {
  return scaled(n, 1000, ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB']);
}

export function formatCount (n, unit = '') {
  if (Math.abs(n) < 1000) return `${Math.round(n)}${unit ? ' ' + unit : ''}`;
  return `${scaled(n, 1000, ['', 'k', 'M', 'G', 'T', 'P', 'E']).replace(' ', '')}${unit ? ' ' + unit : ''}`;
}

// Durations arrive in milliseconds.
export function formatDuration (ms) {
  const v = Number(ms);
  const a = Math.abs(v);
  if (a < 1000) return `${sig3(v)} ms`;
  if (a < 60e3) return `${sig3(v / 1e3)} s`;
  if (a < 3600e3) return `${sig3(v / 60e3)} min`;
  if (a < 86400e3) return `${sig3(v / 3600e3)} h`;
  return `${sig3(v / 86400e3)} d`;
}

export function formatScore (feature, n) {
  switch (feature) {
    case 'bytes': return formatBytes(n);
    case 'packets': return formatCount(n, 'pkts');
    case 'durations': return formatDuration(n);
    case 'peers': return formatCount(n, 'peers');
    default: return String(n);
  }
}

// Table cells: the column header names the feature, so counts go without their unit.
export function formatCell (feature, n) {
  return feature === 'packets' || feature === 'peers' ? formatCount(n) : formatScore(feature, n);
}

// A value the API flagged peers_capped reads "≈5.01k": an estimate.
export function markEstimate (text, capped) {
  return capped ? `${ESTIMATE_MARK}${text}` : text;
}

// Axis tick labels: the same units, shorter.
export function formatTick (feature, n) {
  switch (feature) {
    case 'bytes': return formatBytes(n);
    case 'durations': return formatDuration(n);
    default: return formatCount(n);
  }
}

export const FEATURE_UNIT = {
  bytes: 'bytes', packets: 'packets', durations: 'milliseconds', peers: 'peers'
};

// "1234567" -> "1,234,567 bytes": the exact value, for tooltips.
export function exact (feature, n) {
  return `${Number(n).toLocaleString('en-US')} ${FEATURE_UNIT[feature] || ''}`.trim();
}

export const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

// "2026-11-20" -> seconds since the epoch at 00:00 UTC.
export function dayToEpoch (day) {
  const [y, m, d] = day.split('-').map(Number);
  return Date.UTC(y, m - 1, d) / 1000;
}

export function epochToDay (secs) {
  return new Date(secs * 1000).toISOString().slice(0, 10);
}

// ISO 8601 UTC -> "2026-11-20 10:05:00 UTC"; null/empty -> the fallback.
export function formatTime (iso, fallback = '—') {
  if (!iso) return fallback;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
