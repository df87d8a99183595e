// tests/browser/changes_test.mjs - the "What changed" page in Debian's chromium against a
// running cluster (started by tests/system/browser_changes_test.sh); PASS/FAIL lines.
//
//   node changes_test.mjs --url http://127.0.0.1:PORT/ --sum SUM.json --max MAX.json
//                         --sparks SPARKS.json --xss-host IP --shots DIR
//
// SUM.json and MAX.json are the answers tests/lib/changes_check.py computes from nfdump's
// output for the last day (op sum and max, the gateway's k and window), never from the
// API: the page must list exactly their rows, per port, in their order, with their
// reasons.  SPARKS.json is /api/sparks as computed from the same output (the day's top
// 10s with each host's last 14 days): every overview row must carry that sparkline.
// IP's passive-DNS names hold an HTML payload, which must stay text.
import fs from 'node:fs';
import { launch, watch, shot, settled, Results } from './lib.mjs';

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!opt.url || !opt.sum || !opt.max || !opt.sparks || !opt.shots || !opt['xss-host']) {
  console.error('usage: node changes_test.mjs --url URL --sum FILE --max FILE --xss-host IP --shots DIR');
  process.exit(2);
}
const SUM = JSON.parse(fs.readFileSync(opt.sum, 'utf8'));
const MAX = JSON.parse(fs.readFileSync(opt.max, 'utf8'));
const SPARKS = JSON.parse(fs.readFileSync(opt.sparks, 'utf8'));
const base = opt.url.endsWith('/') ? opt.url : opt.url + '/';
const R = new Results('browser changes: ');

async function shown (page, timeout = 20000) {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state) &&
    document.body.dataset.shown === location.search, null, { timeout });
  return page.evaluate(() => document.body.dataset.state);
}

// The rows the page shows: [port, ip, feature, reasons] in page order.
function pageRows (page) {
  return page.$$eval('#ch-body section.changes-port', sections => sections.flatMap(s =>
    [...s.querySelectorAll('tbody tr')].map(tr => [Number(s.dataset.port), tr.dataset.ip, tr.dataset.feature, tr.dataset.reasons])));
}

function expectedRows (answer) {
  return answer.ports.flatMap(p => p.changes.map(c => [p.port, c.ip, c.feature, c.reasons.join(' ')]));
}

async function compareRows (page, expected, what) {
  const got = await pageRows(page);
  const want = expectedRows(expected);
  const same = JSON.stringify(got) === JSON.stringify(want);
  R.check(`${what}: the page lists the oracle's ${want.length} rows in its order, with their reasons`, same,
    same ? '' : `page ${JSON.stringify(got.slice(0, 6))}... oracle ${JSON.stringify(want.slice(0, 6))}...`);
}

async function main () {
  const { context, close } = await launch();
  const page = await context.newPage();
  const seen = watch(page);
  const shots = [];
  const snap = async name => shots.push(await shot(page, opt.shots, name));
  try {
    await page.goto(base);
    await settled(page);
    await R.step(`every overview top-10 row of ${SPARKS.date} has the oracle's 14-day sparkline`, async () => {
      const got = await page.$$eval('#ov-body section.port-row', sections => sections.flatMap(s =>
        [...s.querySelectorAll('table.top')].flatMap(t => [...t.querySelectorAll('tbody tr:not(.none)')].map(tr =>
          [Number(s.dataset.port), t.dataset.feature, tr.querySelector('td.ip').textContent.trim(),
            (tr.querySelector('svg.spark') || { dataset: {} }).dataset.values || '']))));
      const want = SPARKS.ports.flatMap(p => ['bytes', 'packets', 'durations', 'peers'].flatMap(f =>
        p.features[f].map(e => [p.port, f, e.ip, e.spark.join(',')])));
      const lines = await page.$$eval('#ov-body svg.spark polyline', x => x.length);
      if (lines !== want.length) return `${lines} polylines for ${want.length} rows`;
      return JSON.stringify(got) === JSON.stringify(want) ||
        `page ${JSON.stringify(got.slice(0, 3))} oracle ${JSON.stringify(want.slice(0, 3))}`;
    });
    await snap('overview-sparklines');
    await R.step('the overview asked /api/sparks once, not once per row', async () => {
      const count = await page.evaluate(() => performance.getEntriesByType('resource').filter(e => e.name.includes('/api/sparks')).length);
      return count === 1 || `${count} requests`;
    });
    await R.step('the overview has a "Changes" link in its navigation', async () => {
      await page.click('#changes-link');
      await shown(page);
      const search = await page.evaluate(() => location.search);
      return search.includes('view=changes') || `URL ${search}`;
    });
    const date = SUM.date;
    await R.step(`the changes page opens on the latest day (${date})`, async () => {
      const title = (await page.textContent('#ch-title')).trim();
      return title === `What changed on ${date}` || `title "${title}"`;
    });
    await compareRows(page, SUM, 'op sum');
    await snap('changes-sum');
    await R.step('a spike row says why: the reason and its ratio to the median', async () => {
      const row = page.locator('#ch-body tr[data-reasons~="spike"]').first();
      const why = (await row.locator('td.why').textContent()).trim();
      return (/spike/.test(why) && /×\d/.test(why)) || `why "${why}"`;
    });
    await R.step('each port section names the port and its service', async () => {
      const heads = await page.$$eval('#ch-body section.changes-port h2', hs => hs.map(x => x.textContent));
      const want = SUM.ports.map(p => `Port ${p.port}${p.service}`);
      return JSON.stringify(heads) === JSON.stringify(want) || `heads ${JSON.stringify(heads)}`;
    });
    const xss = opt['xss-host'];
    await R.step(`the annotation badge of ${xss} shows its names as text (no HTML executed)`, async () => {
      const badge = page.locator(`#ch-body .badge[data-ip="${xss}"]`).first();
      await badge.hover();
      await page.waitForFunction(() => !document.getElementById('tooltip').hidden && /img/.test(document.getElementById('tooltip').textContent), null, { timeout: 5000 });
      const imgs = await page.$$eval('#tooltip img', x => x.length);
      return imgs === 0 || 'an <img> element was created';
    });
    await page.mouse.move(0, 0);
    await R.step('the operation selector shows op max (URL op=max)', async () => {
      await page.selectOption('#ch-op-select', 'max');
      await shown(page);
      const search = await page.evaluate(() => location.search);
      return search.includes('op=max') || `URL ${search}`;
    });
    await compareRows(page, MAX, 'op max');
    await snap('changes-max');
    const first = MAX.ports[0].changes[0];
    const port = MAX.ports[0].port;
    await R.step(`a row links to the host graph (${first.ip}, port ${port}, ${first.feature}, max)`, async () => {
      const link = page.locator(`#ch-body section[data-port="${port}"] tbody tr`).first().locator('a.ip-link');
      const href = await link.getAttribute('href');
      const q = new URLSearchParams(href.slice(href.indexOf('?')));
      if (q.get('host') !== first.ip || q.get('port') !== String(port) || q.get('feature') !== first.feature || q.get('op') !== 'max') return `href ${href}`;
      await link.click();
      await shown(page);
      const view = await page.evaluate(() => document.body.dataset.view);
      const title = (await page.textContent('#g-title')).trim();
      return (view === 'graph' && title.includes(first.ip)) || `view ${view}, title "${title}"`;
    });
    await snap('changes-graph');
    await R.step('back returns to the changes page with op max', async () => {
      await page.goBack();
      await shown(page);
      const view = await page.evaluate(() => document.body.dataset.view);
      return (view === 'changes' && (await page.inputValue('#ch-op-select')) === 'max') || `view ${view}`;
    });
  } finally {
    R.check('no JavaScript dialog opened', seen.dialogs.length === 0, seen.dialogs.join('; '));
    R.check('no uncaught exception in the page', seen.errors.length === 0, seen.errors.join('; '));
    R.check('no console errors', seen.console.length === 0, seen.console.slice(0, 3).join('; '));
    await close();
    console.log(`screenshots: ${shots.join(' ')}`);
  }
  process.exit(R.failed ? 1 : 0);
}

main().catch(err => { console.log(`FAIL: browser changes: ${err && err.stack ? err.stack.split('\n')[0] : err}`); process.exit(1); });
