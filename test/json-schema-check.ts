/**
 * The commands' JSON Schemas (schemas/, README "JSON output") loaded once, and a check that
 * fails with ajv's own words: shared by the tests that read commands' --json output.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'vitest';

export const SCHEMAS = join(import.meta.dirname, '..', 'schemas');
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, validateFormats: false });
for (const f of readdirSync(SCHEMAS)) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')));

export const schema = (name: string) => ajv.getSchema(`https://pagetrack.dev/schemas/${name}.schema.json`)!;

/** Validates `doc` against schemas/NAME.schema.json. */
export function conforms(name: string, doc: unknown): void {
  const v = schema(name);
  expect(v, `schemas/${name}.schema.json`).toBeDefined();
  const ok = v(doc);
  expect(ok ? [] : v.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`), name).toEqual([]);
}
