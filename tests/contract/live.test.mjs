#!/usr/bin/env node
// docs/openapi.yaml as the executable contract (ctest label "contract").
//
// Run by ctest as `with_stack --env AMO_RATE_LIMIT_MAX_WAIT_MS=400 node live.test.mjs`:
// with_stack (tests/browser/with_stack_main.cpp) starts the real stack (PostgreSQL, the
// amoCRM simulator, `amo-connect serve`, nginx with nginx/amo-connect.locations.conf) and
// exports BASE_URL, SIM_URL, AMO_STACK_DIR, JWT_SECRET, AMO_CLIENT_ID, AMO_CLIENT_SECRET,
// DATABASE_URL and AMO_HTTP_TIMEOUT_MS. This script also starts a second nginx with the
// production site nginx/amo-connect.conf (TLS with a throwaway certificate, its per-address
// rate limits) in front of the same service.
//
// Every scenario drives one operation to one documented status — amoCRM failures through
// the simulator's /_sim knobs, the database by stopping PostgreSQL, the service's absence
// by moving its socket away from nginx — and validates the real answer against the
// document: the status must be documented for the operation, the content type must be one
// the response lists, the body must match its schema (error codes are enumerated per
// response), and every required header (X-Request-Id, Retry-After, WWW-Authenticate,
// ETag, Cache-Control) must be there and match its schema. Each scenario also states the
// status (and error code) it expects. At the end every documented operation × status must
// have been produced by a passing scenario.
//
// Output: PASS/FAIL per scenario, the operation × status matrix, "N passed, M failed".
// Exit status 1 on any failure.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { ensureDeps, HERE } from './deps.mjs';

ensureDeps();
const { Validator } = await import('@seriousme/openapi-schema-validator');
const { default: Ajv } = await import('ajv');
const { default: addFormats } = await import('ajv-formats');

const ROOT = path.resolve(HERE, '../..');
const DOC = path.join(ROOT, 'docs/openapi.yaml');

// What with_stack exports; all of it is needed.
const NEEDED = ['BASE_URL', 'SIM_URL', 'AMO_STACK_DIR', 'JWT_SECRET', 'AMO_CLIENT_ID', 'AMO_CLIENT_SECRET', 'DATABASE_URL', 'AMO_HTTP_TIMEOUT_MS'];
const unset = NEEDED.filter((n) => !process.env[n]);
if (unset.length) {
  console.log(`FAIL environment: ${unset.join(', ')} not set (run through with_stack)`);
  process.exit(1);
}
const E = process.env;
const BASE = E.BASE_URL.replace(/\/+$/, '');
const SIM = E.SIM_URL.replace(/\/+$/, '');
const STACK_DIR = E.AMO_STACK_DIR;
const JWT_SECRET = E.JWT_SECRET;
const CLIENT_ID = E.AMO_CLIENT_ID;
const CLIENT_SECRET = E.AMO_CLIENT_SECRET;
const DATABASE_URL = E.DATABASE_URL;
const AMO_TIMEOUT_MS = Number(E.AMO_HTTP_TIMEOUT_MS);
const PREFIXES = ['/api/amo-crm', '/api/v1/integrations/amo-crm'];
const SIM_ACCOUNT_ID = '31920194'; // tools/amo-sim default (SIM_ACCOUNT_ID)

// ---------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------
const validator = new Validator();
const docCheck = await validator.validate(DOC);
if (!docCheck.valid) {
  console.log(`FAIL ${DOC} is not a valid OpenAPI document: ${JSON.stringify(docCheck.errors).slice(0, 2000)}`);
  process.exit(1);
}
const spec = validator.resolveRefs();
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const compiled = new WeakMap();
function schemaCheck(schema, value) {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  if (fn(value)) return [];
  return fn.errors.map((e) => `${e.instancePath || '/'} ${e.message}${e.params?.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`);
}

const operations = new Map(); // operationId → {id, method, path, responses}
for (const [p, item] of Object.entries(spec.paths)) {
  for (const [method, op] of Object.entries(item)) {
    if (!['get', 'post', 'put', 'delete', 'patch', 'head', 'options', 'trace'].includes(method)) continue;
    operations.set(op.operationId, { id: op.operationId, method: method.toUpperCase(), path: p, responses: op.responses });
  }
}
const documentedMethods = (p) =>
  Object.keys(spec.paths[p]).filter((m) => m !== 'parameters').map((m) => m.toUpperCase()).sort();

// The documented path of a request path (the second prefix is the same endpoint).
function docPath(urlPath) {
  const p = urlPath.split('?')[0];
  return p.startsWith(`${PREFIXES[1]}/`) ? PREFIXES[0] + p.slice(PREFIXES[1].length) : p;
}

// Problems of an answer against the document; [] when it conforms.
function conformance(op, res) {
  const out = [];
  const doc = op.responses[String(res.status)];
  if (!doc) return [`status ${res.status} is not documented for ${op.id} (documented: ${Object.keys(op.responses).join(', ')})`];
  for (const [name, h] of Object.entries(doc.headers ?? {})) {
    const v = res.headers[name.toLowerCase()];
    if (v === undefined) {
      if (h.required) out.push(`required header ${name} is missing`);
      continue;
    }
    const t = h.schema?.type;
    const value = t === 'integer' || t === 'number' ? (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v) : v;
    for (const e of schemaCheck(h.schema ?? {}, value)) out.push(`header ${name}: ${JSON.stringify(v)} ${e}`);
  }
  const ct = (res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!doc.content) {
    if (res.body.length) out.push(`no body is documented, got ${res.body.length} bytes (${ct})`);
    return out;
  }
  const media = doc.content[ct];
  if (!media) {
    out.push(`content type ${JSON.stringify(ct)} is not documented (documented: ${Object.keys(doc.content).join(', ')}); body ${res.body.slice(0, 200)}`);
    return out;
  }
  let value = res.body;
  if (ct === 'application/json') {
    try {
      value = JSON.parse(res.body);
    } catch {
      out.push(`body is not JSON: ${res.body.slice(0, 200)}`);
      return out;
    }
  }
  for (const e of schemaCheck(media.schema ?? {}, value)) out.push(`body ${e}`);
  if (out.length && ct === 'application/json') out.push(`body was ${res.body.slice(0, 300)}`);
  return out;
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------
function request(method, url, { headers = {}, body, localAddress, timeoutMs = 60000 } = {}) {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  const payload = body === undefined ? undefined : Buffer.from(body);
  const h = { ...headers };
  if (payload) h['Content-Length'] = String(payload.length);
  return new Promise((resolve) => {
    const req = lib.request(
      u,
      { method, headers: h, localAddress, rejectUnauthorized: false, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', (e) => resolve({ status: 0, headers: {}, body: '', error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ status: 0, headers: {}, body: '', error: e.message }));
    if (payload) req.write(payload);
    req.end();
  });
}
const json = (r) => {
  try {
    return JSON.parse(r.body);
  } catch {
    return undefined;
  }
};
const errCode = (r) => json(r)?.error?.code;
const JSON_CT = { 'Content-Type': 'application/json' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value (at most `ms`); returns that value or null.
async function until(fn, ms = 20000, step = 100) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return null;
    await sleep(step);
  }
}

let prefixTurn = 0;
// An API URL, alternating between the two prefixes.
const api = (suffix) => `${BASE}${PREFIXES[prefixTurn++ % 2]}${suffix}`;

const b64url = (b) => Buffer.from(b).toString('base64url');
function jwt(claims, { secret = JWT_SECRET, alg = 'HS256' } = {}) {
  const head = b64url(JSON.stringify({ alg, typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  if (alg === 'none') return `${head}.${body}.`;
  const h = alg === 'HS512' ? 'sha512' : 'sha256';
  const sig = crypto.createHmac(h, secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}
const now = () => Math.floor(Date.now() / 1000);
const bearer = (user, extra = {}) => ({ Authorization: `Bearer ${jwt({ sub: user, exp: now() + 3600, ...extra })}` });
let userSeq = 0;
const newUser = (tag) => `contract-${tag}-${process.pid}-${++userSeq}`;

// ---------------------------------------------------------------------------------------
// The simulator and the stack
// ---------------------------------------------------------------------------------------
async function sim(p, body = {}) {
  const r = await request('POST', `${SIM}${p}`, { headers: JSON_CT, body: JSON.stringify(body) });
  if (r.status !== 200) throw new Error(`simulator ${p} → ${r.status} ${r.body}`);
  return json(r);
}
const knobs = (k) => sim('/_sim/knobs', k);
// amoCRM requests the simulator has handled (its counters move after the injected latency).
async function amoCalls() {
  const c = json(await request('GET', `${SIM}/_sim/counters`));
  return c.token_authorization_code + c.token_refresh_token + c.account + c.leads + c.pipelines + c.exchange_api_key;
}
// amoCRM slower than AMO_HTTP_TIMEOUT_MS. The simulator goes on with the request after the
// service gave up; calm() waits for it, so it cannot take a later scenario's fail_next.
let slowBaseline = null;
async function slow() {
  slowBaseline = await amoCalls();
  await knobs({ latency_ms: AMO_TIMEOUT_MS + 1500 });
}
async function calm() {
  await knobs({ fail_next: null, latency_ms: 0, empty_leads: false });
  if (slowBaseline !== null) {
    const before = slowBaseline;
    slowBaseline = null;
    if (!(await until(async () => (await amoCalls()) > before, 30000))) throw new Error('the simulator never finished the slow request');
  }
}
const failNext = (endpoint, status, count = 1, extra = {}) => knobs({ fail_next: { endpoint, status, count, ...extra } });

async function authState(user) {
  const r = await request('GET', api('/auth-url'), { headers: bearer(user) });
  if (r.status !== 200) throw new Error(`auth-url for ${user} → ${r.status} ${r.body}`);
  return json(r).data.state;
}
function callbackUrl({ code, state, referer, clientId = CLIENT_ID, extra = '' }) {
  const q = new URLSearchParams();
  if (code !== undefined) q.set('code', code);
  if (state !== undefined) q.set('state', state);
  if (referer !== undefined) q.set('referer', referer);
  if (clientId !== undefined) q.set('client_id', clientId);
  return `${api('/callback')}?${q}${extra}`;
}
// Connects `user` through the real callback.
async function connect(user) {
  const g = await sim('/_sim/issue-code');
  const state = await authState(user);
  const r = await request('GET', callbackUrl({ code: g.code, state, referer: g.referer }));
  if (r.status !== 200) throw new Error(`connecting ${user}: callback → ${r.status} ${r.body.slice(0, 300)}`);
  return user;
}
const signHook = (uuid, account) =>
  crypto.createHmac('sha256', CLIENT_SECRET).update(`${uuid}|${account}`).digest('hex');
const hookUrl = (q) => `${api('/disconnect')}?${new URLSearchParams(q)}`;

const pgDir = new URL(DATABASE_URL.replace(/^postgresql:/, 'http:')).searchParams.get('host');
function devstack(...args) {
  const r = spawnSync('bash', [path.join(ROOT, 'tools/devstack.sh'), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`devstack.sh ${args.join(' ')}: ${r.stdout}${r.stderr}`);
}
// The sockets nginx sends the service's requests to (the upstream of the stack's nginx).
const sockets = [
  ...fs.readFileSync(path.join(STACK_DIR, 'nginx/nginx.conf'), 'utf8').matchAll(/server unix:([^;\s]+);/g),
].map((m) => m[1]);

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------
const results = []; // {op, status, name, ok, problems}
const attempted = new Map(); // "op status" → true (a scenario aimed at it)

// One scenario: `send` makes the request; the answer must conform to the document and have
// the expected status (and error code, content type, headers, body check when given).
async function scenario(opId, expect, name, send) {
  const op = operations.get(opId);
  if (!op) throw new Error(`unknown operationId ${opId}`);
  attempted.set(`${opId} ${expect.status}`, true);
  let res;
  const problems = [];
  try {
    res = await send();
  } catch (e) {
    problems.push(`setup failed: ${e.message}`);
  }
  if (res) {
    if (res.status === 0) problems.push(`no answer: ${res.error}`);
    else {
      if (res.status !== expect.status) problems.push(`expected status ${expect.status}, got ${res.status}${errCode(res) ? ` ${errCode(res)}` : ''}`);
      problems.push(...conformance(op, res));
      if (expect.code && errCode(res) !== expect.code) problems.push(`expected code ${expect.code}, got ${errCode(res) ?? '(none)'}`);
      const ct = (res.headers['content-type'] ?? '').split(';')[0].trim();
      if (expect.type && ct !== expect.type) problems.push(`expected content type ${expect.type}, got ${ct}`);
      for (const [h, re] of Object.entries(expect.headers ?? {})) {
        const v = res.headers[h.toLowerCase()];
        if (v === undefined || !re.test(v)) problems.push(`header ${h}: expected ${re}, got ${v === undefined ? '(missing)' : JSON.stringify(v)}`);
      }
      if (expect.check) {
        const why = expect.check(res);
        if (why) problems.push(why);
      }
    }
  }
  const ok = problems.length === 0;
  results.push({ op: opId, status: expect.status, name, ok, problems });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${opId} ${expect.status}${expect.code ? ` ${expect.code}` : ''}: ${name}`);
  for (const p of problems) console.log(`     - ${p}`);
  return res;
}

// A burst of concurrent requests; passes when at least one answer has the expected status
// and code and every answer conforms. Retried (a bounded number of bursts) until it does.
const burstProblems = [];
async function burst(opId, expect, name, make, { size = 10, tries = 4, after } = {}) {
  burstProblems.length = 0;
  return scenario(opId, { ...expect, check: () => (burstProblems.length ? burstProblems.join('; ') : null) }, name, async () => {
    let last;
    for (let t = 0; t < tries; t++) {
      const answers = await Promise.all(Array.from({ length: size }, (_, i) => make(t, i)));
      if (after) await after();
      // The other answers are other statuses of the same operation: they must conform too.
      const others = answers.filter((r) => r.status !== expect.status).map((r) => [r, conformance(operations.get(opId), r)]);
      for (const [r, problems] of others.filter(([, p]) => p.length).slice(0, 1)) {
        burstProblems.push(`another answer of the burst (${r.status}) does not conform: ${problems.join('; ')}`);
      }
      const hit = answers.find((r) => r.status === expect.status && (!expect.code || errCode(r) === expect.code));
      if (hit) return hit;
      last = answers[answers.length - 1];
    }
    return last;
  });
}

const RETRY = /^\d+$/;
const NO_STORE = /^no-store$/;
const retryAfter = { 'Retry-After': RETRY };
const ALL_OPS = [...operations.keys()];
const JWT_OPS = ALL_OPS.filter((id) => {
  const o = operations.get(id);
  return o.path.startsWith(PREFIXES[0]) && !['oauthCallback', 'disconnectHook'].includes(id);
});
// A request of each operation that passes its own checks (JWT, parameters) when `user` is
// connected — the shape the failure scenarios vary.
function requestOf(id, user, { body, headers = {} } = {}) {
  const o = operations.get(id);
  const suffix = o.path.startsWith(PREFIXES[0]) ? o.path.slice(PREFIXES[0].length) : null;
  const url = suffix === null ? `${BASE}${o.path}` : api(suffix);
  const auth = JWT_OPS.includes(id) ? bearer(user) : {};
  let u = url;
  let b = body;
  let h = { ...auth, ...headers };
  if (id === 'disconnectHook') u = hookUrl({ client_uuid: CLIENT_ID, account_id: '999000111', signature: signHook(CLIENT_ID, '999000111') });
  if (id === 'oauthCallback' && body === undefined) u = `${url}?state=none&code=none`;
  if (b === undefined && id === 'exchangeCode') {
    b = JSON.stringify({ code: `unknown-${user}` });
    h = { ...h, ...JSON_CT };
  }
  if (b === undefined && id === 'exchangeApiKey') {
    b = JSON.stringify({ login: `${user}@example.org`, api_key: 'key' });
    h = { ...h, ...JSON_CT };
  }
  return () => request(o.method, u, { headers: h, body: b });
}

async function main() {
  await calm();

  // -- conventions that belong to no operation: 404, 405, the second prefix ---------------
  {
    const r = await request('GET', `${BASE}${PREFIXES[1]}/no-such-endpoint`);
    const ok = r.status === 404 && errCode(r) === 'not_found' && r.headers['x-request-id'] && /json/.test(r.headers['content-type'] ?? '');
    record('conventions', 404, 'unknown API path → JSON 404 not_found with X-Request-Id', ok, ok ? [] : [`got ${r.status} ${r.body.slice(0, 200)}`]);
    for (const p of Object.keys(spec.paths)) {
      const served = documentedMethods(p);
      const wrong = served.includes('POST') ? 'PUT' : 'DELETE';
      for (const prefix of p.startsWith(PREFIXES[0]) ? PREFIXES : ['']) {
        const url = `${BASE}${prefix ? prefix + p.slice(PREFIXES[0].length) : p}`;
        const w = await request(wrong, url, { headers: bearer('conventions') });
        const allow = (w.headers.allow ?? '').split(',').map((s) => s.trim()).filter((s) => s && s !== 'HEAD').sort();
        const problems = [];
        if (w.status !== 405 || errCode(w) !== 'method_not_allowed') problems.push(`got ${w.status} ${errCode(w) ?? w.body.slice(0, 100)}`);
        if (allow.join() !== served.join()) problems.push(`Allow ${JSON.stringify(w.headers.allow)}, documented methods ${served.join(', ')}`);
        if (!w.headers['x-request-id']) problems.push('no X-Request-Id');
        record('conventions', 405, `${wrong} ${url.slice(BASE.length)} → 405 method_not_allowed, Allow lists the documented methods`, problems.length === 0, problems);
      }
    }
  }

  // -- status -------------------------------------------------------------------------------
  const connected = await connect(newUser('main'));
  await scenario('getStatus', { status: 200, check: (r) => (json(r).data.connected === false ? null : 'a new user is not connected') }, 'a user who never connected', () =>
    request('GET', api('/status'), { headers: bearer(newUser('fresh')) }));
  await scenario('getStatus', { status: 200, check: (r) => (json(r).data.connected === true && json(r).data.accountId === SIM_ACCOUNT_ID ? null : `not connected: ${r.body}`) }, 'a connected user', () =>
    request('GET', api('/status'), { headers: bearer(connected) }));
  await scenario('getStatus', { status: 200 }, 'user id in claim userId (a number)', () =>
    request('GET', api('/status'), { headers: { Authorization: `Bearer ${jwt({ userId: 4711, exp: now() + 60 })}` } }));
  await scenario('getStatus', { status: 200 }, 'user id in claim id; exp 30 s ago is within the 60 s leeway', () =>
    request('GET', api('/status'), { headers: { Authorization: `Bearer ${jwt({ id: 'id-claim-user', exp: now() - 30 })}` } }));
  const unauthorized = { status: 401, code: 'unauthorized', headers: { 'WWW-Authenticate': /^Bearer/ } };
  for (const [name, hdr] of [
    ['no Authorization header', {}],
    ['not a Bearer token', { Authorization: 'Basic dXNlcjpwYXNz' }],
    ['malformed JWT', { Authorization: 'Bearer not.a.jwt' }],
    ['signed with another secret', { Authorization: `Bearer ${jwt({ sub: 'u', exp: now() + 60 }, { secret: 'x'.repeat(40) })}` }],
    ['expired 2 minutes ago (beyond the leeway)', { Authorization: `Bearer ${jwt({ sub: 'u', exp: now() - 120 })}` }],
    ['nbf 2 minutes ahead (beyond the leeway)', { Authorization: `Bearer ${jwt({ sub: 'u', exp: now() + 600, nbf: now() + 120 })}` }],
    ['alg none', { Authorization: `Bearer ${jwt({ sub: 'u', exp: now() + 60 }, { alg: 'none' })}` }],
    ['alg HS512', { Authorization: `Bearer ${jwt({ sub: 'u', exp: now() + 60 }, { alg: 'HS512' })}` }],
    ['no user id claim', { Authorization: `Bearer ${jwt({ exp: now() + 60 })}` }],
  ]) {
    await scenario('getStatus', unauthorized, name, () => request('GET', api('/status'), { headers: hdr }));
  }
  for (const id of JWT_OPS.filter((x) => x !== 'getStatus')) {
    await scenario(id, unauthorized, 'no Authorization header', () => {
      const o = operations.get(id);
      const isPost = o.method === 'POST';
      return request(o.method, api(o.path.slice(PREFIXES[0].length)), isPost && id !== 'disconnect' ? { headers: JSON_CT, body: '{}' } : {});
    });
  }

  // -- the body rule, on every operation ------------------------------------------------------
  const big = JSON.stringify({ pad: 'x'.repeat(70 * 1024) });
  const huge = JSON.stringify({ pad: 'x'.repeat(200 * 1024) });
  for (const id of ALL_OPS) {
    const user = newUser('body');
    await scenario(id, { status: 415, code: 'unsupported_media_type' }, 'a text/plain body', requestOf(id, user, { body: 'hello', headers: { 'Content-Type': 'text/plain' } }));
    await scenario(id, { status: 400, code: 'invalid_json' }, 'a JSON array body', requestOf(id, user, { body: '[1]', headers: JSON_CT }));
    await scenario(id, { status: 413, code: 'payload_too_large' }, 'a 70 KiB JSON body (the service)', requestOf(id, user, { body: big, headers: JSON_CT }));
    if (operations.get(id).path.startsWith(PREFIXES[0]))
      await scenario(id, { status: 413, code: 'payload_too_large' }, 'a 200 KiB JSON body (nginx)', requestOf(id, user, { body: huge, headers: JSON_CT }));
  }
  await scenario('exchangeCode', { status: 400, code: 'invalid_json' }, 'a body that is not JSON', () =>
    request('POST', api('/exchange-code'), { headers: { ...bearer(newUser('x')), ...JSON_CT }, body: 'code=abc' }));
  await scenario('disconnect', { status: 400, code: 'invalid_json' }, 'POST disconnect with a body that is not JSON', () =>
    request('POST', api('/disconnect'), { headers: { ...bearer(newUser('x')), ...JSON_CT }, body: '{"a":' }));

  // -- auth-url ---------------------------------------------------------------------------------
  await scenario('getAuthUrl', {
    status: 200,
    check: (r) => {
      const d = json(r).data;
      const u = new URL(d.url);
      return u.searchParams.get('state') === d.state && u.searchParams.get('client_id') === CLIENT_ID ? null : `url ${d.url} does not carry the state and client_id`;
    },
  }, 'a new state and the consent URL', () => request('GET', api('/auth-url'), { headers: bearer(newUser('auth')) }));

  // -- callback ---------------------------------------------------------------------------------
  {
    const user = newUser('cb');
    const g = await sim('/_sim/issue-code');
    const state = await authState(user);
    const url = callbackUrl({ code: g.code, state, referer: g.referer });
    await scenario('oauthCallback', { status: 200, type: 'text/html', headers: { 'Cache-Control': NO_STORE } }, 'Allow in a browser: the success page', () => request('GET', url));
    await scenario('oauthCallback', { status: 200, type: 'text/html' }, 'the same callback reloaded: success again', () => request('GET', url));
    const s2 = await authState(newUser('cbj'));
    const g2 = await sim('/_sim/issue-code');
    await scenario('oauthCallback', { status: 200, type: 'application/json', headers: { 'Cache-Control': NO_STORE } }, 'from_exchange=1: the JSON answer', () =>
      request('GET', callbackUrl({ code: g2.code, state: s2, referer: g2.referer, extra: '&from_exchange=1' })));
  }
  const cb400 = async (code, name, q, json1 = false) => {
    await scenario('oauthCallback', { status: 400, type: json1 ? 'application/json' : 'text/html', headers: { 'Cache-Control': NO_STORE }, code: json1 ? code : undefined,
      check: (r) => (json1 || r.body.includes(`error=${code}`) ? null : `the page does not link error=${code}`) }, name, async () => request('GET', callbackUrl(await q()) + (json1 ? '&from_exchange=1' : '')));
  };
  await cb400('access_denied', 'Deny: error=access_denied', async () => ({ state: await authState(newUser('cb')), extra: '&error=access_denied' }));
  await cb400('missing_code', 'no code', async () => ({ state: await authState(newUser('cb')) }));
  await cb400('missing_code', 'no code, from_exchange=1', async () => ({ state: await authState(newUser('cb')) }), true);
  await cb400('invalid_state', 'an unknown state', async () => ({ code: (await sim('/_sim/issue-code')).code, state: crypto.randomBytes(16).toString('hex') }));
  await cb400('invalid_state', 'an unknown state, from_exchange=1', async () => ({ code: 'c', state: 'nope' }), true);
  await cb400('invalid_client', 'client_id of another integration', async () => ({ code: 'c', state: await authState(newUser('cb')), clientId: '00000000-0000-4000-8000-000000000000' }));
  await cb400('invalid_referer', 'referer outside AMO_ALLOWED_DOMAINS', async () => ({ code: 'c', state: await authState(newUser('cb')), referer: 'reforyou.amocrm.ru.evil.example.org' }));
  // The deep-link code set and the failure kinds of exchange_failed.
  const cbFail = async (status, name, setup, { jsonMode = false, code = 'exchange_failed', referer } = {}) => {
    const state = await authState(newUser('cbf'));
    const g = await sim('/_sim/issue-code');
    await scenario('oauthCallback', {
      status, code: jsonMode ? code : undefined, type: jsonMode ? 'application/json' : 'text/html',
      headers: { 'Cache-Control': NO_STORE, ...(status === 503 ? retryAfter : {}) },
      check: (r) => (jsonMode || r.body.includes(`error=${code}`) ? null : `the page does not link error=${code}`),
    }, name, async () => {
      await setup();
      try {
        return await request('GET', callbackUrl({ code: g.code, state, referer: referer ?? g.referer }) + (jsonMode ? '&from_exchange=1' : ''));
      } finally {
        await calm();
      }
    });
  };
  {
    const state = await authState(newUser('cbf'));
    await scenario('oauthCallback', { status: 502, type: 'text/html', headers: { 'Cache-Control': NO_STORE } }, 'amoCRM rejects a code it never issued', () =>
      request('GET', callbackUrl({ code: 'never-issued-code', state, referer: 'reforyou.amocrm.ru' })));
  }
  await cbFail(502, 'amoCRM answers the token request with garbage (200, not JSON)', () => failNext('token', 200));
  await cbFail(502, 'amoCRM answers the token request with garbage, from_exchange=1', () => failNext('token', 200), { jsonMode: true });
  await cbFail(503, 'amoCRM token endpoint answers 500 (unavailable)', () => failNext('token', 500));
  await cbFail(503, 'amoCRM token endpoint answers 503, from_exchange=1', () => failNext('token', 503), { jsonMode: true });
  await cbFail(503, 'amoCRM token endpoint answers 429 twice (rate limited)', () => failNext('token', 429, 2));
  await cbFail(504, 'amoCRM does not answer within AMO_HTTP_TIMEOUT_MS', slow);
  await cbFail(504, 'amoCRM times out, from_exchange=1', slow, { jsonMode: true });

  // -- exchange-code ------------------------------------------------------------------------------
  {
    const a = newUser('xa');
    const b = newUser('xb');
    const g = await sim('/_sim/issue-code');
    const post = (user, body) => () => request('POST', api('/exchange-code'), { headers: { ...bearer(user), ...JSON_CT }, body: JSON.stringify(body) });
    await scenario('exchangeCode', { status: 200, check: (r) => (json(r).data.accountId === SIM_ACCOUNT_ID ? null : 'wrong accountId') }, 'a fresh code', post(a, { code: g.code, referer: g.referer }));
    await scenario('exchangeCode', { status: 200 }, 'the same code again by the same user: same answer', post(a, { code: g.code, referer: g.referer }));
    await scenario('exchangeCode', { status: 409, code: 'code_already_used' }, 'the same code by another user', post(b, { code: g.code, referer: g.referer }));
    const g2 = await sim('/_sim/issue-code');
    const stateOfB = await authState(b);
    await scenario('exchangeCode', { status: 403, code: 'forbidden' }, "another user's state", post(a, { code: g2.code, state: stateOfB, referer: g2.referer }));
    await scenario('exchangeCode', { status: 400, code: 'invalid_state' }, 'an unknown state', post(a, { code: g2.code, state: 'no-such-state' }));
    await scenario('exchangeCode', { status: 400, code: 'missing_parameter' }, 'no code', post(a, {}));
    await scenario('exchangeCode', { status: 400, code: 'missing_parameter' }, 'an empty code', post(a, { code: '' }));
    for (const [field, v] of [['code', 5], ['code', null], ['code', ['x']], ['state', 7], ['referer', null]]) {
      const body = { code: 'some-code', [field]: v };
      await scenario('exchangeCode', { status: 400, code: 'invalid_parameter' }, `${field}: ${JSON.stringify(v)}`, post(a, body));
    }
    await scenario('exchangeCode', { status: 400, code: 'invalid_referer' }, 'referer outside AMO_ALLOWED_DOMAINS', post(a, { code: 'c', referer: 'evil.example.org' }));
    await scenario('exchangeCode', { status: 502, code: 'amo_exchange_failed' }, 'amoCRM rejects the code', post(newUser('x'), { code: 'never-issued-code' }));
    const fail = async (status, code, name, setup) => {
      const g3 = await sim('/_sim/issue-code');
      await scenario('exchangeCode', { status, code, headers: status === 503 || status === 429 ? retryAfter : {} }, name, async () => {
        await setup();
        try {
          return await post(newUser('xf'), { code: g3.code, referer: g3.referer })();
        } finally {
          await calm();
        }
      });
    };
    await fail(502, 'amo_bad_response', 'amoCRM answers the token request with garbage', () => failNext('token', 200));
    await fail(502, 'amo_bad_response', 'amoCRM answers the account lookup with garbage', () => failNext('api', 200));
    await fail(503, 'amo_unavailable', 'amoCRM token endpoint answers 500', () => failNext('token', 500));
    await fail(503, 'amo_unavailable', 'amoCRM token endpoint answers 503', () => failNext('token', 503));
    await fail(429, 'amo_rate_limited', 'amoCRM answers 429 twice', () => failNext('token', 429, 2));
    await fail(504, 'amo_timeout', 'amoCRM does not answer in time', slow);
  }

  // -- disconnect (app) and the amoCRM hook ---------------------------------------------------
  {
    const u = await connect(newUser('disc'));
    const post = () => request('POST', api('/disconnect'), { headers: bearer(u) });
    await scenario('disconnect', { status: 200 }, 'a connected user', post);
    await scenario('disconnect', { status: 200, check: (r) => (json(r).data.connected === false ? null : 'connected is not false') }, 'again: idempotent', post);
    await scenario('disconnect', { status: 200 }, 'with an empty JSON object body', () =>
      request('POST', api('/disconnect'), { headers: { ...bearer(u), ...JSON_CT }, body: '{}' }));
  }
  {
    const hook = (q) => () => request('GET', hookUrl(q));
    const other = '999000111';
    await scenario('disconnectHook', { status: 200, check: (r) => (json(r).data.disconnected === 0 ? null : 'expected 0 removed') }, 'a signed hook for an account nobody connected', hook({ client_uuid: CLIENT_ID, account_id: other, signature: signHook(CLIENT_ID, other) }));
    await scenario('disconnectHook', { status: 200 }, 'the signature in upper case', hook({ client_uuid: CLIENT_ID, account_id: other, signature: signHook(CLIENT_ID, other).toUpperCase() }));
    const hookUnauth = { status: 401, code: 'unauthorized' };
    await scenario('disconnectHook', hookUnauth, 'a wrong signature', hook({ client_uuid: CLIENT_ID, account_id: other, signature: '0'.repeat(64) }));
    await scenario('disconnectHook', hookUnauth, 'no signature', hook({ client_uuid: CLIENT_ID, account_id: other }));
    await scenario('disconnectHook', hookUnauth, 'no parameters', () => request('GET', api('/disconnect')));
    const wrongUuid = '00000000-0000-4000-8000-000000000001';
    await scenario('disconnectHook', hookUnauth, 'another client_uuid, signed with our secret', hook({ client_uuid: wrongUuid, account_id: other, signature: signHook(wrongUuid, other) }));
    await scenario('disconnectHook', { status: 400, code: 'invalid_parameter' }, 'a validly signed non-numeric account_id', hook({ client_uuid: CLIENT_ID, account_id: 'abc', signature: signHook(CLIENT_ID, 'abc') }));
  }

  // -- leads, pipelines, test: parameters, answers, amoCRM failures ------------------------------
  const lp = await connect(newUser('crm'));
  const leads = (q = '', user = lp, headers = {}) => () => request('GET', `${api('/leads')}${q}`, { headers: { ...bearer(user), ...headers } });
  const freshOk = (r) => {
    const d = json(r)?.data;
    return d && d.stale === false && !('staleReason' in d) ? null : 'expected stale: false without staleReason';
  };
  const cacheHeaders = { ETag: /./, 'Cache-Control': /^private, no-cache$/ };
  await scenario('listLeads', { status: 200, headers: cacheHeaders, check: freshOk }, 'the first page', leads());
  await scenario('listLeads', { status: 200, check: (r) => (json(r)?.data?.limit === 250 && json(r).data.leads.length === 100 ? null : 'expected limit 250 and all 100 demo leads') }, 'limit=250 with every filter form', leads('?limit=250&page=1&order=id:asc&created_from=2000-01-01T00:00:00Z&created_to=4102444800'));
  await scenario('listLeads', { status: 200 }, 'query of 200 Cyrillic letters (200 code points, 400 bytes)', leads(`?query=${encodeURIComponent('я'.repeat(200))}`));
  await scenario('listLeads', { status: 200, check: (r) => (json(r).data.leads.length === 0 ? null : 'expected no leads') }, 'amoCRM answers 204 (no leads)', async () => {
    await knobs({ empty_leads: true });
    try {
      return await leads('?query=zzzz')();
    } finally {
      await calm();
    }
  });
  for (const q of ['?page=0', '?page=100001', '?page=abc', '?limit=0', '?limit=251', '?pipeline_id=0', '?pipeline_id=1000000000000', '?responsible_user_id=-1',
    '?status_id=142', '?created_from=yesterday', '?created_from=2025-02-31', '?created_from=1737331200&created_to=1737331199', '?order=name', '?order=id:sideways',
    `?query=${encodeURIComponent('я'.repeat(201))}`, `?query=${'a'.repeat(201)}`, '?query=%FF%FE']) {
    await scenario('listLeads', { status: 400, code: 'invalid_parameter' }, `leads${q.length > 60 ? `${q.slice(0, 40)}… (${q.length} chars)` : q}`, leads(q));
  }
  await scenario('listPipelines', { status: 200, headers: cacheHeaders, check: freshOk }, 'the pipelines', () => request('GET', api('/pipelines'), { headers: bearer(lp) }));
  await scenario('testConnection', { status: 200, check: (r) => (json(r).data.accountId === SIM_ACCOUNT_ID ? null : 'wrong accountId') }, 'a connected user', () => request('GET', api('/test'), { headers: bearer(lp) }));
  for (const [id, suffix] of [['listLeads', '/leads'], ['listPipelines', '/pipelines']]) {
    await scenario(id, { status: 304, headers: { ETag: /./ } }, 'If-None-Match with the ETag of the same answer', async () => {
      const first = await request('GET', api(suffix), { headers: bearer(lp) });
      if (!first.headers.etag) throw new Error(`the 200 answer carries no ETag (status ${first.status})`);
      return request('GET', api(suffix), { headers: { ...bearer(lp), 'If-None-Match': first.headers.etag } });
    });
  }

  const crm = [['listLeads', '/leads'], ['listPipelines', '/pipelines'], ['testConnection', '/test']];
  for (const [id, suffix] of crm) {
    const get = (user) => () => request('GET', api(suffix), { headers: bearer(user) });
    await scenario(id, { status: 409, code: 'not_connected' }, 'a user who never connected', get(newUser('nc')));
    {
      const u = await connect(newUser('reauth'));
      await scenario(id, { status: 409, code: 'reauthorization_required' }, 'amoCRM refuses the token, then the refresh (grant revoked)', async () => {
        await failNext('any', 401, 2);
        try {
          return await get(u)();
        } finally {
          await calm();
        }
      });
      await scenario(id, { status: 409, code: 'reauthorization_required' }, 'and stays so without calling amoCRM', get(u));
    }
    const amo = async (status, code, name, setup, extraHeaders = {}) => {
      const u = await connect(newUser('amo'));
      await scenario(id, { status, code, headers: { ...(status === 503 || status === 429 ? retryAfter : {}), ...extraHeaders } }, name, async () => {
        await setup();
        try {
          return await get(u)();
        } finally {
          await calm();
        }
      });
    };
    await amo(403, 'forbidden', 'amoCRM answers 403', () => failNext('api', 403));
    await amo(429, 'amo_rate_limited', 'amoCRM answers 429, and 429 again after one retry', () => failNext('api', 429, 2));
    await amo(502, 'amo_bad_response', 'amoCRM answers 200 with garbage', () => failNext('api', 200));
    await amo(502, 'amo_bad_response', 'amoCRM answers 200 with an HTML page', () => failNext('api', 200, 1, { body: 'html' }));
    await amo(502, 'amo_error', 'amoCRM answers 404', () => failNext('api', 404));
    await amo(502, 'amo_error', 'amoCRM answers 401 again after a token refresh', () => failNext('api', 401, 2));
    await amo(503, 'amo_unavailable', 'amoCRM answers 500', () => failNext('api', 500));
    await amo(503, 'amo_unavailable', 'amoCRM answers 503', () => failNext('api', 503));
    await amo(503, 'amo_unavailable', 'amoCRM answers 502 (HTML)', () => failNext('api', 502, 1, { body: 'html' }));
    await amo(504, 'amo_timeout', 'amoCRM does not answer within AMO_HTTP_TIMEOUT_MS', slow);
    // Our own pacing of one account (AMO_RATE_LIMIT_MAX_WAIT_MS=400 in this stack). Ten
    // users of the account, new ones for every try: identical requests of one user share
    // one amoCRM call, and a user with a stored answer gets it (stale) instead of the 429.
    const pu = await connect(newUser('pace'));
    const batches = [];
    const paceUsers = (t) => (batches[t] ??= (async () => {
      const users = [];
      for (let i = 0; i < 10; i++) users.push(await connect(newUser('pace')));
      return users;
    })());
    await burst(id, { status: 429, code: 'rate_limited', headers: retryAfter }, 'a burst of 10 users of one account: the pacing would wait too long',
      async (t, i) => get((await paceUsers(t))[i])(), { after: () => until(async () => (await get(pu)()).status === 200, 20000, 200) });
  }
  {
    const codes = await Promise.all(Array.from({ length: 10 }, () => sim('/_sim/issue-code')));
    let turn = 0;
    await burst('exchangeCode', { status: 429, code: 'rate_limited', headers: retryAfter }, 'a burst of 10 exchanges for one account: the pacing would wait too long',
      async (t, i) => {
        const g = t === 0 ? codes[i] : await sim('/_sim/issue-code');
        turn++;
        return request('POST', api('/exchange-code'), { headers: { ...bearer(newUser(`xp${turn}`)), ...JSON_CT }, body: JSON.stringify({ code: g.code, referer: g.referer }) });
      }, { after: () => until(async () => (await request('GET', api('/test'), { headers: bearer(lp) })).status === 200, 20000, 200) });
  }

  // -- exchange-api-key ------------------------------------------------------------------------------
  {
    const post = (user, body) => () => request('POST', api('/exchange-api-key'), { headers: { ...bearer(user), ...JSON_CT }, body: JSON.stringify(body) });
    const u = newUser('key');
    const login = `${u}@example.org`;
    await scenario('exchangeApiKey', { status: 202 }, 'login and API key', post(u, { login, api_key: 'valid-key', state: 'app-state' }));
    await scenario('exchangeApiKey', { status: 429, code: 'rate_limited', headers: retryAfter }, 'the same user again within 5 minutes', post(u, { login: `other-${login}`, api_key: 'k' }));
    await scenario('exchangeApiKey', { status: 429, code: 'rate_limited', headers: retryAfter }, 'the same login (other letter case) by another user', post(newUser('key'), { login: login.toUpperCase(), api_key: 'k' }));
    await scenario('exchangeApiKey', { status: 400, code: 'missing_parameter' }, 'no api_key', post(newUser('key'), { login: 'a@example.org' }));
    await scenario('exchangeApiKey', { status: 400, code: 'missing_parameter' }, 'no login', post(newUser('key'), { api_key: 'k' }));
    for (const [field, v] of [['login', 5], ['login', null], ['api_key', null], ['api_key', { k: 1 }]]) {
      const body = { login: `${newUser('kt')}@example.org`, api_key: 'k', [field]: v };
      await scenario('exchangeApiKey', { status: 400, code: 'invalid_parameter' }, `${field}: ${JSON.stringify(v)}`, post(newUser('key'), body));
    }
    const amo = async (status, code, name, apiKey, setup = async () => {}) => {
      const user = newUser('ka');
      await scenario('exchangeApiKey', { status, code, headers: status === 503 || status === 429 ? retryAfter : {} }, name, async () => {
        await setup();
        try {
          return await post(user, { login: `${user}@example.org`, api_key: apiKey })();
        } finally {
          await calm();
        }
      });
    };
    await amo(400, 'invalid_parameter', 'amoCRM answers 400 (login or key not accepted)', 'k', () => failNext('exchange', 400));
    await amo(403, 'forbidden', 'amoCRM answers 403', 'forbidden');
    await amo(429, 'amo_rate_limited', 'amoCRM answers 429', 'ratelimited');
    await amo(502, 'amo_error', 'amoCRM answers 404', 'k', () => failNext('exchange', 404));
    await amo(503, 'amo_unavailable', 'amoCRM answers 500', 'k', () => failNext('exchange', 500));
    await amo(504, 'amo_timeout', 'amoCRM does not answer in time', 'k', slow);
  }

  // -- service endpoints ---------------------------------------------------------------------------------
  await scenario('healthz', { status: 200 }, 'alive', () => request('GET', `${BASE}/healthz`));
  await scenario('readyz', { status: 200 }, 'ready', () => request('GET', `${BASE}/readyz`));
  await scenario('metrics', { status: 200, type: 'text/plain', check: (r) => (r.body.includes('amo_http_requests_total') ? null : 'no amo_http_requests_total') }, 'from 127.0.0.1', () => request('GET', `${BASE}/metrics`));
  await scenario('metrics', { status: 403, code: 'forbidden' }, 'from 127.0.0.2 (not localhost to nginx)', () => request('GET', `${BASE}/metrics`, { localAddress: '127.0.0.2' }));

  // -- the database is down ------------------------------------------------------------------------------------
  {
    const u = await connect(newUser('db'));
    const reqs = {
      getAuthUrl: () => request('GET', api('/auth-url'), { headers: bearer(u) }),
      getStatus: () => request('GET', api('/status'), { headers: bearer(u) }),
      disconnect: () => request('POST', api('/disconnect'), { headers: bearer(newUser('db')) }),
      disconnectHook: requestOf('disconnectHook', u),
      exchangeCode: () => request('POST', api('/exchange-code'), { headers: { ...bearer(u), ...JSON_CT }, body: '{"code":"db-down-code"}' }),
      listLeads: () => request('GET', api('/leads'), { headers: bearer(newUser('db')) }),
      listPipelines: () => request('GET', api('/pipelines'), { headers: bearer(newUser('db')) }),
      testConnection: () => request('GET', api('/test'), { headers: bearer(u) }),
      exchangeApiKey: () => request('POST', api('/exchange-api-key'), { headers: { ...bearer(newUser('db')), ...JSON_CT }, body: JSON.stringify({ login: `${newUser('db')}@example.org`, api_key: 'k' }) }),
      readyz: () => request('GET', `${BASE}/readyz`),
    };
    const cbState = await authState(newUser('db'));
    const cbCode = (await sim('/_sim/issue-code')).code;
    devstack('pg-stop', pgDir);
    try {
      for (const [id, send] of Object.entries(reqs)) {
        await scenario(id, { status: 503, code: 'database_unavailable', headers: retryAfter }, 'PostgreSQL is stopped', send);
      }
      await scenario('oauthCallback', { status: 503, type: 'text/html', headers: { ...retryAfter, 'Cache-Control': NO_STORE },
        check: (r) => (r.body.includes('error=database_unavailable') || r.body.includes('database_unavailable') ? null : 'the page does not name database_unavailable') },
      'PostgreSQL is stopped: the browser page', () => request('GET', callbackUrl({ code: cbCode, state: cbState, referer: 'reforyou.amocrm.ru' })));
      await scenario('oauthCallback', { status: 503, code: 'database_unavailable', type: 'application/json', headers: { ...retryAfter, 'Cache-Control': NO_STORE } },
        'PostgreSQL is stopped: from_exchange=1', () => request('GET', callbackUrl({ code: cbCode, state: cbState, referer: 'reforyou.amocrm.ru', extra: '&from_exchange=1' })));
      await scenario('healthz', { status: 200 }, 'alive while PostgreSQL is stopped', () => request('GET', `${BASE}/healthz`));
    } finally {
      devstack('pg-start', pgDir);
    }
    const back = await until(async () => (await request('GET', `${BASE}/readyz`)).status === 200 && (await request('GET', api('/status'), { headers: bearer(u) })).status === 200, 30000, 200);
    record('stack', 200, 'the service is ready again after PostgreSQL restarted', !!back, back ? [] : ['readyz/status did not come back within 30 s']);
  }

  // -- the service is down: nginx answers ---------------------------------------------------------------
  {
    const u = newUser('down');
    const moved = sockets.map((s) => `${s}.away`);
    sockets.forEach((s, i) => fs.renameSync(s, moved[i]));
    try {
      for (const id of ALL_OPS) {
        await scenario(id, { status: 502, code: 'service_unavailable', headers: retryAfter }, 'the service does not answer (socket gone)', requestOf(id, u));
      }
    } finally {
      moved.forEach((m, i) => fs.renameSync(m, sockets[i]));
    }
    const back = await until(async () => (await request('GET', `${BASE}/healthz`)).status === 200, 20000);
    record('stack', 200, 'nginx reaches the service again', !!back, back ? [] : ['healthz did not come back']);
  }

  // -- the production site (nginx/amo-connect.conf): per-address limits, JSON 404 ---------------------------
  const site = await startProductionSite();
  try {
    await scenario('getStatus', { status: 200 }, 'through the production site (TLS)', () => request('GET', `${site}/api/amo-crm/status`, { headers: bearer(newUser('site')) }));
    {
      const r = await request('GET', `${site}/no/such/path`);
      const ok = r.status === 404 && errCode(r) === 'not_found' && !!r.headers['x-request-id'];
      record('conventions', 404, 'production site: a path outside the API → JSON 404 not_found', ok, ok ? [] : [`got ${r.status} ${r.body.slice(0, 200)}`]);
    }
    for (const [status, code, name, send] of [
      [400, 'bad_request', 'a request with two Host headers', () => raw(site, 'GET /api/amo-crm/status HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')],
      [414, 'uri_too_long', 'a 20 KiB request line', () => request('GET', `${site}/api/amo-crm/leads?query=${'a'.repeat(20 * 1024)}`)],
      [431, 'header_too_large', 'a 20 KiB request header (nginx\'s 494)', () => request('GET', `${site}/api/amo-crm/status`, { headers: { 'X-Big': 'a'.repeat(20 * 1024) } })],
      [501, 'not_implemented', 'an unknown Transfer-Encoding', () => raw(site, 'POST /api/amo-crm/exchange-code HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n')],
    ]) {
      const r = await send();
      const problems = [];
      if (r.status !== status) problems.push(`got status ${r.status}`);
      if (errCode(r) !== code || json(r)?.success !== false || typeof json(r)?.error?.message !== 'string') problems.push(`expected the JSON error envelope with ${code}, got ${r.body.slice(0, 120)}`);
      if (!(r.headers['content-type'] ?? '').startsWith('application/json')) problems.push(`content type ${r.headers['content-type']}`);
      if (!r.headers['x-request-id']) problems.push('no X-Request-Id');
      record('nginx', status, `production site: ${name} → JSON ${status} ${code}`, problems.length === 0, problems);
    }
    const limited = { status: 429, code: 'rate_limited', headers: retryAfter };
    const au = newUser('site');
    await burst('getAuthUrl', limited, 'production site: 40 quick auth-url calls from one address (60/min, burst 30)',
      () => request('GET', `${site}${PREFIXES[1]}/auth-url`, { headers: bearer(au) }), { size: 40, tries: 1 });
    await burst('oauthCallback', limited, 'production site: 70 quick callbacks from one address (120/min, burst 60)',
      () => request('GET', `${site}${PREFIXES[0]}/callback?state=x&code=y`), { size: 70, tries: 1 });
    await burst('exchangeApiKey', limited, 'production site: 14 quick exchange-api-key calls from one address (10/min, burst 10)',
      () => request('POST', `${site}${PREFIXES[0]}/exchange-api-key`, { headers: JSON_CT, body: '{}' }), { size: 14, tries: 1 });
  } finally {
    stopProductionSite();
  }

  // -- last: the hook removes every connection to the simulator's account -------------------------------
  await scenario('disconnectHook', { status: 200, check: (r) => (json(r).data.disconnected >= 1 ? null : `expected at least one removed, got ${r.body}`) },
    "a signed hook for the simulator's account removes its connections", () =>
      request('GET', hookUrl({ client_uuid: CLIENT_ID, account_id: SIM_ACCOUNT_ID, signature: signHook(CLIENT_ID, SIM_ACCOUNT_ID) })));
}

// A check outside the operations (conventions, stack state).
function record(op, status, name, ok, problems) {
  results.push({ op, status, name, ok, problems });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${op} ${status}: ${name}`);
  for (const p of problems) console.log(`     - ${p}`);
}

// ---------------------------------------------------------------------------------------
// The production nginx site in front of the same service
// ---------------------------------------------------------------------------------------
let siteProc = null;
let siteDir = null;
async function startProductionSite() {
  siteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'amo-contract-site-'));
  fs.chmodSync(siteDir, 0o755);
  for (const d of ['log', 'tmp', 'acme']) fs.mkdirSync(path.join(siteDir, d));
  const host = 'amo-connect.example.com';
  const ssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${host}`,
    '-addext', `subjectAltName=DNS:${host}`, '-keyout', `${siteDir}/key.pem`, '-out', `${siteDir}/cert.pem`], { encoding: 'utf8' });
  if (ssl.status !== 0) throw new Error(`openssl: ${ssl.stderr}`);
  const port = await freePort();
  const p80 = await freePort();
  let conf = fs.readFileSync(path.join(ROOT, 'nginx/amo-connect.conf'), 'utf8');
  const subst = [
    [`/etc/letsencrypt/live/${host}/fullchain.pem`, `${siteDir}/cert.pem`],
    [`/etc/letsencrypt/live/${host}/privkey.pem`, `${siteDir}/key.pem`],
    ['include /etc/nginx/snippets/amo-connect.locations.conf;', `include ${ROOT}/nginx/amo-connect.locations.conf;`],
    ['include /etc/nginx/snippets/amo-connect.http.conf;', `include ${ROOT}/nginx/amo-connect.http.conf;`],
    ['/var/log/nginx/', `${siteDir}/log/`],
    ['/var/www/letsencrypt', `${siteDir}/acme`],
  ];
  for (const [a, b] of subst) {
    if (!conf.includes(a)) throw new Error(`nginx/amo-connect.conf no longer contains ${a}`);
    conf = conf.split(a).join(b);
  }
  conf = conf
    .replace(/^(\s*)listen 80;/m, `$1listen 127.0.0.1:${p80};`)
    .replace(/^(\s*)listen 443 ssl( http2)?;/m, `$1listen 127.0.0.1:${port} ssl$2;`)
    .replace(/^\s*listen \[::\].*$/gm, '')
    .replace(/^(\s*)server unix:\/run\/amo-connect\/amo-connect\.sock;/m, sockets.map((s) => `$1server unix:${s};`).join('\n'));
  fs.writeFileSync(path.join(siteDir, 'site.conf'), conf);
  const root = process.getuid?.() === 0 ? 'user root;\n' : '';
  fs.writeFileSync(path.join(siteDir, 'nginx.conf'), `${root}worker_processes 1;
pid ${siteDir}/nginx.pid;
error_log ${siteDir}/log/main-error.log warn;
events { worker_connections 256; }
http {
  client_body_temp_path ${siteDir}/tmp/body;
  fastcgi_temp_path ${siteDir}/tmp/fastcgi;
  proxy_temp_path ${siteDir}/tmp/proxy;
  uwsgi_temp_path ${siteDir}/tmp/uwsgi;
  scgi_temp_path ${siteDir}/tmp/scgi;
  default_type application/octet-stream;
  include ${siteDir}/site.conf;
}
`);
  siteProc = spawn('nginx', ['-p', `${siteDir}/`, '-c', `${siteDir}/nginx.conf`, '-g', 'daemon off;'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `https://127.0.0.1:${port}`;
  const up = await until(async () => (await request('GET', `${url}/healthz`, { timeoutMs: 2000 })).status === 200, 20000);
  if (!up) throw new Error(`the production site did not start: ${fs.readFileSync(`${siteDir}/log/main-error.log`, 'utf8')}`);
  return url;
}
function stopProductionSite() {
  if (siteProc && siteProc.exitCode === null) siteProc.kill('SIGTERM');
  siteProc = null;
}
// A raw HTTP/1.1 request over TLS (for requests node's client refuses to send).
function raw(siteUrl, text) {
  const u = new URL(siteUrl);
  return new Promise((resolve) => {
    const sock = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => sock.end(text));
    const chunks = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e) => resolve({ status: 0, headers: {}, body: '', error: e.message }));
    sock.on('close', () => {
      const all = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = all.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(lines[0].split(' ')[1]) || 0, headers, body: rest.join('\r\n\r\n') });
    });
  });
}
function freePort() {
  return new Promise((resolve, reject) => {
    const s = http.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------
// Run, then the operation × status matrix
// ---------------------------------------------------------------------------------------
let crashed = null;
try {
  await main();
} catch (e) {
  crashed = e;
  console.log(`FAIL the run stopped: ${e.stack}`);
} finally {
  stopProductionSite();
  await calm().catch(() => {});
}
if (siteDir && !crashed) fs.rmSync(siteDir, { recursive: true, force: true });

console.log('\n# operation × documented status: PASS = produced and conforming');
let missing = 0;
for (const [id, op] of operations) {
  const cells = Object.keys(op.responses).map((st) => {
    const rs = results.filter((r) => r.op === id && String(r.status) === st);
    if (!attempted.has(`${id} ${st}`) || rs.length === 0) {
      missing++;
      return `${st} NOT DRIVEN`;
    }
    const bad = rs.filter((r) => !r.ok).length;
    return bad ? `${st} FAIL(${bad}/${rs.length})` : `${st} PASS(${rs.length})`;
  });
  console.log(`${op.method.padEnd(4)} ${op.path.padEnd(32)} ${id.padEnd(16)} ${cells.join('  ')}`);
}
for (const [id, op] of operations) {
  for (const st of Object.keys(op.responses)) {
    if (!results.some((r) => r.op === id && String(r.status) === st && r.ok)) {
      if (!attempted.has(`${id} ${st}`)) console.log(`FAIL ${id} ${st}: documented, but no scenario drives it`);
    }
  }
}
const failed = results.filter((r) => !r.ok).length + missing + (crashed ? 1 : 0);
const passed = results.filter((r) => r.ok).length;
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
