#!/usr/bin/env node
// Browser tests of GET …/callback (SPEC §4): a phone-sized headless Chromium goes through the
// amoCRM simulator's consent page and lands on amo-connect's callback page through nginx.
//
// Run by ctest (label "browser") as `with_stack node callback.test.mjs`; with_stack
// (tests/browser/with_stack_main.cpp) starts the stack and exports:
//   BASE_URL, SIM_URL, APP_JWT (user "browser-user"), APP_DEEP_LINK, AMO_STACK_DIR
// Optional: AMO_BROWSER_ARTIFACTS (screenshots; default tests/browser/artifacts),
//           CHROMIUM_PATH (default /usr/bin/chromium).
//
// playwright-core is installed here with `npm ci` (from package-lock.json) when node_modules
// is missing or does not hold the pinned version. No browser is downloaded: the system
// Chromium is used.
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
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------
// Dependencies
// ---------------------------------------------------------------------------------------
function ensureDeps() {
  const pinned = JSON.parse(fs.readFileSync(path.join(HERE, 'package.json'), 'utf8')).dependencies['playwright-core'];
  let installed = null;
  try {
    installed = JSON.parse(
      fs.readFileSync(path.join(HERE, 'node_modules', 'playwright-core', 'package.json'), 'utf8'),
    ).version;
  } catch {
    installed = null;
  }
  if (installed === pinned) return;
  console.log(`# playwright-core ${installed ?? 'missing'} (want ${pinned}): npm ci in ${HERE}`);
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
//   - the main document itself, when it is a callback error page: SPEC §4 wants status 400/502
//     there, and each case asserts that status on the response;
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

async function shot(page, name) {
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
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

  // SPEC: reloading a success page shows success again and does not call amoCRM twice.
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

// ---------------------------------------------------------------------------------------
const failed = results.filter((r) => !r.ok);
console.log(`# ${results.length - failed.length}/${results.length} passed${failed.length ? `; failed: ${failed.map((r) => r.name).join(' | ')}` : ''}`);
console.log(`# screenshots in ${ARTIFACTS}: ${fs.readdirSync(ARTIFACTS).filter((f) => f.endsWith('.png')).sort().join(', ')}`);
process.exit(failed.length ? 1 : 0);
