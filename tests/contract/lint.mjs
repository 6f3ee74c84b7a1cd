#!/usr/bin/env node
// `redocly lint` of docs/openapi.yaml with the recommended rules (redocly.yaml here):
// passes only with no error and no warning. Also checks that the document is a valid
// OpenAPI 3.0 description for the validator the live test uses.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensureDeps, HERE } from './deps.mjs';

ensureDeps();
const { Validator } = await import('@seriousme/openapi-schema-validator');

const DOC = path.resolve(process.env.AMO_OPENAPI ?? path.join(HERE, '../../docs/openapi.yaml'));
let failed = 0;

const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
const r = spawnSync(
  process.execPath,
  [path.join(HERE, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', '--config', path.join(HERE, 'redocly.yaml'),
    '--format', 'stylish', '--max-problems', '1000', DOC],
  { cwd: HERE, env, encoding: 'utf8' },
);
// Drop the CLI's boxed Node.js support notice; keep everything it says about the document.
const out = `${r.stdout}${r.stderr}`.split('\n').filter((l) => !/[║╔╚]/.test(l)).join('\n').trim();
console.log(out);
const problems = out.match(/^\s*\d+:\d+\s+(error|warning)\s/gm) ?? [];
if (r.status === 0 && problems.length === 0 && !/warnings?\./.test(out)) {
  console.log('PASS redocly lint (recommended): no errors, no warnings');
} else {
  console.log(`FAIL redocly lint (recommended): exit ${r.status}, ${problems.length} problem(s)`);
  failed++;
}

const v = new Validator();
const res = await v.validate(DOC);
if (res.valid && v.version.startsWith('3.0')) {
  console.log(`PASS ${path.basename(DOC)} is a valid OpenAPI ${v.version} document`);
} else {
  console.log(`FAIL ${path.basename(DOC)} is not a valid OpenAPI 3.0 document: ${JSON.stringify(res.errors).slice(0, 2000)}`);
  failed++;
}
console.log(`${failed === 0 ? 2 : 2 - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
