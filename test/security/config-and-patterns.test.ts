import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eachBatchRecord } from '../../src/worker/decode/chunk.js';
import { CONTRACT_VERSION, type BatchJobData } from '../../src/common/queue/contract.js';
import { analyseRegex, PROVED_LINEAR, UnsafeRegexError } from '../../src/common/regex/safe-regex.js';
import { DEFAULT_START_PATTERN } from '../../src/common/lines/boundary.js';
import { FORMAT_RULES } from '../../src/worker/sanitize/formats.js';
import { STRING_RULES } from '../../src/worker/sanitize/patterns.js';
import { PROVIDER_RULES } from '../../src/worker/sanitize/providers.js';

// Issue #13: patterns that backtrack catastrophically are refused at load, naming the
// key; config errors print no credential, whatever it holds; prototype keys are
// refused like any unknown key. Through the built CLI, as an operator meets them.

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/tta-carbon.js', ...args], { env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

async function withConfig(yaml: string) {
  const dir = await mkdtemp(join(tmpdir(), 'tta-sec-'));
  const file = join(dir, 'tta.yaml');
  await writeFile(file, yaml);
  return (cmd = 'rotate') => cli(['--config', file, cmd, '--dry-run'], { TTA_DATA_DIR: join(dir, 'data'), TTA_LOG_DIR: join(dir, 'log') });
}

describe('hostile patterns are refused at load', () => {
  it.each([
    ['sanitizer.extraPatterns.0', 'sanitizer:\n  extraPatterns: ["(a+)+b"]\n'],
    ['shipper.multiline.startPattern', "shipper:\n  multiline:\n    startPattern: '^(\\w+\\s?)*:$'\n"],
    ['worker.logPatterns.0', "worker:\n  logPatterns: ['^(?<message>(x|x)*)y$']\n"],
  ])('%s', async (key, yaml) => {
    const r = (await withConfig(yaml))();
    expect(r.code).toBe(2);
    expect(r.out).toContain(`${key}: got`);
    expect(r.out).toMatch(/can backtrack catastrophically \((exponential|\d\w+ degree polynomial)/);
  });

  it('a linear pattern loads', async () => {
    const r = (await withConfig("sanitizer:\n  extraPatterns: ['\\bINTERNAL-[0-9]{6}\\b']\n"))();
    expect(r.code, r.out).toBe(0);
  });

  it('every built-in pattern is proved linear', async () => {
    // A proof, not a budget: each rule gets a minute, since the operator's ten seconds ran
    // out for the longest rule on a loaded CI machine, and "unknown" proves nothing. The
    // analysis is synchronous: the test yields between rules, or vitest's worker, deaf
    // for minutes under load, times out its own calls to the runner.
    const next = () => new Promise((resolve) => setImmediate(resolve));
    for (const rule of [...STRING_RULES, ...FORMAT_RULES, ...PROVIDER_RULES]) {
      expect(analyseRegex(rule.pattern, 'g', 60_000), rule.name).toBeNull();
      await next();
    }
    // Trusted by every process without analysis (PROVED_LINEAR): proved here afresh.
    expect(PROVED_LINEAR.map(([source]) => source)).toContain(DEFAULT_START_PATTERN);
    for (const [source, flags] of PROVED_LINEAR) {
      expect(analyseRegex(source, flags, 60_000), source).toBeNull();
      await next();
    }
  }, 300_000);

  it('the built-in rules together stay linear on 1 MiB of their worst inputs', () => {
    const combined = new RegExp([...STRING_RULES, ...FORMAT_RULES].map((r) => `(${r.pattern})`).join('|'), 'g');
    const time = (s: string) => {
      const t = performance.now();
      s.replace(combined, '');
      return performance.now() - t;
    };
    for (const unit of ['a', 'eyJ-', '-eyJ----J', '_eyJa', 'passphrase', 'a+', '0@0.A.-.A.-.A.A.0.0', 'a_key=', '$1$a', '-u a -p ', 'login a password ']) {
      const small = time(unit.repeat(Math.ceil(131_072 / unit.length)));
      const large = time(unit.repeat(Math.ceil(1_048_576 / unit.length)));
      // Linear: 8x the input, well under 8² the time (with slack for timer noise).
      expect(large, unit).toBeLessThan(Math.max(small * 24, 200));
    }
  });

  it("a batch's own start pattern is checked before a worker runs it", () => {
    const batch: BatchJobData = {
      v: CONTRACT_VERSION,
      kind: 'lines',
      host: 'h',
      path: '/p',
      fileId: 'f',
      endOffset: 4,
      records: [{ offset: 0, end: 4 }],
      grouping: { startPattern: '^(a+)+$', maxLines: 10, maxBytes: 1000 },
    } as BatchJobData;
    expect(() => [...eachBatchRecord(batch, Buffer.from('aaa\n'))]).toThrow(UnsafeRegexError);
  });
});

describe('configuration errors give nothing away', () => {
  it('an invalid URL with a password holding "/" is not printed', () => {
    const r = cli(['rotate', '--dry-run'], { ELASTICSEARCH_URL: 'ftp://elastic:Es/Secret@host', TTA_DATA_DIR: tmpdir() });
    expect(r.code).toBe(2);
    expect(r.out).toContain('ELASTICSEARCH_URL (elasticsearch.url)');
    expect(r.out).not.toContain('Secret');
    expect(r.out).not.toContain('elastic:');
  });

  it.each([
    ['ftp://u:p w@host', 'p w'],
    ['redis-x://u:"q"@host', '"q"'],
  ])('%s', (url, secret) => {
    const r = cli(['rotate', '--dry-run'], { REDIS_URL: url, TTA_DATA_DIR: tmpdir() });
    expect(r.code).toBe(2);
    expect(r.out).not.toContain(secret);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('a %s key is refused like any unknown key', async (key) => {
    const r = (await withConfig(`shipper:\n  ${key}:\n    pollIntervalMs: 1\n`))();
    expect(r.code).toBe(2);
    expect(r.out).toContain(`shipper.${key}: unknown key`);
  });

  it('a top-level __proto__ is refused too', async () => {
    const r = (await withConfig('__proto__:\n  logLevel: debug\n'))();
    expect(r.code).toBe(2);
    expect(r.out).toContain('__proto__: unknown key');
  });
});
