import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/logging/logger.js';
import type { BatchJobData } from '../../src/common/queue/contract.js';
import { Registry } from '../../src/shipper/registry.js';
import { Shipper } from '../../src/shipper/shipper.js';
import { tempDir, waitFor } from '../helpers/services.js';
import { oneLogConfig } from '../helpers/shipper.js';

// A shipper in process with a poll interval far longer than the test: what it reads
// within the test it read because it was nudged (cli/runtime.ts nudges it when Redis
// becomes ready), not because the interval passed. The enqueue keeps what Redis would
// have been given.

describe('Shipper nudge', () => {
  const dirs: string[] = [];
  const shippers: Shipper[] = [];
  afterEach(async () => {
    for (const s of shippers.splice(0)) await s.stop();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  async function setup() {
    const dir = await tempDir('nudge');
    dirs.push(dir);
    const log = join(dir, 'carbon.log');
    await writeFile(log, 'INFO:a:one\nINFO:a:two\nINFO:a:three\n');
    const config = oneLogConfig(dir, log, 600_000);
    const { registry } = await Registry.open(join(dir, 'data'));
    const batches: BatchJobData[] = [];
    let ready = false;
    const shipper = new Shipper(config, {
      registry,
      source: 's',
      enqueue: async (batch) => {
        batches.push(batch);
        return batch.endOffset;
      },
      backlog: async () => 0,
      redisReady: () => ready,
      logger: createLogger({ level: 'silent' }),
    });
    shippers.push(shipper);
    return { shipper, batches, setReady: () => (ready = true) };
  }

  it('reads as soon as Redis is ready, not a poll interval later', async () => {
    const { shipper, batches, setReady } = await setup();
    await shipper.start();
    // Its first round is finding Redis not ready right now, and the next is ten
    // minutes away: the nudge comes during that round, and must not be lost when the
    // round ends and the shipper goes idle.
    setReady();
    shipper.nudge();
    await waitFor(() => batches.length > 0, 5000, 'a batch after the nudge');
    expect(batches[0]!.endOffset).toBeGreaterThan(0);
  });
});
