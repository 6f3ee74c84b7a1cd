#!/usr/bin/env node
// Browser tests of GET …/callback (docs/openapi.yaml, /api/amo-crm/callback): a phone-sized
// headless Chromium goes through the amoCRM simulator's consent page and lands on
// amo-connect's callback page through nginx.
//
// Run by ctest (label "browser") as `with_stack node callback.test.mjs`; with_stack
// (tests/browser/with_stack_main.cpp) starts the stack and exports:
//   BASE_URL, SIM_URL, APP_JWT (user "browser-user"), APP_DEEP_LINK, AMO_STACK_DIR,
//   STACK_CONTROL (a unix socket: "restart-server [NAME=VALUE …]" → "ok")
// Optional: AMO_BROWSER_ARTIFACTS (screenshots; default tests/browser/artifacts),
//           CHROMIUM_PATH (default /usr/bin/chromium).
//
// playwright-core and axe-core are installed here with `npm ci` (from package-lock.json) when
// node_modules is missing or does not hold the pinned versions. No browser is downloaded: the
// system Chromium is used.
//
// Every page gets, before any of its scripts run, an init script that
//   - replaces window.open with a recorder: [url, target] pushed to window.__opened, no navigation;
//   - records securitypolicyviolation events (window.__cspViolations and a binding to node).
// Every case also records console errors, page errors, console messages about the Content
// Security Policy, dialogs and main-frame navigations, and fails on any of them.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------
// Dependencies
// ---------------------------------------------------------------------------------------
function installedVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function ensureDeps() {
  const pinned = JSON.parse(fs.readFileSync(path.join(HERE, 'package.json'), 'utf8')).dependencies;
  const stale = Object.entries(pinned)
    .map(([name, want]) => [name, want, installedVersion(name)])
    .filter(([, want, have]) => have !== want);
  if (stale.length === 0) return;
  const what = stale.map(([name, want, have]) => `${name} ${have ?? 'missing'} (want ${want})`).join(', ');
  console.log(`# ${what}: npm ci in ${HERE}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], {
    cwd: HERE,
    stdio: 'inherit',
    env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
  });
  if (r.status !== 0) {
    console.log(`FAIL npm ci (status ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
    process.exit(1);
  }
}

ensureDeps();
const { chromium } = await import('playwright-core');

// axe-core goes into the audited page with page.evaluate (CDP Runtime.evaluate of its source),
// not with addScriptTag and not with bypassCSP:
//   - addScriptTag adds a <script> element, which the page's Content-Security-Policy refuses
//     (script-src is the hash of the page's one script) — the audit would not run, and the
//     monitors would (rightly) fail the case on the CSP violation;
//   - bypassCSP switches the policy off for the whole context, so the audit would judge a
//     page no phone sees: a style the shipped CSP blocks (e.g. a stale style hash) would
//     still apply there, and an unstyled page on the phone would pass the audit.
// Runtime.evaluate is not subject to the page's CSP and adds nothing to the document, so the
// audit sees the page exactly as shipped, under its own policy; every case still fails on any
// CSP violation or console error, which also proves the injection did not trip the policy.
const AXE_SOURCE = fs.readFileSync(path.join(HERE, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const AXE_VERSION = installedVersion('axe-core');

// ---------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------
function requireEnv(name) {
  const v = process.env[name];
  if (!v) {
    console.log(`FAIL environment: ${name} is not set (run through with_stack)`);
    process.exit(1);
  }
  return v;
}

const BASE_URL = requireEnv('BASE_URL').replace(/\/+$/, '');
const SIM_URL = requireEnv('SIM_URL').replace(/\/+$/, '');
const APP_JWT = requireEnv('APP_JWT');
const DEEP_LINK = process.env.APP_DEEP_LINK || 'foryoure://amo-crm/callback';
const STACK_CONTROL = requireEnv('STACK_CONTROL');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = path.resolve(process.env.AMO_BROWSER_ARTIFACTS || path.join(HERE, 'artifacts'));
fs.mkdirSync(ARTIFACTS, { recursive: true });
// Screenshots of an earlier run must not pass for this one's.
for (const f of fs.readdirSync(ARTIFACTS)) {
  if (/^(success|error-.*|fail-.*)\.png$/.test(f)) fs.rmSync(path.join(ARTIFACTS, f), { force: true });
}

const CHROME_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TEXT = {
  en: {
    success: '✓ Authorization successful!',
    successMessage: 'Your AMO CRM account has been successfully connected.',
    failed: '✗ Authorization failed',
    missing: '✗ Authorization code is missing',
    prompt: 'Please tap the button below to return to the app:',
    button: 'Return to App',
  },
  uk: {
    failed: '✗ Не вдалося авторизуватися',
    missing: '✗ Відсутній код авторизації',
    prompt: 'Натисніть кнопку нижче, щоб повернутися до застосунку:',
    button: 'Повернутися до застосунку',
  },
  ru: {
    failed: '✗ Не удалось авторизоваться',
    missing: '✗ Отсутствует код авторизации',
    prompt: 'Нажмите кнопку ниже, чтобы вернуться в приложение:',
    button: 'Вернуться в приложение',
  },
};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The server's URL encoding (src/http/request.cpp url_encode): everything but ALPHA, DIGIT
// and "-_.~" as %XX (upper-case hex) of the UTF-8 bytes.
function serverUrlEncode(s) {
  let out = '';
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

// Query of a deep link → [[name, value], …] (percent-decoded; "+" is not special).
function linkParams(link) {
  const q = link.includes('?') ? link.slice(link.indexOf('?') + 1) : '';
  return q
    .split('&')
    .filter(Boolean)
    .map((part) => {
      const i = part.indexOf('=');
      return i < 0
        ? [decodeURIComponent(part), '']
        : [decodeURIComponent(part.slice(0, i)), decodeURIComponent(part.slice(i + 1))];
    });
}

async function api(method, suffix, { jwt = APP_JWT } = {}) {
  const res = await fetch(`${BASE_URL}/api/amo-crm/${suffix}`, {
    method,
    headers: jwt ? { Authorization: `Bearer ${jwt}` } : {},
  });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

async function authUrl() {
  const r = await api('GET', 'auth-url');
  assert.equal(r.status, 200, `GET auth-url: status ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.body.success, true, 'auth-url: success flag');
  const { url, state } = r.body.data;
  assert.ok(typeof url === 'string' && url.startsWith(`${SIM_URL}/oauth?`), `auth-url url points at the simulator: ${url}`);
  assert.ok(typeof state === 'string' && state.length >= 22, `auth-url state looks random: ${state}`);
  assert.equal(new URL(url).searchParams.get('state'), state, 'auth-url url carries the state');
  return { url, state };
}

async function simCounters() {
  const res = await fetch(`${SIM_URL}/_sim/counters`);
  assert.equal(res.status, 200, '/_sim/counters');
  return res.json();
}

async function simReset() {
  const res = await fetch(`${SIM_URL}/_sim/reset`, { method: 'POST' });
  assert.equal(res.status, 200, '/_sim/reset');
}

async function simKnobs(knobs) {
  const res = await fetch(`${SIM_URL}/_sim/knobs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(knobs),
  });
  assert.equal(res.status, 200, `/_sim/knobs ${JSON.stringify(knobs)}: ${await res.text()}`);
}

// One request line to with_stack's control socket; resolves with its one-line answer.
function stackControl(line) {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(STACK_CONTROL);
    let answer = '';
    sock.setEncoding('utf8');
    sock.setTimeout(120_000, () => sock.destroy(new Error(`no answer from ${STACK_CONTROL} to: ${line}`)));
    sock.on('connect', () => sock.write(`${line}\n`));
    sock.on('data', (d) => (answer += d));
    sock.on('end', () => resolve(answer.trim()));
    sock.on('error', reject);
  });
}

// amo-connect restarted with these variables on top of the stack's environment ({}: as started).
async function restartServer(env = {}) {
  const line = ['restart-server', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(' ');
  assert.equal(await stackControl(line), 'ok', `with_stack: ${line}`);
}

// Runs before any script of every document (main world). CSP does not apply to it.
const INIT_SCRIPT = `(() => {
  const report = (kind, data) => {
    try { if (typeof window.__amoReport === 'function') window.__amoReport(kind, data); } catch (e) {}
  };
  const opened = [];
  Object.defineProperty(window, '__opened', { value: opened, writable: false, configurable: false });
  const open = function open(url, target) {
    const entry = [String(url), target === undefined ? undefined : String(target)];
    opened.push(entry);
    return null;  // recorded only: no navigation, no new window
  };
  window.open = open;
  const violations = [];
  Object.defineProperty(window, '__cspViolations', { value: violations, writable: false, configurable: false });
  document.addEventListener('securitypolicyviolation', (e) => {
    const v = {
      directive: e.effectiveDirective || e.violatedDirective,
      blockedURI: e.blockedURI,
      sample: e.sample,
      sourceFile: e.sourceFile,
      line: e.lineNumber,
      disposition: e.disposition,
      documentURI: e.documentURI,
    };
    violations.push(v);
    report('csp', v);
  }, true);
})();`;

// A fresh Chromium (own new user data dir) with a phone-sized mobile context, and monitors.
async function openPhone({ acceptLanguage } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'amo-browser-profile-'));
  // Playwright sends the locale as Accept-Language (it wins over extraHTTPHeaders), so the
  // two are kept the same.
  const locale = acceptLanguage || 'en-US';
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROME_ARGS,
    timeout: 60_000,
    viewport: { width: 390, height: 844 },
    screen: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale,
    extraHTTPHeaders: acceptLanguage ? { 'Accept-Language': acceptLanguage } : undefined,
  });
  context.setDefaultTimeout(20_000);
  context.setDefaultNavigationTimeout(30_000);

  const mon = {
    consoleErrors: [],
    pageErrors: [],
    csp: [],
    dialogs: [],
    navigations: [],
    documents: [], // main-frame document responses
  };
  await context.exposeBinding('__amoReport', (source, kind, data) => {
    if (kind === 'csp') mon.csp.push(`securitypolicyviolation ${JSON.stringify(data)}`);
  });
  await context.addInitScript({ content: INIT_SCRIPT });

  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    const loc = m.location();
    const where = loc && loc.url ? ` @ ${loc.url}` : '';
    if (m.type() === 'error') mon.consoleErrors.push({ text: m.text(), url: loc && loc.url, line: `${m.text()}${where}` });
    if (/content.security.policy/i.test(m.text())) mon.csp.push(`console ${m.type()}: ${m.text()}${where}`);
  });
  page.on('pageerror', (e) => mon.pageErrors.push(String(e && e.stack ? e.stack : e)));
  page.on('dialog', (d) => {
    mon.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) mon.navigations.push(f.url());
  });
  page.on('response', (r) => {
    const req = r.request();
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) mon.documents.push(r);
  });

  const close = async () => {
    await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, page, mon, close };
}

// Chromium logs every non-2xx response as a console error "Failed to load resource: the
// server responded with a status of N (…)". Two such lines are not page errors:
//   - the main document itself, when it is a callback error page: docs/openapi.yaml wants
//     status 400/502 there, and each case asserts that status on the response;
//   - the browser's own /favicon.ico probe (the simulator has no favicon).
// Anything else (a sub-resource failing, a script error, …) still fails the case.
function isExpectedNetworkLog(text, url, mon) {
  const m = /^Failed to load resource: the server responded with a status of (\d+)\b/.exec(text);
  if (!m || !url) return false;
  const status = Number(m[1]);
  let u;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.pathname === '/favicon.ico') return true;
  return (
    (status === 400 || status === 502) &&
    u.pathname.endsWith('/amo-crm/callback') &&
    mon.documents.some((d) => d.url() === url && d.status() === status)
  );
}

// f. of the brief: nothing went wrong in the browser.
function consoleErrors(mon) {
  return mon.consoleErrors.filter((e) => !isExpectedNetworkLog(e.text, e.url, mon)).map((e) => e.line);
}
function ignoredConsoleErrors(mon) {
  return mon.consoleErrors.filter((e) => isExpectedNetworkLog(e.text, e.url, mon)).map((e) => e.line);
}

function assertClean(mon, what) {
  assert.deepEqual(consoleErrors(mon), [], `${what}: console errors`);
  assert.deepEqual(mon.pageErrors, [], `${what}: page errors`);
  assert.deepEqual(mon.csp, [], `${what}: CSP violations`);
  assert.deepEqual(mon.dialogs, [], `${what}: dialogs`);
}

// The last main-frame document response for a callback URL.
function callbackResponse(mon) {
  const r = [...mon.documents].reverse().find((d) => new URL(d.url()).pathname.endsWith('/amo-crm/callback'));
  assert.ok(r, `a callback document response was seen (documents: ${mon.documents.map((d) => d.url()).join(', ')})`);
  return r;
}

async function assertPageHeaders(response, status) {
  assert.equal(response.status(), status, `callback status (${response.url()})`);
  const h = await response.allHeaders();
  const csp = h['content-security-policy'];
  assert.ok(csp, 'Content-Security-Policy header present');
  assert.match(csp, /(^|;)\s*default-src 'none'/, `CSP default-src 'none': ${csp}`);
  const scriptSrc = (csp.split(';').map((s) => s.trim()).find((s) => s.startsWith('script-src ')) ?? '');
  assert.match(scriptSrc, /^script-src 'sha256-[A-Za-z0-9+/]+=*'$/, `CSP script-src is a single hash: ${csp}`);
  assert.match(csp, /frame-ancestors 'none'/, `CSP frame-ancestors 'none': ${csp}`);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, `CSP has no unsafe-*/wildcards: ${csp}`);
  assert.equal(h['x-frame-options'], 'DENY', 'X-Frame-Options');
  assert.match(h['cache-control'] ?? '', /(^|,)\s*no-store\s*(,|$)/, `Cache-Control: ${h['cache-control']}`);
  assert.equal(h['content-type'], 'text/html; charset=utf-8', 'Content-Type');
  assert.equal(h['referrer-policy'], 'no-referrer', 'Referrer-Policy');
  assert.equal(h['x-content-type-options'], 'nosniff', 'X-Content-Type-Options');
  return csp;
}

// Heading / message / prompt / button of a callback page, and its fit on the phone.
async function assertPage(page, { lang, heading, headingClass, message, prompt, button }) {
  assert.equal(await page.getAttribute('html', 'lang'), lang, '<html lang>');
  const status = page.locator('main .status');
  assert.equal((await status.innerText()).trim(), heading, 'heading');
  assert.ok((await status.getAttribute('class')).split(/\s+/).includes(headingClass), `heading has class ${headingClass}`);
  const messages = (await page.locator('main .message').allInnerTexts()).map((s) => s.trim());
  if (message) assert.ok(messages.includes(message), `message "${message}" in ${JSON.stringify(messages)}`);
  assert.ok(messages.includes(prompt), `prompt "${prompt}" in ${JSON.stringify(messages)}`);
  const btn = page.getByRole('button', { name: button, exact: true });
  assert.equal(await btn.count(), 1, `one "${button}" button`);
  assert.ok(await btn.isVisible(), 'button visible');
  assert.equal(await btn.evaluate((b) => b.tagName + '#' + b.id), 'BUTTON#return', 'it is <button id="return">');
  const box = await btn.boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= 390 && box.y >= 0 && box.y + box.height <= 844,
    `button within the 390×844 viewport: ${JSON.stringify(box)}`);
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= 390, `no horizontal scrolling (scrollWidth ${scrollWidth})`);
  // Exactly the one (CSP-hashed) script: nothing injected.
  assert.equal(await page.evaluate(() => document.scripts.length), 1, 'exactly one <script>');
  assert.equal(await page.evaluate(() => document.querySelectorAll('meta[http-equiv]').length), 0, 'no <meta http-equiv> (no refresh)');
  return btn;
}

// Waits, asserting that nothing navigates and nothing is opened on its own.
async function assertNoAutoRedirect(page, mon, ms = 2000) {
  const before = mon.navigations.length;
  const url = page.url();
  await sleep(ms);
  assert.deepEqual(mon.navigations.slice(before), [], `no navigation within ${ms} ms`);
  assert.equal(page.url(), url, 'still on the callback page');
  assert.deepEqual(await page.evaluate(() => window.__opened), [], 'window.open not called on its own');
}

// Taps the button; returns the single link it opened with target '_self'.
async function tapAndGetLink(page, mon, btn) {
  const navBefore = mon.navigations.length;
  const dataLink = await btn.getAttribute('data-link');
  await btn.tap();
  await page.waitForFunction(() => window.__opened.length > 0, null, { timeout: 5000 });
  await sleep(300); // a second call, if any, would show up here
  const opened = await page.evaluate(() => window.__opened);
  assert.equal(opened.length, 1, `window.open called once: ${JSON.stringify(opened)}`);
  const [link, target] = opened[0];
  assert.equal(target, '_self', "window.open target '_self'");
  assert.equal(link, dataLink, 'the opened link is the button data-link');
  assert.deepEqual(mon.navigations.slice(navBefore), [], 'tapping did not navigate (window.open is recorded only)');
  assert.ok(link.startsWith(`${DEEP_LINK}?`), `link starts with ${DEEP_LINK}?: ${link}`);
  return link;
}

// Through the simulator's consent page: auth-url → consent → Allow or Deny → the callback
// page. Returns the state.
async function consentFlow(page, decision) {
  const { url, state } = await authUrl();
  const consent = await page.goto(url);
  assert.equal(consent.status(), 200, 'consent page status');
  await Promise.all([page.waitForURL(/\/amo-crm\/callback\?/), page.locator(`#${decision}`).click()]);
  await page.waitForLoadState('load');
  return state;
}

async function shot(page, name) {
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// ---------------------------------------------------------------------------------------
// Accessibility (axe-core; see AXE_SOURCE for how it gets into the page)
// ---------------------------------------------------------------------------------------
// axe.run over the whole document with axe's default rules: WCAG 2.0/2.1/2.2 A and AA plus
// axe's best practices (AAA and experimental rules are off by default). Returns the
// violations and incomplete results (rule, impact, nodes), the ids of the rules that passed,
// and what the color-contrast rule measured for each text element it checked.
async function axeRun(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(`${AXE_SOURCE}\n;undefined`);
  }
  return page.evaluate(async () => {
    const r = await window.axe.run(document);
    const brief = (list) =>
      list.map((rule) => ({
        id: rule.id,
        impact: rule.impact,
        help: rule.help,
        nodes: rule.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
      }));
    const contrast = [];
    for (const kind of ['passes', 'violations', 'incomplete']) {
      for (const rule of r[kind].filter((x) => x.id === 'color-contrast')) {
        for (const n of rule.nodes) {
          const check = [...n.any, ...n.all, ...n.none].find((c) => c.id === 'color-contrast');
          const d = (check && check.data) || {};
          contrast.push({ kind, target: n.target.join(' '), fg: d.fgColor, bg: d.bgColor, ratio: d.contrastRatio, fontSize: d.fontSize, fontWeight: d.fontWeight });
        }
      }
    }
    contrast.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
    return { violations: brief(r.violations), incomplete: brief(r.incomplete), passes: r.passes.map((x) => x.id), contrast };
  });
}

const LANGS = ['en', 'uk', 'ru'];
// Every page the callback renders (render/pages.cpp: the success page and one per error code).
const CALLBACK_PAGES = ['success', 'access_denied', 'missing_code', 'invalid_state', 'invalid_client',
  'invalid_referer', 'account_not_allowed', 'exchange_failed'];
// What the color-contrast rule must measure on every page: "fg on bg ratio" (axe cuts the
// WCAG ratio to two decimals, e.g. 5.568… → 5.56). AA wants 4.5 for this text (16–18px,
// weight 500: not "large").
const HEADING_CONTRAST = { success: '#2e7d32 on #ffffff 5.12', error: '#c62828 on #ffffff 5.62' };
const MESSAGE_CONTRAST = '#666666 on #ffffff 5.74';
const BUTTON_CONTRAST = '#0066cc on #ffffff 5.56';

const audited = []; // "page/lang" of every callback page that passed assertAccessible in i and j

// Audits the page in front of `page`; fails on any violation, on anything axe could not decide,
// and unless the contrast of exactly the page's four text elements was measured as designed.
async function assertAccessible(page, name, lang) {
  const r = await axeRun(page);
  const n = r.violations.reduce((sum, v) => sum + v.nodes.length, 0);
  console.log(`    axe ${name} (${lang}): ${r.violations.length} violations (${n} nodes), ${r.passes.length} rules passed, ${r.incomplete.length} incomplete`);
  assert.deepEqual(r.violations, [], `axe: no violations on ${name} (${lang})`);
  assert.deepEqual(r.incomplete, [], `axe: nothing left undecided on ${name} (${lang})`);
  const kind = name === 'success' ? 'success' : 'error';
  const measured = r.contrast.map((c) => `${c.kind} ${c.target}: ${c.fg} on ${c.bg} ${c.ratio}`);
  const expected = [
    `passes #return: ${BUTTON_CONTRAST}`, // the button
    `passes h1: ${HEADING_CONTRAST[kind]}`, // the title
    `passes p:nth-child(2): ${MESSAGE_CONTRAST}`, // the explanation
    `passes p:nth-child(3): ${MESSAGE_CONTRAST}`, // the prompt
  ];
  assert.deepEqual(measured, expected, `axe color-contrast on ${name} (${lang})`);
}

// ---------------------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------------------
const results = [];
async function test(name, fn) {
  const t0 = Date.now();
  let phone;
  const open = async (opts) => (phone = await openPhone(opts));
  try {
    await fn(open);
    results.push({ name, ok: true });
    console.log(`PASS ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name} (${Date.now() - t0} ms)`);
    console.log(String(e && e.stack ? e.stack : e).replace(/^/gm, '    '));
    if (phone) {
      const file = `fail-${name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()}.png`;
      try {
        await shot(phone.page, file);
        console.log(`    screenshot: ${path.join(ARTIFACTS, file)}`);
      } catch {}
      console.log(`    navigations: ${JSON.stringify(phone.mon.navigations)}`);
      console.log(`    console errors: ${JSON.stringify(consoleErrors(phone.mon))}`);
      console.log(`    ignored network log lines: ${JSON.stringify(ignoredConsoleErrors(phone.mon))}`);
      console.log(`    page errors: ${JSON.stringify(phone.mon.pageErrors)}`);
      console.log(`    csp: ${JSON.stringify(phone.mon.csp)}`);
    }
  } finally {
    if (phone) await phone.close();
  }
}

console.log(`# browser tests: ${BASE_URL} (sim ${SIM_URL}), deep link ${DEEP_LINK}, chromium ${CHROMIUM}`);
console.log(`# artifacts: ${ARTIFACTS}`);

// ---------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------
await test('a. full flow: auth-url → consent → Allow → success page → Return to App', async (open) => {
  await simReset();
  const before = await api('GET', 'status');
  assert.equal(before.status, 200, `status before: ${JSON.stringify(before.body)}`);
  assert.equal(before.body.data.connected, false, 'not connected before the flow');

  const { url, state } = await authUrl();
  const { page, mon } = await open();

  const consent = await page.goto(url);
  assert.equal(consent.status(), 200, 'consent page status');
  const allow = page.locator('#allow');
  assert.ok(await allow.isVisible(), 'consent page shows Allow');
  await Promise.all([page.waitForURL(/\/amo-crm\/callback\?/), allow.click()]);
  await page.waitForLoadState('load');

  const landed = new URL(page.url());
  assert.equal(landed.origin, BASE_URL, `landed on amo-connect through nginx: ${page.url()}`);
  assert.equal(landed.searchParams.get('state'), state, 'callback carries the state');
  const code = landed.searchParams.get('code');
  assert.ok(code, 'callback carries a code');
  assert.ok(mon.navigations.some((u) => u.startsWith(`${SIM_URL}/oauth?`)), 'the consent page was a real navigation');

  await assertPageHeaders(callbackResponse(mon), 200);
  const btn = await assertPage(page, {
    lang: 'en',
    heading: TEXT.en.success,
    headingClass: 'success',
    message: TEXT.en.successMessage,
    prompt: TEXT.en.prompt,
    button: TEXT.en.button,
  });
  await assertNoAutoRedirect(page, mon, 2000);
  await shot(page, 'success.png');

  const link = await tapAndGetLink(page, mon, btn);
  assert.equal(link, `${DEEP_LINK}?success=true&state=${serverUrlEncode(state)}`, 'success deep link');
  assert.deepEqual(linkParams(link), [['success', 'true'], ['state', state]], 'deep link parameters');
  assert.ok(!link.includes(code) && !/[?&]code=/.test(link), 'the deep link never carries the code');

  const after = await api('GET', 'status');
  assert.equal(after.status, 200, `status after: ${JSON.stringify(after.body)}`);
  assert.equal(after.body.data.connected, true, `connected after the flow: ${JSON.stringify(after.body)}`);
  assert.equal(after.body.data.domain, 'reforyou.amocrm.ru', 'status domain');
  assert.equal(after.body.data.accountId, '31920194', 'status accountId (a string)');

  const c = await simCounters();
  console.log(`    sim counters after the flow: ${JSON.stringify(c)}`);
  assert.equal(c.token_authorization_code, 1, 'exactly one authorization_code exchange');
  assert.equal(c.token_errors, 0, 'no token errors');
  assert.equal(c.consent_pages, 1, 'one consent page');
  assert.equal(c.consent_decisions, 1, 'one consent decision');

  // docs/openapi.yaml: reloading a success page shows success again and does not call amoCRM twice.
  const reloaded = await page.reload();
  await assertPageHeaders(reloaded, 200);
  await assertPage(page, {
    lang: 'en',
    heading: TEXT.en.success,
    headingClass: 'success',
    message: TEXT.en.successMessage,
    prompt: TEXT.en.prompt,
    button: TEXT.en.button,
  });
  const c2 = await simCounters();
  assert.equal(c2.token_authorization_code, 1, 'reload: still exactly one authorization_code exchange');

  assertClean(mon, 'full flow');
});

await test('b. Deny on the consent page → access_denied error page', async (open) => {
  const { url, state } = await authUrl();
  const { page, mon } = await open();
  await page.goto(url);
  // The counters around this case's own Deny, whatever earlier cases did (or failed to do).
  const before = await simCounters();
  await Promise.all([page.waitForURL(/\/amo-crm\/callback\?/), page.locator('#deny').click()]);
  await page.waitForLoadState('load');
  assert.equal(new URL(page.url()).searchParams.get('error'), 'access_denied', 'the simulator sent error=access_denied');

  await assertPageHeaders(callbackResponse(mon), 400);
  const btn = await assertPage(page, {
    lang: 'en',
    heading: TEXT.en.failed,
    headingClass: 'error',
    prompt: TEXT.en.prompt,
    button: TEXT.en.button,
  });
  await assertNoAutoRedirect(page, mon, 1000);
  await shot(page, 'error-denied.png');
  const link = await tapAndGetLink(page, mon, btn);
  assert.equal(link, `${DEEP_LINK}?error=access_denied&state=${serverUrlEncode(state)}`, 'access_denied deep link');

  const after = await simCounters();
  assert.equal(after.consent_decisions, before.consent_decisions + 1, 'Deny: the simulator took exactly this decision');
  assert.equal(after.token_authorization_code, before.token_authorization_code, 'Deny: no token exchange');
  assert.equal(after.token_errors, before.token_errors, 'Deny: no rejected token request');
  assertClean(mon, 'deny');
});

await test('c. missing code → missing_code error page', async (open) => {
  const { page, mon } = await open();
  const res = await page.goto(`${BASE_URL}/api/amo-crm/callback?state=x`);
  await assertPageHeaders(res, 400);
  const btn = await assertPage(page, {
    lang: 'en',
    heading: TEXT.en.missing,
    headingClass: 'error',
    prompt: TEXT.en.prompt,
    button: TEXT.en.button,
  });
  await assertNoAutoRedirect(page, mon, 500);
  await shot(page, 'error-missing-code.png');
  const link = await tapAndGetLink(page, mon, btn);
  assert.equal(link, `${DEEP_LINK}?error=missing_code&state=x`, 'missing_code deep link');
  assertClean(mon, 'missing code');
});

const HOSTILE = [
  ['script', '"><script>window.__pwned=1</script>'],
  ['js-string', "'-alert(1)-'"],
  ['attribute', '" autofocus onfocus="alert(1)" x="'],
];
for (const [label, hostile] of HOSTILE) {
  await test(`d. hostile state (${label}) → invalid_state page, nothing injected`, async (open) => {
    const { page, mon } = await open();
    const before = await simCounters();
    const res = await page.goto(`${BASE_URL}/api/amo-crm/callback?code=abc&state=${encodeURIComponent(hostile)}`);
    await assertPageHeaders(res, 400);
    const btn = await assertPage(page, {
      lang: 'en',
      heading: TEXT.en.failed,
      headingClass: 'error',
      prompt: TEXT.en.prompt,
      button: TEXT.en.button,
    });
    await sleep(500);
    assert.equal(await page.evaluate(() => typeof window.__pwned), 'undefined', 'window.__pwned is undefined');
    assert.deepEqual(mon.dialogs, [], 'no dialog');
    const attrs = await btn.evaluate((b) => b.getAttributeNames().sort());
    assert.deepEqual(attrs, ['data-link', 'id', 'type'], 'the button has only its own attributes');
    await shot(page, `error-hostile-${label}.png`);
    const link = await tapAndGetLink(page, mon, btn);
    const params = linkParams(link);
    assert.deepEqual(params.map(([k]) => k), ['error', 'state'], `deep link parameters: ${link}`);
    assert.equal(params[0][1], 'invalid_state', 'error=invalid_state');
    assert.equal(params[1][1], hostile, 'the state parameter decodes back to exactly the hostile string');
    assert.equal(link, `${DEEP_LINK}?error=invalid_state&state=${serverUrlEncode(hostile)}`, 'deep link, fully encoded');
    const after = await simCounters();
    assert.equal(after.token_authorization_code, before.token_authorization_code, 'nothing was sent to amoCRM');
    assertClean(mon, `hostile state ${label}`);
  });
}

for (const lang of ['uk', 'ru']) {
  await test(`e. Accept-Language: ${lang} → ${lang === 'uk' ? 'Ukrainian' : 'Russian'} error pages`, async (open) => {
    const { page, mon } = await open({ acceptLanguage: lang });
    const t = TEXT[lang];

    const res = await page.goto(`${BASE_URL}/api/amo-crm/callback?state=x`);
    const sent = await res.request().allHeaders();
    assert.equal(sent['accept-language'], lang, 'the browser sent the Accept-Language');
    await assertPageHeaders(res, 400);
    let btn = await assertPage(page, { lang, heading: t.missing, headingClass: 'error', prompt: t.prompt, button: t.button });
    await shot(page, `error-${lang}.png`);
    let link = await tapAndGetLink(page, mon, btn);
    assert.equal(link, `${DEEP_LINK}?error=missing_code&state=x`, 'missing_code deep link');

    const res2 = await page.goto(`${BASE_URL}/api/v1/integrations/amo-crm/callback?code=abc&state=unknown`);
    await assertPageHeaders(res2, 400);
    btn = await assertPage(page, { lang, heading: t.failed, headingClass: 'error', prompt: t.prompt, button: t.button });
    link = await tapAndGetLink(page, mon, btn);
    assert.equal(link, `${DEEP_LINK}?error=invalid_state&state=unknown`, 'invalid_state deep link');
    assertClean(mon, `language ${lang}`);
  });
}

await test('g. CSP is enforced and violations are detected (self-check of the monitors)', async (open) => {
  const { page, mon } = await open();
  const res = await page.goto(`${BASE_URL}/api/amo-crm/callback?state=x`);
  await assertPageHeaders(res, 400);
  // The page's own script is the one the CSP hash allows.
  const csp = (await res.allHeaders())['content-security-policy'];
  const scriptText = await page.evaluate(() => document.scripts[0].textContent);
  const hash = `'sha256-${createHash('sha256').update(scriptText, 'utf8').digest('base64')}'`;
  assert.ok(csp.includes(`script-src ${hash}`), `CSP script-src lists the page script's hash ${hash}`);
  assertClean(mon, 'before the injection');
  // An inline script added at run time must be refused, and the refusal must be seen.
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = 1;';
    document.body.appendChild(s);
  });
  await page.waitForFunction(() => window.__cspViolations.length > 0, null, { timeout: 5000 });
  await sleep(300);
  assert.equal(await page.evaluate(() => typeof window.__inlineRan), 'undefined', 'the injected inline script did not run');
  assert.ok(mon.csp.length > 0, 'the CSP violation reached the monitor');
  assert.ok(mon.csp.some((m) => m.startsWith('securitypolicyviolation') && m.includes('script-src')),
    `the securitypolicyviolation event (script-src) was reported: ${JSON.stringify(mon.csp)}`);
  assert.ok(mon.csp.some((m) => m.startsWith('console') && /content.security.policy/i.test(m)),
    `the console CSP message was seen: ${JSON.stringify(mon.csp)}`);
});

await test(`h. axe-core ${AXE_VERSION} runs under the page's CSP and catches low contrast (self-check)`, async (open) => {
  const { page, mon } = await open();
  const res = await page.goto(`${BASE_URL}/api/amo-crm/callback?state=x`);
  await assertPageHeaders(res, 400);
  await assertAccessible(page, 'missing_code', 'en');
  // The pre-fix colours, set through the CSSOM (which the CSP allows): the red title and the
  // #007AFF button text must come back as color-contrast violations, with their ratios.
  await page.evaluate(() => {
    document.querySelector('main .status').style.color = '#f44336';
    document.getElementById('return').style.color = '#007AFF';
  });
  const r = await axeRun(page);
  assert.deepEqual(r.violations.map((v) => v.id), ['color-contrast'], `violations: ${JSON.stringify(r.violations)}`);
  assert.deepEqual(
    r.contrast.filter((c) => c.kind === 'violations').map((c) => `${c.target}: ${c.fg} on ${c.bg} ${c.ratio}`),
    ['#return: #007aff on #ffffff 4.01', 'h1: #f44336 on #ffffff 3.68'],
    'the old colours fail with their WCAG ratios',
  );
  assert.equal(await page.evaluate(() => document.scripts.length), 1, 'axe added no <script> to the page');
  assertClean(mon, 'axe self-check');
});

// Every callback page, through the real stack, in one language on the phone.
async function auditCallbackPages(page, mon, lang, names) {
  const direct = {
    missing_code: ['?state=x', 'error=missing_code&state=x'],
    invalid_state: ['?code=abc&state=unknown', 'error=invalid_state&state=unknown'],
    invalid_client: ['?code=abc&state=x&client_id=another-integration', 'error=invalid_client&state=x'],
    invalid_referer: ['?code=abc&state=x&referer=evil.example.com', 'error=invalid_referer&state=x'],
  };
  for (const name of names) {
    let link;
    let status = 400;
    if (name === 'success') {
      const state = await consentFlow(page, 'allow');
      status = 200;
      link = `${DEEP_LINK}?success=true&state=${serverUrlEncode(state)}`;
    } else if (name === 'access_denied') {
      const state = await consentFlow(page, 'deny');
      link = `${DEEP_LINK}?error=access_denied&state=${serverUrlEncode(state)}`;
    } else if (name === 'account_not_allowed') {
      const state = await consentFlow(page, 'allow'); // the server must be restricted to another account
      link = `${DEEP_LINK}?error=account_not_allowed&state=${serverUrlEncode(state)}`;
    } else if (name === 'exchange_failed') {
      // amoCRM rejects the code once: the real way to this page.
      const before = await simCounters();
      await simKnobs({ fail_next: { endpoint: 'token', status: 400, count: 1 } });
      let state;
      try {
        state = await consentFlow(page, 'allow');
      } finally {
        await simKnobs({ fail_next: null });
      }
      const after = await simCounters();
      assert.equal(after.injected_failures, before.injected_failures + 1, 'exchange_failed: the injected token failure was used');
      status = 502;
      link = `${DEEP_LINK}?error=exchange_failed&state=${serverUrlEncode(state)}`;
    } else {
      const [query, linkQuery] = direct[name];
      await page.goto(`${BASE_URL}/api/amo-crm/callback${query}`);
      link = `${DEEP_LINK}?${linkQuery}`;
    }
    const res = callbackResponse(mon);
    assert.equal((await res.request().allHeaders())['accept-language'], lang, `${name}: the browser sent Accept-Language ${lang}`);
    await assertPageHeaders(res, status);
    assert.equal(await page.getAttribute('html', 'lang'), lang, `${name}: <html lang>`);
    assert.equal(await page.getAttribute('#return', 'data-link'), link, `${name}: the page's deep link`);
    await assertAccessible(page, name, lang);
    audited.push(`${name}/${lang}`);
  }
}

const UNRESTRICTED_PAGES = CALLBACK_PAGES.filter((p) => p !== 'account_not_allowed');
for (const lang of LANGS) {
  await test(`i. axe: ${UNRESTRICTED_PAGES.length} callback pages in ${lang}, no violations`, async (open) => {
    const { page, mon } = await open({ acceptLanguage: lang });
    await auditCallbackPages(page, mon, lang, UNRESTRICTED_PAGES);
    assertClean(mon, `axe ${lang}`);
  });
}

await test('j. axe: account_not_allowed (server restricted to another amoCRM account) in en, uk, ru', async (open) => {
  await restartServer({ AMO_ACCOUNT_ID: '1' }); // the simulator's account is 31920194
  try {
    for (const lang of LANGS) {
      const phone = await open({ acceptLanguage: lang });
      await auditCallbackPages(phone.page, phone.mon, lang, ['account_not_allowed']);
      assertClean(phone.mon, `axe account_not_allowed ${lang}`);
      await phone.close();
    }
  } finally {
    await restartServer();
  }
});

await test('k. axe covered every callback page in every language', async () => {
  const want = CALLBACK_PAGES.flatMap((p) => LANGS.map((l) => `${p}/${l}`)).sort();
  assert.deepEqual([...audited].sort(), want, 'pages × languages audited with 0 violations, each once');
  console.log(`    ${want.length} pages × languages (${CALLBACK_PAGES.length} × ${LANGS.length}) audited, 0 violations`);
});

// ---------------------------------------------------------------------------------------
const failed = results.filter((r) => !r.ok);
console.log(`# ${results.length - failed.length}/${results.length} passed${failed.length ? `; failed: ${failed.map((r) => r.name).join(' | ')}` : ''}`);
console.log(`# screenshots in ${ARTIFACTS}: ${fs.readdirSync(ARTIFACTS).filter((f) => f.endsWith('.png')).sort().join(', ')}`);
process.exit(failed.length ? 1 : 0);
