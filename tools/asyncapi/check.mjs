// Checks docs/asyncapi.yaml (`make asyncapi`):
// 1. parses it with @asyncapi/parser, which validates it against the official AsyncAPI JSON
//    schemas and its rulesets; every diagnostic is printed, errors fail the check;
// 2. validates every message example's payload against that message's own payload schema
//    (the parser does not do this for AsyncAPI 3), with Ajv in strict mode;
// 3. keeps the conventions the Rust example test relies on: each message's `name` is the
//    `action` or `type` constant of its payload, and each message has at least one example.
// Runs offline once `npm ci` has installed the pinned packages.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Parser, DiagnosticSeverity } = require('@asyncapi/parser');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const here = path.dirname(fileURLToPath(import.meta.url));
const file = path.resolve(process.argv[2] ?? path.join(here, '../../docs/asyncapi.yaml'));
const shown = path.relative(process.cwd(), file) || file;

const severityName = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

let failures = 0;
function fail(text) {
  failures += 1;
  console.error(`${shown}: error: ${text}`);
}

// 1. The parser.
const source = await readFile(file, 'utf8');
const parser = new Parser();
const { document, diagnostics } = await parser.parse(source, { source: file });
for (const d of diagnostics) {
  const line = d.range ? d.range.start.line + 1 : 0;
  const where = d.path?.length ? ` at ${d.path.join('.')}` : '';
  const text = `${shown}:${line}: ${severityName[d.severity] ?? d.severity}: ${d.message} [${d.code}]${where}`;
  if (d.severity === DiagnosticSeverity.Error) {
    failures += 1;
    console.error(text);
  } else {
    console.log(text);
  }
}
if (!document) {
  fail('the parser produced no document');
  process.exit(1);
}

// 2 and 3. Examples against their own message's payload schema.
// strictRequired is off for `not: {required: [...]}` (sync: not both cursors); a misspelt
// required name still fails, through the examples.
const ajv = new Ajv({ strict: true, strictRequired: false, allErrors: true, allowUnionTypes: true });
addFormats(ajv);

// The parser annotates schemas with `x-parser-*` keys; they are not JSON Schema keywords.
function withoutParserKeys(node) {
  if (Array.isArray(node)) return node.map(withoutParserKeys);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => !key.startsWith('x-parser-'))
      .map(([key, value]) => [key, withoutParserKeys(value)]),
  );
}

let messages = 0;
let examples = 0;
for (const message of document.allMessages().all()) {
  messages += 1;
  const key = message.id();
  const name = message.name();
  const schema = message.payload()?.json();
  if (!schema) {
    fail(`message ${key} has no payload schema`);
    continue;
  }
  const discriminator = schema.properties?.action?.const ?? schema.properties?.type?.const;
  if (discriminator === undefined) {
    fail(`message ${key}: its payload has neither an \`action\` nor a \`type\` constant`);
  } else if (name !== discriminator) {
    fail(`message ${key}: name ${JSON.stringify(name)} is not its wire name ${JSON.stringify(discriminator)}`);
  }
  let validate;
  try {
    validate = ajv.compile(withoutParserKeys(schema));
  } catch (err) {
    fail(`message ${key}: its payload schema does not compile: ${err.message}`);
    continue;
  }
  const list = message.examples().all();
  if (list.length === 0) fail(`message ${key} has no examples`);
  list.forEach((example, i) => {
    const label = `message ${key}, example ${example.name() ?? i}`;
    if (!example.hasPayload()) {
      fail(`${label} has no payload`);
      return;
    }
    examples += 1;
    if (!validate(example.payload())) {
      for (const e of validate.errors) {
        fail(`${label}: payload${e.instancePath} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
      }
    }
  });
}

if (failures > 0) {
  console.error(`${shown}: ${failures} error(s)`);
  process.exit(1);
}
console.log(`${shown}: valid AsyncAPI ${document.version()}; ${messages} messages, ${examples} examples match their schemas`);
