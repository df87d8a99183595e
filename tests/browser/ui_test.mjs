// tests/browser/ui_test.mjs - drives portevo's web UI in Debian's chromium against a
// running cluster (started by tests/system/browser_test.sh) and prints PASS/FAIL lines.
//
//   node ui_test.mjs --url http://127.0.0.1:PORT/ --expect EXPECT.json --shots DIR
//                    [--phase main|missing]
//
// EXPECT.json holds what nfdump says (computed by browser_test.sh from `nfdump -o csv`
// through tests/lib/oracle.py, never from the API): the days, the top SMTP sender by
// bytes of each day and its exact score, the ports of that host, the annotation names
// imported, a day without data, a host without traffic, an SSH scanner's peers per op
// and the days they reached the 4096-peer cap, a host under the cap, and (phase missing)
// the shard that was stopped.  Every page visited is saved as a PNG under --shots.
import fs from 'node:fs';
import { launch, watch, shot, Results } from './lib.mjs';

const opt = { phase: 'main' };
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!opt.url || !opt.expect || !opt.shots) {
  console.error('usage: node ui_test.mjs --url URL --expect FILE --shots DIR [--phase main|missing]');
  process.exit(2);
}
const X = JSON.parse(fs.readFileSync(opt.expect, 'utf8'));
const base = opt.url.endsWith('/') ? opt.url : opt.url + '/';
const R = new Results('browser: ');

// Wait until the app has rendered the page at the current URL (or the given search).
async function shown (page, search, timeout = 20000) {
  await page.waitForFunction(
    want => ['ready', 'error'].includes(document.body.dataset.state) &&
      document.body.dataset.shown === (want ?? location.search),
    search ?? null, { timeout });
  return page.evaluate(() => document.body.dataset.state);
}

async function open (page, search) {
  await page.goto(base + search);
  return shown(page, search);
}

const text = (page, sel) => page.locator(sel).first().textContent({ timeout: 5000 }).then(t => (t || '').trim());
const visible = (page, sel) => page.locator(sel).first().isVisible();

async function main () {
  const { context, close } = await launch();
  const page = await context.newPage();
  const seen = watch(page);
  const shots = [];
  const snap = async name => shots.push(await shot(page, opt.shots, name));
  try {
    if (opt.phase === 'missing') await missingPhase(page, snap);
    else await mainPhase(page, snap);
  } finally {
    R.check('no JavaScript dialog opened (annotation names are not executed)', seen.dialogs.length === 0, seen.dialogs.join('; '));
    R.check('no uncaught exception in the page', seen.errors.length === 0, seen.errors.join('; '));
    // The bad-date page makes the browser log its 400; nothing else may be logged.
    const unexpected = seen.console.filter(m => !/status of 400/.test(m) && !/ApiError/.test(m));
    R.check('no console errors (CSP violations, failed loads) besides the expected 400', unexpected.length === 0, unexpected.slice(0, 3).join('; '));
    await close();
    console.log(`screenshots: ${shots.join(' ')}`);
  }
}

async function mainPhase (page, snap) {
  const latest = X.days[X.days.length - 1];
  const first = X.days[0];
  const top = X.top25[latest];

  // 1. Overview of the latest day.
  await R.step('overview loads without a date in the URL', async () => {
    const state = await open(page, '');
    await snap('01-overview');
    if (state !== 'ready') return `state ${state}: ${await text(page, '#error')}`;
  });
  await R.step(`overview names the latest day ${latest} and the operation above the tables`, async () => {
    const head = await text(page, '#ov-date');
    const op = await text(page, '#ov-op');
    if (!head.includes(latest)) return `heading "${head}"`;
    if (!/\bsum\b/.test(op)) return `operation line "${op}"`;
  });
  const row25 = 'section.port-row[data-port="25"]';
  await R.step('port 25 has its own row with its assumed service SMTP', async () => {
    const head = await text(page, `${row25} .port-head`);
    if (!/25/.test(head) || !/SMTP/.test(head)) return `row head "${head}"`;
  });
  await R.step('the row holds four nested tables: bytes, packets, durations, peers', async () => {
    const f = await page.locator(`${row25} table.top`).evaluateAll(ts => ts.map(t => t.dataset.feature));
    if (f.join(',') !== 'bytes,packets,durations,peers') return `tables ${f.join(',')}`;
  });
  const firstBytes = `${row25} table.top[data-feature="bytes"] tbody tr:first-child`;
  await R.step(`top SMTP sender by bytes on ${latest} is ${top.ip} (nfdump)`, async () => {
    const ip = await text(page, `${firstBytes} td.ip`);
    if (ip !== top.ip) return `shows ${ip}`;
  });
  await R.step(`its score reads in units and its exact value is ${top.score} bytes (nfdump)`, async () => {
    const cell = page.locator(`${firstBytes} td.score`);
    const shownText = (await cell.textContent()).trim();
    const title = (await cell.getAttribute('title')) || '';
    if (!/\d (B|kB|MB|GB|TB)$/.test(shownText)) return `score text "${shownText}"`;
    if (Number(title.split(' ')[0].replace(/,/g, '')) !== top.score) return `title "${title}"`;
  });
  await R.step('a foreign source (other AS) is not in the port 25 tables', async () => {
    const ips = await page.locator(`${row25} td.ip`).allTextContents();
    if (ips.map(s => s.trim()).includes(X.foreign)) return `${X.foreign} listed`;
  });

  // 2. The annotation badge and its tooltip: the HTML payload is text.
  const badge = `${firstBytes} .badge`;
  await R.step(`the red badge next to ${top.ip} counts its ${X.annotations.length} annotations`, async () => {
    const n = await text(page, badge);
    if (n !== String(X.annotations.length)) return `badge "${n}"`;
  });
  await R.step('hovering the badge lists the names as text, the <img> payload is not markup', async () => {
    await page.hover(badge);
    await page.waitForFunction(() => !document.getElementById('tooltip').hidden &&
      !document.getElementById('tooltip').textContent.includes('Loading'), null, { timeout: 10000 });
    await snap('02-annotation-tooltip');
    const t = await text(page, '#tooltip');
    for (const name of X.annotations) if (!t.includes(name)) return `tooltip "${t}" lacks ${name}`;
    const imgs = await page.locator('#tooltip img, #main img').count();
    if (imgs) return `${imgs} <img> element(s) in the page`;
  });

  // 3. Clicking the IP opens its Port Evolution graph, form filled in with what it shows.
  await R.step(`clicking ${top.ip} opens its graph (port 25, bytes, sum)`, async () => {
    await page.locator(`${firstBytes} td.ip a`).click();
    await page.waitForURL(u => new URL(u).searchParams.get('host') === top.ip);
    const state = await shown(page);
    await page.mouse.move(5, 5);
    await snap('03-graph-port25');
    if (state !== 'ready') return `state ${state}: ${await text(page, '#error')}`;
    const q = new URL(page.url()).searchParams;
    if (q.get('port') !== '25' || q.get('feature') !== 'bytes' || q.get('op') !== 'sum') return `URL ${page.url()}`;
  });
  await R.step('the graph title names IP, feature, port and operation', async () => {
    const t = await text(page, '#g-title');
    if (!t.includes(top.ip) || !/\bbytes\b/.test(t) || !/\b25\b/.test(t) || !/\bsum\b/.test(t)) return `title "${t}"`;
  });
  await R.step('the Host Query Interface holds exactly what the graph shows', async () => {
    const f = await page.evaluate(() => ['q-host', 'q-port', 'q-feature', 'q-op'].map(id => document.getElementById(id).value));
    if (f.join('|') !== `${top.ip}|25|bytes|sum`) return `form ${f.join('|')}`;
  });
  await R.step('the y axis is logarithmic with byte units', async () => {
    const info = await page.evaluate(() => {
      const u = window.portevoChart;
      return u ? { distr: u.scales.y.distr, curves: u.series.length - 1 } : null;
    });
    if (!info) return 'no chart';
    if (info.distr !== 3) return `y distr ${info.distr}`;
    if (info.curves !== 1) return `${info.curves} curves`;
    // uPlot paints the ticks on a canvas; the app records the labels it gave it.
    const ticks = await page.evaluate(() => document.getElementById('chart').dataset.yTicks || '');
    const labels = ticks.split('|');
    if (!labels.length || !labels.every(l => /^\d+(\.\d+)? (B|kB|MB|GB|TB|PB)$/.test(l))) return `y ticks "${ticks}"`;
    // A log axis labels decades: some label is ten times another.
    const bytes = labels.map(l => parseFloat(l) * 1000 ** ['B', 'kB', 'MB', 'GB', 'TB', 'PB'].indexOf(l.split(' ')[1]));
    if (!bytes.some(b => bytes.includes(b * 10))) return `y ticks "${ticks}" are not logarithmic`;
  });
  await R.step('Netflow Activity shows first and last seen', async () => {
    const a = await text(page, '#first-seen');
    const b = await text(page, '#last-seen');
    if (!a.startsWith(X.host_first_day)) return `first seen "${a}" (expected ${X.host_first_day}...)`;
    if (!b.startsWith(X.host_last_day)) return `last seen "${b}" (expected ${X.host_last_day}...)`;
  });
  await R.step('the Annotations table shows the names as text', async () => {
    const names = (await page.locator('#annotations td.rrname').allTextContents()).map(s => s.trim());
    for (const name of X.annotations) if (!names.includes(name)) return `names ${JSON.stringify(names)}`;
    if (await page.locator('#annotations img').count()) return '<img> element in the table';
  });
  await R.step('drag over the graph zooms in, double-click resets', async () => {
    const over = page.locator('#chart .u-over');
    const box = await over.boundingBox();
    if (!box) return 'no plot area';
    const before = await page.evaluate(() => [window.portevoChart.scales.x.min, window.portevoChart.scales.x.max]);
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    const zoomed = await page.evaluate(() => [window.portevoChart.scales.x.min, window.portevoChart.scales.x.max]);
    if (!(zoomed[1] - zoomed[0] < before[1] - before[0])) return `x ${before} -> ${zoomed}`;
    await over.dblclick({ position: { x: box.width / 2, y: box.height / 2 } });
    const reset = await page.evaluate(() => [window.portevoChart.scales.x.min, window.portevoChart.scales.x.max]);
    if (reset[1] - reset[0] < before[1] - before[0] - 1) return `after reset x ${reset}`;
  });

  // 4. ALL*: one curve per port with data.
  await R.step(`ALL* draws one curve per port with data (${X.host_ports.join(', ')} per nfdump)`, async () => {
    await page.selectOption('#q-port', 'all');
    await page.click('#q-submit');
    await page.waitForURL(u => new URL(u).searchParams.get('port') === 'all');
    const state = await shown(page);
    await page.mouse.move(5, 5);
    await snap('04-graph-all-ports');
    if (state !== 'ready') return `state ${state}: ${await text(page, '#error')}`;
    const ports = await page.evaluate(() => document.getElementById('chart').dataset.ports);
    const curves = await page.evaluate(() => window.portevoChart ? window.portevoChart.series.length - 1 : 0);
    if (curves !== X.host_ports.length) return `${curves} curves (ports ${ports})`;
    if (ports !== X.host_ports.join(',')) return `ports ${ports}`;
    const legend = (await page.locator('#chart .u-legend .u-series').allTextContents()).slice(1).join(' | ');
    for (const p of X.host_ports) if (!legend.includes(String(p))) return `legend "${legend}"`;
    const t = await text(page, '#g-title');
    if (!t.includes('ALL*')) return `title "${t}"`;
  });

  // 5. Back, back: the port-25 graph, then the overview.
  await R.step('the back button returns to the port 25 graph, then to the overview', async () => {
    await page.goBack();
    await shown(page);
    const t = await text(page, '#g-title');
    if (!/\b25\b/.test(t) || new URL(page.url()).searchParams.get('port') !== '25') return `after one back: "${t}"`;
    const f = await page.evaluate(() => document.getElementById('q-port').value);
    if (f !== '25') return `form port ${f} after back`;
    await page.goBack();
    await shown(page);
    await snap('05-back-to-overview');
    if (!(await visible(page, '#overview')) || (await visible(page, '#graph'))) return 'overview not shown';
    const ip = await text(page, `${firstBytes} td.ip`);
    if (ip !== top.ip) return `overview shows ${ip}`;
  });
  await R.step('the forward button shows the port 25 graph again', async () => {
    await page.goForward();
    await shown(page);
    if (new URL(page.url()).searchParams.get('port') !== '25' || !(await visible(page, '#graph'))) return page.url();
    await page.goBack();
    await shown(page);
  });
  await R.step('the last IP entered is remembered after a reload', async () => {
    await page.reload();
    await shown(page);
    const v = await page.inputValue('#q-host');
    if (v !== top.ip) return `host field "${v}"`;
  });

  // 6. Another day with the date picker.
  if (first !== latest) {
    const top1 = X.top25[first];
    await R.step(`"Specify other date" ${first} shows that day's top SMTP sender ${top1.ip}`, async () => {
      await page.fill('#ov-date-input', first);
      await page.dispatchEvent('#ov-date-input', 'change');
      await page.waitForURL(u => new URL(u).searchParams.get('date') === first);
      const state = await shown(page);
      await snap('06-overview-other-date');
      if (state !== 'ready') return `state ${state}`;
      const head = await text(page, '#ov-date');
      if (!head.includes(first)) return `heading "${head}"`;
      const ip = await text(page, `${firstBytes} td.ip`);
      if (ip !== top1.ip) return `shows ${ip}`;
    });
  }
  await R.step('the operation selector shows the max tables', async () => {
    await page.selectOption('#ov-op-select', 'max');
    await page.waitForURL(u => new URL(u).searchParams.get('op') === 'max');
    const state = await shown(page);
    if (state !== 'ready') return `state ${state}`;
    const op = await text(page, '#ov-op');
    if (!/\bmax\b/.test(op)) return `operation line "${op}"`;
    const ip = await text(page, `${firstBytes} td.ip`);
    if (!ip) return 'no port 25 table';
  });

  // 7. Estimated peers: the scanner's peers past the cap carry "≈" and a title saying why
  //    (per op, as nfdump's flows say); a host under the cap carries none.
  if (X.estimates) await estimateSteps(page, snap, X.estimates);

  // 8. Empty and error states.
  await R.step(`a day without data (${X.empty_day}) says so`, async () => {
    const state = await open(page, `?date=${X.empty_day}`);
    await snap('07-empty-day');
    const body = await text(page, '#ov-body');
    if (state !== 'ready' && state !== 'error') return `state ${state}`;
    if (state === 'ready' && !body.includes(`No data for ${X.empty_day}`)) return `body "${body.slice(0, 120)}"`;
    if (state === 'error') return `error instead of an empty day: ${await text(page, '#error')}`;
  });
  await R.step('a bad date in the URL shows an error state with the API message', async () => {
    const state = await open(page, '?date=2026-13-45');
    await snap('08-bad-date');
    if (state !== 'error') return `state ${state}`;
    if (!(await visible(page, '#error'))) return 'no visible error';
    const t = await text(page, '#error');
    if (!/date/i.test(t) || !/400/.test(t)) return `error "${t}"`;
  });
  await R.step('a bad host in the URL shows an error state', async () => {
    const state = await open(page, '?host=not-an-ip&port=25&feature=bytes&op=sum');
    await snap('09-bad-host');
    if (state !== 'error') return `state ${state}`;
    const t = await text(page, '#error');
    if (!/host|ip|address/i.test(t)) return `error "${t}"`;
  });
  await R.step(`a host without traffic (${X.unknown_host}) shows an empty graph state`, async () => {
    const state = await open(page, `?host=${X.unknown_host}&port=all&feature=peers&op=max`);
    await snap('10-host-without-traffic');
    if (state !== 'ready') return `state ${state}: ${await text(page, '#error')}`;
    if (!(await visible(page, '#g-empty'))) return 'no empty state';
  });
  await R.step('submitting the form without a host says what is missing', async () => {
    await open(page, '');
    await page.fill('#q-host', '');
    await page.click('#q-submit');
    if (!(await visible(page, '#q-error'))) return 'no form error';
  });
}

const WHY = 'estimate: more than 4096 distinct peers in a 5-minute block';

// The score cell of ip in the peers table of port on the page shown: {text, title, cls}
async function peersCell (page, port, ip) {
  const rows = page.locator(`section.port-row[data-port="${port}"] table.top[data-feature="peers"] tbody tr`);
  for (let i = 0; i < await rows.count(); i++) {
    const row = rows.nth(i);
    if ((await row.locator('td.ip').textContent()).trim() !== ip) continue;
    const cell = row.locator('td.score');
    return { rank: i + 1, text: (await cell.textContent()).trim(), title: (await cell.getAttribute('title')) || '', cls: (await cell.getAttribute('class')) || '' };
  }
  return null;
}

async function estimateSteps (page, snap, E) {
  for (const op of ['max', 'sum', 'min']) {
    const want = E.capped[op];
    await R.step(`overview ${E.day}, ${op}: the scanner ${E.ip}'s peers on port ${E.port} ${want ? 'read "≈…" with a title saying why' : 'carry no estimate mark'} (nfdump)`, async () => {
      const state = await open(page, `?date=${E.day}&op=${op}`);
      if (op === 'max') await snap('12-overview-estimated-peers');
      if (state !== 'ready') return `state ${state}: ${await text(page, '#error')}`;
      const cell = await peersCell(page, E.port, E.ip);
      if (!cell) return `${E.ip} not in the peers table of port ${E.port}`;
      if (op === 'max' && cell.rank !== 1) return `${E.ip} ranks ${cell.rank}, nfdump says ${E.top_max} leads`;
      const marked = cell.text.startsWith('≈') && cell.title.includes(WHY) && /\bestimate\b/.test(cell.cls);
      const plain = !cell.text.includes('≈') && !cell.title.includes('estimate') && !/\bestimate\b/.test(cell.cls);
      if (want ? !marked : !plain) return `cell "${cell.text}" title "${cell.title}" class "${cell.cls}"`;
    });
  }
  await R.step(`overview ${E.day}: ${E.under.ip}'s peers on port ${E.under.port}, under the cap, carry no estimate mark`, async () => {
    await open(page, `?date=${E.day}&op=max`);
    const cell = await peersCell(page, E.under.port, E.under.ip);
    if (!cell) return `${E.under.ip} not in the peers table of port ${E.under.port}`;
    if (cell.text.includes('≈') || cell.title.includes('estimate')) return `cell "${cell.text}" title "${cell.title}"`;
  });
  await R.step(`the scanner's peers graph (max) names its estimated days ${E.capped_days_max.join(', ')} and marks them "≈" in the legend`, async () => {
    const state = await open(page, `?host=${E.ip}&port=${E.port}&feature=peers&op=max`);
    if (state !== 'ready') return `state ${state}: ${await text(page, '#error')}`;
    const days = await page.evaluate(() => document.getElementById('chart').dataset.estimates);
    if (days !== E.capped_days_max.join(',')) return `estimated days "${days}"`;
    const note = page.locator('#g-estimates');
    if (!(await note.count())) return 'no note about estimates under the chart';
    const noteText = (await note.textContent()) || '';
    if (!E.capped_days_max.every(d => noteText.includes(d)) || !noteText.includes(WHY)) return `note "${noteText}"`;
    // Put the cursor on the estimated day: the legend's value reads "≈..." with the reason as its title
    await page.evaluate(day => {
      const u = window.portevoChart;
      const x = Date.parse(`${day}T00:00:00Z`) / 1000;
      u.setCursor({ left: u.valToPos(x, 'x'), top: 10 });
    }, E.capped_days_max[0]);
    const value = page.locator('#chart .u-legend .u-series').nth(1).locator('.u-value');
    await page.waitForFunction(() => {
      const cells = document.querySelectorAll('#chart .u-legend .u-series .u-value');
      return cells.length > 1 && cells[1].textContent.startsWith('≈');
    }, null, { timeout: 5000 }).catch(() => {});
    await snap('13-graph-estimated-peers');
    const shownValue = ((await value.textContent()) || '').trim();
    const title = (await value.getAttribute('title')) || '';
    if (!shownValue.startsWith('≈') || !title.includes(WHY)) return `legend value "${shownValue}" title "${title}"`;
    // Another day is exact
    const other = await page.evaluate(exclude => {
      const u = window.portevoChart;
      const x = u.data[0].find(t => !exclude.includes(new Date(t * 1000).toISOString().slice(0, 10)));
      if (x === undefined) return null;
      u.setCursor({ left: u.valToPos(x, 'x'), top: 10 });
      const cell = document.querySelectorAll('#chart .u-legend .u-series .u-value')[1];
      return { text: cell.textContent, title: cell.getAttribute('title') || '' };
    }, E.capped_days_max);
    if (other && (other.text.includes('≈') || other.title)) return `exact day's legend "${other.text}" title "${other.title}"`;
  });
  await R.step(`${E.under.ip}'s peers graph has no estimate mark`, async () => {
    const state = await open(page, `?host=${E.under.ip}&port=${E.under.port}&feature=peers&op=max`);
    if (state !== 'ready') return `state ${state}: ${await text(page, '#error')}`;
    if (await page.locator('#g-estimates').count()) return 'a note about estimates';
    const days = await page.evaluate(() => document.getElementById('chart').dataset.estimates);
    if (days) return `estimated days "${days}"`;
  });
}

async function missingPhase (page, snap) {
  const latest = X.days[X.days.length - 1];
  await R.step(`with ${X.missing_shard} stopped, the overview lists it as missing`, async () => {
    const state = await open(page, `?date=${latest}`);
    await snap('11-missing-shard');
    if (state !== 'ready') return `state ${state}: ${await text(page, '#error')}`;
    if (!(await visible(page, '#notice'))) return 'no notice';
    const t = await text(page, '#notice .missing-shards');
    if (!t.split(/,\s*/).includes(X.missing_shard)) return `notice lists "${t}"`;
  });
}

main().then(() => process.exit(R.failed ? 1 : 0), err => {
  R.fail('browser test aborted', String(err && err.stack ? err.stack : err).split('\n').slice(0, 3).join(' | '));
  process.exit(1);
});
