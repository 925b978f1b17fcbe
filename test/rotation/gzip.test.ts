import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipFile } from '../../src/rotation/gzip.js';

describe('gzipFile', () => {
  it('reports its progress through the file it reads, up to the whole of it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tta-gzip-'));
    try {
      const file = join(dir, 'carbon.log.1');
      const content = Buffer.from('2026-12-07 10:00:00,000 - x - INFO - a line of the log\n'.repeat(40_000));
      writeFileSync(file, content);
      const seen: [number, number][] = [];
      const gz = await gzipFile(file, { onProgress: (done, total) => seen.push([done, total]) });
      expect(existsSync(file)).toBe(false);
      expect(gunzipSync(readFileSync(gz)).equals(content)).toBe(true);
      expect(seen.length).toBeGreaterThan(1);
      expect(seen.every(([, total]) => total === content.length)).toBe(true);
      expect(seen.map(([done]) => done)).toEqual([...seen.map(([done]) => done)].sort((a, b) => a - b));
      expect(seen.at(-1)).toEqual([content.length, content.length]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
