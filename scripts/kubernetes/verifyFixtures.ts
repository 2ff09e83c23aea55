/**
 * Checks the decoder against the API server's own round-trip fixtures: k8s.io/api (and
 * apiextensions-apiserver) keep testdata/<release>/<group>.<version>.<Kind>.{pb,json} written by the protobuf
 * and JSON serializers from one object. For every .pb of a kind the descriptor covers, the decoded JSON must
 * equal the .json. Fixtures are not committed; point this at an extracted testdata directory:
 *
 *   node out/scripts/kubernetes/verifyFixtures.js <dir-with-pb-and-json>...
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspectKubernetesValue } from '../../src/etcd/kubernetes/decode';

function firstDifference(actual: unknown, expected: unknown, at = ''): string | undefined {
  try {
    assert.deepStrictEqual(actual, expected);
    return undefined;
  } catch {
    // narrow down below
  }
  if (actual && expected && typeof actual === 'object' && typeof expected === 'object') {
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    for (const k of new Set([...Object.keys(a), ...Object.keys(e)])) {
      const d = firstDifference(a[k], e[k], `${at}.${k}`);
      if (d) return d;
    }
  }
  return `${at}: got ${JSON.stringify(actual)?.slice(0, 120)}, want ${JSON.stringify(expected)?.slice(0, 120)}`;
}

let total = 0;
let equal = 0;
let schemaless = 0;
const failures: string[] = [];
for (const dir of process.argv.slice(2)) {
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.pb'))
    .sort()) {
    const json = path.join(dir, file.replace(/\.pb$/, '.json'));
    if (!fs.existsSync(json)) continue;
    total++;
    let expected: unknown;
    try {
      expected = JSON.parse(fs.readFileSync(json, 'utf8'));
    } catch {
      continue; // a few old fixtures are not valid JSON
    }
    try {
      const info = inspectKubernetesValue(fs.readFileSync(path.join(dir, file)));
      if (!info || info.format !== 'protobuf') throw new Error(`not decoded as protobuf: ${info?.format}`);
      if (info.schemaless) {
        schemaless++;
        failures.push(`${dir}/${file}: no schema`);
        continue;
      }
      const diff = firstDifference(info.object, expected);
      if (diff) failures.push(`${path.basename(dir)}/${file}: ${diff}`);
      else equal++;
    } catch (err) {
      failures.push(`${path.basename(dir)}/${file}: threw ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
for (const f of failures) console.log(f);
console.log(`RESULT ${equal} of ${total} fixtures decode equal to their JSON (${schemaless} without a schema)`);
