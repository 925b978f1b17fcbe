import { appendFile, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/logging/logger.js';
import { CONTRACT_VERSION, type BatchJobData } from '../../src/common/queue/contract.js';
import { registryPath } from '../../src/common/registry/registry-file.js';
import { Registry } from '../../src/shipper/registry.js';
import { FileTailer, type TailerOptions } from '../../src/shipper/tailer.js';
import { tempDir } from '../helpers/services.js';

// The tailer in process: real files, an injected clock, and an enqueue that keeps what
// Redis would have been given (the queue itself is tested against Redis elsewhere).

const options: TailerOptions = {
  kind: 'log',
  host: 'h',
  environment: 'test',
  source: 's',
  startAt: 'beginning',
  followSymlinks: false,
  maxLineBytes: 1024 * 1024,
  partialLineTimeoutMs: 5000,
  rotatedGraceMs: 2000,
  multiline: { startPattern: /^\d{4}-\d\d-\d\d /, maxLines: 500, maxBytes: 1024 * 1024, flushTimeoutMs: 1000 },
  batch: { maxRecords: 1000, maxBytes: 1024 * 1024, lingerMs: 100 },
};

const line = (i: number) => `2026-12-02 10:00:00,000 - carbon - INFO - line ${i}\n`;

describe('FileTailer in process', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  async function setup(opts: Partial<TailerOptions> = {}) {
    const dir = await tempDir('tailer');
    dirs.push(dir);
    const clock = { now: 1_000_000 };
    const { registry } = await Registry.open(dir, () => clock.now);
    const batches: { batch: BatchJobData; text: string }[] = [];
    const enqueue = async (batch: BatchJobData, payload: Buffer[] = []) => {
      batches.push({ batch, text: Buffer.concat(payload).toString() });
      return batch.endOffset;
    };
    const path = join(dir, 'carbon.log');
    const tailer = new FileTailer(path, { ...options, ...opts }, { registry, enqueue, logger: createLogger({ level: 'silent' }), now: () => clock.now });
    const shipped = () => batches.map((b) => b.text).join('');
    return { dir, path, clock, registry, tailer, batches, shipped };
  }

  it('ships complete lines when the batch has lingered, and moves the registry with Redis', async () => {
    const { path, clock, registry, tailer, batches, shipped } = await setup();
    await writeFile(path, `${line(1) + line(2)}2026-12-02 partial`);
    await tailer.poll();
    expect(batches).toHaveLength(0);
    clock.now += 100;
    await tailer.poll();
    expect(shipped()).toBe(line(1));
    // The last complete event waits for the next start (or the multiline timeout); the partial line for its newline.
    clock.now += 1000;
    await tailer.poll();
    expect(shipped()).toBe(line(1));
    clock.now += 100;
    await tailer.poll();
    expect(shipped()).toBe(line(1) + line(2));
    const [, entry] = registry.byPath(path)[0]!;
    expect(entry!.offset).toBe(Buffer.byteLength(line(1) + line(2)));
    await tailer.close();
  });

  it('reads a rotated-away file to its end while following its successor, each once', async () => {
    const { path, clock, tailer, batches } = await setup();
    await writeFile(path, line(1));
    await tailer.poll();
    await rename(path, `${path}.1`);
    // The writer adds to the old file after the rename, then reopens the path.
    await appendFile(`${path}.1`, line(2));
    await writeFile(path, line(3));
    for (let i = 0; i < 10; i++) {
      clock.now += 500;
      await tailer.poll();
    }
    const byFile = new Map<string, string>();
    for (const b of batches) byFile.set(b.batch.fileId, (byFile.get(b.batch.fileId) ?? '') + b.text);
    expect([...byFile.values()].sort()).toEqual([line(1) + line(2), line(3)]);
    await tailer.close();
  });

  it('reads a truncated file (copytruncate) again from 0 under a new identity', async () => {
    const { path, clock, tailer, batches } = await setup();
    await writeFile(path, line(1) + line(2));
    for (let i = 0; i < 3; i++) {
      clock.now += 1000;
      await tailer.poll();
    }
    await truncate(path, 0);
    await writeFile(path, line(3));
    for (let i = 0; i < 5; i++) {
      clock.now += 1000;
      await tailer.poll();
    }
    expect(batches.map((b) => b.text).join('')).toBe(line(1) + line(2) + line(3));
    expect(new Set(batches.map((b) => b.batch.fileId)).size).toBe(2);
    await tailer.close();
  });

  it('resumes from the registry offset in a new tailer, and starts a never-seen file at its end with startAt: end', async () => {
    const first = await setup();
    await writeFile(first.path, line(1));
    first.clock.now += 2000;
    await first.tailer.poll();
    first.clock.now += 2000;
    await first.tailer.poll();
    await first.tailer.close();
    await appendFile(first.path, line(2) + line(3));
    const again = new FileTailer(
      first.path,
      { ...options, startAt: 'end' },
      {
        registry: first.registry,
        logger: createLogger({ level: 'silent' }),
        now: () => first.clock.now,
        enqueue: async (batch, payload = []) => {
          first.batches.push({ batch, text: Buffer.concat(payload).toString() });
          return batch.endOffset;
        },
      },
    );
    for (let i = 0; i < 3; i++) {
      first.clock.now += 2000;
      await again.poll();
    }
    expect(first.shipped()).toBe(line(1) + line(2) + line(3));
    await again.close();

    const fresh = await setup({ startAt: 'end' });
    await writeFile(fresh.path, line(1));
    await fresh.tailer.poll();
    await appendFile(fresh.path, line(2));
    for (let i = 0; i < 3; i++) {
      fresh.clock.now += 2000;
      await fresh.tailer.poll();
    }
    expect(fresh.shipped()).toBe(line(2));
    await fresh.tailer.close();
  });

  it('keeps the ids a file was first read with across an upgrade; a file read for the first time gets short ids', async () => {
    const { dir, path, clock, registry, tailer, batches } = await setup();
    await writeFile(path, line(1));
    for (let i = 0; i < 3; i++) {
      clock.now += 2000;
      await tailer.poll();
    }
    await tailer.close();
    expect(batches.map((b) => b.batch.ids)).toEqual(['short']);
    expect(batches[0]!.batch.v).toBe(CONTRACT_VERSION);

    // The same registry as a shipper from before short ids wrote it: no `ids` in the entry.
    await registry.persist();
    const file = registryPath(dir);
    const onDisk = JSON.parse(await readFile(file, 'utf8'));
    for (const entry of Object.values(onDisk.entries) as { ids?: string }[]) delete entry.ids;
    await writeFile(file, JSON.stringify(onDisk));
    const { registry: upgraded } = await Registry.open(dir, () => clock.now);
    const shipped: BatchJobData[] = [];
    const after = new FileTailer(path, options, {
      registry: upgraded,
      logger: createLogger({ level: 'silent' }),
      now: () => clock.now,
      enqueue: async (batch) => {
        shipped.push(batch);
        return batch.endOffset;
      },
    });
    await appendFile(path, line(2));
    for (let i = 0; i < 3; i++) {
      clock.now += 2000;
      await after.poll();
    }
    // Read on under the ids it had: a replay of what the old shipper queued overwrites it.
    expect(shipped.map((b) => [b.records[0]!.offset, b.ids])).toEqual([[Buffer.byteLength(line(1)), undefined]]);
    expect([...upgraded.all().values()][0]!.ids).toBeUndefined();

    await rename(path, `${path}.1`);
    await writeFile(path, line(3));
    for (let i = 0; i < 6; i++) {
      clock.now += 2000;
      await after.poll();
    }
    expect(shipped.map((b) => b.ids)).toEqual([undefined, 'short']);
    await after.close();
  });
});
