// tests/browser/direction_test.mjs - drives the web UI's incoming view in Debian's
// chromium against a running cluster (started by tests/system/browser_direction_test.sh)
// and prints PASS/FAIL lines.
//
//   node direction_test.mjs --url http://127.0.0.1:PORT/ --expect EXPECT.json --shots DIR
//
// EXPECT.json holds what nfdump says (oracle.py --direction in and out over
// `nfdump -o csv`, never the API): the latest day, the top host by peers of 9001 and 25
// in each direction with its exact score, and the relay's incoming ports.
import fs from 'node:fs';
import { launch, watch, shot, settled, Results } from './lib.mjs';

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!opt.url || !opt.expect || !opt.shots) {
  console.error('usage: node direction_test.mjs --url URL --expect FILE --shots DIR');
  process.exit(2);
}
const X = JSON.parse(fs.readFileSync(opt.expect, 'utf8'));
const base = opt.url.endsWith('/') ? opt.url : opt.url + '/';
const R = new Results('browser direction: ');

async function shown (page, search) {
  await page.waitForFunction(
    want => ['ready', 'error'].includes(document.body.dataset.state) &&
      document.body.dataset.shown === (want ?? location.search),
    search ?? null, { timeout: 20000 });
  return page.evaluate(() => document.body.dataset.state);
}

async function open (page, search) {
  await page.goto(base + search);
  return shown(page, search);
}

const text = (page, sel) => page.locator(sel).first().textContent({ timeout: 5000 }).then(t => (t || '').trim());

// The IPs and scores of a port's feature table on the overview
function table (page, port, feature) {
  return page.evaluate(([p, f]) => [...document.querySelectorAll(
    `section.port-row[data-port="${p}"] table.top[data-feature="${f}"] tbody tr:not(.none)`)]
    .map(tr => ({ ip: tr.querySelector('td.ip')?.textContent.trim(), score: tr.querySelector('td.score')?.getAttribute('title') || '' })),
  [port, feature]);
}

async function main () {
  const { context, close } = await launch();
  const page = await context.newPage();
  const seen = watch(page);
  const snap = name => shot(page, opt.shots, `direction-${name}`);
  const day = X.latest;
  try {
    await R.step('the overview defaults to outgoing: selector, heading, no relay on 9001', async () => {
      const state = await open(page, `?date=${day}`);
      await snap('01-out');
      if (state !== 'ready') return `state ${state}: ${await text(page, '#error')}`;
      const sel = await page.evaluate(() => document.getElementById('ov-direction-select').value);
      if (sel !== 'out') return `selector ${sel}`;
      const head = await text(page, '#ov-date');
      if (!/outgoing/.test(head)) return `heading "${head}"`;
      const rows = await table(page, 9001, 'peers');
      if (rows.some(r => r.ip === X.relay)) return `relay in the outgoing 9001 table: ${JSON.stringify(rows)}`;
      const mail = await table(page, 25, 'bytes');
      if (!mail.length || mail[0].ip !== X.out_top_25.ip) return `outgoing 25 leader ${JSON.stringify(mail[0])}`;
    });
    await R.step('choosing incoming puts direction=in in the URL and says "incoming"', async () => {
      await page.selectOption('#ov-direction-select', 'in');
      await shown(page);
      await snap('02-in');
      const q = new URL(page.url()).searchParams;
      if (q.get('direction') !== 'in' || q.get('date') !== day) return `URL ${page.url()}`;
      const head = await text(page, '#ov-date');
      if (!/incoming/.test(head)) return `heading "${head}"`;
      const sub = await text(page, '#ov-op');
      if (!/destinations/.test(sub)) return `subtitle "${sub}"`;
    });
    await R.step(`incoming 9001: ${X.in_top_9001.ip} first by peers with nfdump's ${X.in_top_9001.score}`, async () => {
      const rows = await table(page, 9001, 'peers');
      if (!rows.length || rows[0].ip !== X.in_top_9001.ip) return `rows ${JSON.stringify(rows.slice(0, 3))}`;
      const digits = rows[0].score.replace(/[^0-9]/g, '');
      if (digits !== String(X.in_top_9001.score)) return `score title "${rows[0].score}"`;
    });
    await R.step('a deep link ?direction=in opens the incoming overview directly', async () => {
      const state = await open(page, `?date=${day}&direction=in`);
      if (state !== 'ready') return `state ${state}`;
      const sel = await page.evaluate(() => document.getElementById('ov-direction-select').value);
      if (sel !== 'in') return `selector ${sel}`;
    });
    await R.step('the relay\'s link opens its incoming graph: URL, title, form', async () => {
      await page.locator('section.port-row[data-port="9001"] table.top[data-feature="peers"] a.ip-link').first().click();
      const state = await shown(page);
      await snap('03-graph-in');
      if (state !== 'ready') return `state ${state}: ${await text(page, '#error')}`;
      const q = new URL(page.url()).searchParams;
      if (q.get('host') !== X.relay || q.get('direction') !== 'in' || q.get('port') !== '9001') return `URL ${page.url()}`;
      const t = await text(page, '#g-title');
      if (!t.includes(X.relay) || !/incoming/.test(t)) return `title "${t}"`;
      const dir = await page.evaluate(() => document.getElementById('q-direction').value);
      if (dir !== 'in') return `form direction ${dir}`;
    });
    await R.step(`the relay's incoming ALL* graph has one curve per incoming port (${X.relay_in_ports.join(', ')})`, async () => {
      const state = await open(page, `?host=${X.relay}&port=all&feature=peers&op=sum&direction=in`);
      if (state !== 'ready') return `state ${state}: ${await text(page, '#error')}`;
      const ports = await page.evaluate(() => document.getElementById('chart').dataset.ports || '');
      if (ports !== X.relay_in_ports.join(',')) return `curves for ports "${ports}"`;
    });
    await R.step('the same host outgoing has no traffic to show', async () => {
      await page.selectOption('#q-direction', 'out');
      await page.click('#q-submit');
      const state = await shown(page);
      await snap('04-graph-out');
      if (state !== 'ready') return `state ${state}`;
      if (new URL(page.url()).searchParams.has('direction')) return `URL ${page.url()}`;
      if (!(await page.locator('#g-empty').count())) return 'no "No traffic" box';
      const t = await text(page, '#g-title');
      if (!/outgoing/.test(t)) return `title "${t}"`;
    });
    await R.step('a bad direction in the URL shows the gateway\'s error naming it', async () => {
      await page.goto(base + `?date=${day}&direction=sideways`);
      const state = await settled(page);
      if (state !== 'error') return `state ${state}`;
      const e = await text(page, '#error');
      if (!/direction/.test(e)) return `error "${e}"`;
    });
  } finally {
    R.check('no uncaught exception in the page', seen.errors.length === 0, seen.errors.join('; '));
    const unexpected = seen.console.filter(m => !/status of 400/.test(m) && !/ApiError/.test(m));
    R.check('no console errors besides the expected 400', unexpected.length === 0, unexpected.slice(0, 3).join('; '));
    await close();
  }
}

main().then(() => process.exit(R.failed ? 1 : 0), err => {
  R.fail('browser test aborted', String(err && err.stack ? err.stack : err).split('\n').slice(0, 3).join(' | '));
  process.exit(1);
});
