// tests/browser/others_test.mjs - the host page shows a host's traffic to the ports that
// are not monitored, as nfdump says (started by tests/system/others_test.sh against a
// running cluster).
//
//   node others_test.mjs --url http://127.0.0.1:PORT/ --expect DAYS.json --from D --to D
//                        --empty HOST --shots DIR
//
// DAYS.json is tests/lib/oracle_others.py's per-day answer (from `nfdump -o csv`, never
// from the API).  For each host: one row a day, latest first, whose exact bytes, packets
// and flows (the cells' titles) and top ports (port numbers in order, exact bytes in each
// port's title) are the oracle's; a truncated day is marked; a service name is shown for
// a known port (443 HTTPS); the host without such traffic says so.
import fs from 'node:fs';
import { launch, watch, shot, Results } from './lib.mjs';

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!opt.url || !opt.expect || !opt.from || !opt.to || !opt.empty || !opt.shots) {
  console.error('usage: node others_test.mjs --url URL --expect FILE --from D --to D --empty HOST --shots DIR');
  process.exit(2);
}
const X = JSON.parse(fs.readFileSync(opt.expect, 'utf8'));
const base = opt.url.endsWith('/') ? opt.url : opt.url + '/';
const R = new Results('browser others: ');

async function open (page, host) {
  const search = `?host=${encodeURIComponent(host)}&port=all&feature=bytes&op=sum&from=${opt.from}&to=${opt.to}`;
  await page.goto(base + search);
  await page.waitForFunction(
    want => ['ready', 'error'].includes(document.body.dataset.state) && document.body.dataset.shown === want,
    search, { timeout: 20000 });
  return page.evaluate(() => document.body.dataset.state);
}

// The rows of #others as data
function rows (page) {
  return page.locator('#others tbody tr').evaluateAll(trs => trs.map(tr => {
    const cells = [...tr.cells];
    const exact = td => Number((td.getAttribute('title') || '').split(' ')[0]);
    return {
      date: tr.dataset.date || null,
      text: tr.textContent,
      bytes: cells[1] ? exact(cells[1]) : null,
      packets: cells[2] ? exact(cells[2]) : null,
      flows: cells[3] ? exact(cells[3]) : null,
      ports: cells[4] ? [...cells[4].querySelectorAll('.other-port')].map(s => [
        Number(s.textContent.split(' ')[0]), Number((s.getAttribute('title') || '').split(' ')[0])]) : [],
      portText: cells[4] ? cells[4].textContent : '',
      truncated: Boolean(tr.querySelector('.truncated'))
    };
  }));
}

async function main () {
  const { context, close } = await launch();
  const page = await context.newPage();
  const seen = watch(page);
  try {
    for (const host of Object.keys(X).sort()) {
      const want = Object.entries(X[host]).sort().reverse();
      await R.step(`${host}: the Other ports table shows ${want.length} days as nfdump says`, async () => {
        const state = await open(page, host);
        await shot(page, opt.shots, `others-${host.replace(/[:.]/g, '_')}`);
        if (state !== 'ready') return `state ${state}`;
        const got = await rows(page);
        if (got.length !== want.length) return `${got.length} rows: ${got.map(r => r.text).join(' | ')}`;
        for (let i = 0; i < want.length; i++) {
          const [day, v] = want[i];
          const g = got[i];
          if (g.date !== day) return `row ${i} is ${g.date}, expected ${day}`;
          if (g.bytes !== v.bytes || g.packets !== v.packets || g.flows !== v.flows) {
            return `${day}: ${g.bytes}/${g.packets}/${g.flows}, expected ${v.bytes}/${v.packets}/${v.flows}`;
          }
          const ports = v.top_ports.map(p => [p[0], p[1]]);
          if (JSON.stringify(g.ports) !== JSON.stringify(ports)) return `${day}: ports ${JSON.stringify(g.ports)}, expected ${JSON.stringify(ports)}`;
          if (g.truncated !== v.truncated) return `${day}: truncated mark ${g.truncated}, expected ${v.truncated}`;
        }
      });
    }
    const named = Object.keys(X).find(host => Object.values(X[host]).some(d => d.top_ports.some(p => p[0] === 443)));
    if (named) {
      await R.step(`${named}: port 443 is shown with its service name`, async () => {
        await open(page, named);
        const got = await rows(page);
        if (!got.some(r => /443 HTTPS/.test(r.portText))) return got.map(r => r.portText).join(' | ');
      });
    }
    await R.step(`${opt.empty}: a host without such traffic says so`, async () => {
      await open(page, opt.empty);
      const got = await rows(page);
      if (got.length !== 1 || !/No traffic to other ports/.test(got[0].text)) return got.map(r => r.text).join(' | ');
    });
  } finally {
    R.check('no uncaught exception in the page', seen.errors.length === 0, seen.errors.join('; '));
    R.check('no console errors', seen.console.length === 0, seen.console.slice(0, 3).join('; '));
    await close();
  }
  process.exit(R.failed ? 1 : 0);
}

main().catch(err => { console.log(`FAIL: browser others: ${err.message}`); process.exit(1); });
