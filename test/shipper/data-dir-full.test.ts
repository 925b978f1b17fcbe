import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canMount, fill, smallDisk } from '../helpers/disk.js';
import { allMessages, lineWriter, tally } from '../helpers/fleet.js';
import { cleanup, esClient, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Issue #34: the disk under the data dir full (a small tmpfs) mid-run. The registry
// cannot be saved: shipping goes on, the operator is told once (log, /health degraded,
// a counter), the last good registry stays whole on disk, and a restart with room
// again replays from it into the same documents: nothing lost, nothing twice.

let teardown: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of teardown.reverse()) await fn().catch(() => undefined);
  teardown = [];
});

const FAST = 'pollIntervalMs: 50\nbatch:\n  maxRecords: 500\n  lingerMs: 50\n';

function port(p: ShipperProcess): number {
  return Number(/"port":(\d+),"msg":"metrics and health listening"/.exec(p.output())?.[1]);
}

async function indexed(pattern: string): Promise<number> {
  const es = esClient();
  try {
    await es.indices.refresh({ index: pattern }).catch(() => undefined);
    return (await es.count({ index: pattern }).catch(() => ({ count: 0 }))).count;
  } finally {
    await es.close();
  }
}

describe('the disk under the data dir full', () => {
  it.skipIf(!canMount)(
    'shipping goes on, the cause is said, the registry on disk stays whole, a restart loses nothing and duplicates nothing',
    async (ctx) => {
      const disk = await smallDisk('full-data', 4);
      if (!disk) return ctx.skip();
      teardown.push(disk.remove);
      const names = uniqueNames('fulldata');
      teardown.push(() => cleanup(names));
      const dir = disk.dir;
      mkdirSync(join(dir, 'log'));
      const env = { TTA_DATA_DIR: join(disk.root, 'data') };
      const log = join(dir, 'log', 'carbon.log');
      const pattern = `${names.indexPrefix}-2*`;
      let run = await startCliProcess('run', names, dir, FAST, env);
      teardown.push(() => run.stop());

      const before = lineWriter(log, 5_000, { perTick: 500, tickMs: 20 });
      await before.done;
      await waitFor(async () => (await indexed(pattern)) === 5_001, 60_000, 'the first lines indexed', 250);
      const saved = readFileSync(join(disk.root, 'data', 'registry.json'), 'utf8');

      const filler = fill(disk.root);
      for (let n = 0; n < 20_000; n += 1000) appendFileSync(log, Array.from({ length: 1000 }, (_, i) => `INFO:fleet:line ${5_000 + n + i}\n`).join(''));
      await waitFor(async () => (await indexed(pattern)) === 25_001, 60_000, 'every line indexed with the data dir full', 250);
      await waitFor(
        () => /"code":"ENOSPC"[^\n]*"msg":"cannot save the registry; shipping goes on/.test(run.output()),
        10_000,
        'the shipper to say the registry cannot be saved',
      );
      const health = await fetch(`http://127.0.0.1:${port(run)}/health`);
      const body = (await health.json()) as { status: string; degraded?: { registry?: { cause: string } } };
      expect(health.status).toBe(200);
      expect(body.status).toBe('degraded');
      expect(body.degraded?.registry?.cause).toBe('registry_unsaved');
      const metrics = await (await fetch(`http://127.0.0.1:${port(run)}/metrics`)).text();
      expect(metrics).toMatch(/tta_carbon_input_problems_total\{[^}]*kind="registry_write"[^}]*\} [1-9]/);
      expect(run.output().match(/cannot save the registry/g)).toHaveLength(1);

      // Stopped while full: the registry on disk is the last good one, whole, no torn temp.
      await run.stop();
      expect(readFileSync(join(disk.root, 'data', 'registry.json'), 'utf8')).toBe(saved);
      expect(existsSync(join(disk.root, 'data', 'registry.json.tmp'))).toBe(false);

      // Room again: the restart replays from the last good offset into the same documents.
      rmSync(filler);
      run = await startCliProcess('run', names, dir, FAST, env);
      const after = lineWriter(log, 0);
      await after.done;
      await waitFor(async () => (await indexed(pattern)) >= 25_002, 60_000, 'the restart to ship the end line', 250);
      await waitFor(() => readFileSync(join(disk.root, 'data', 'registry.json'), 'utf8') !== saved, 10_000, 'the registry saved again');
      const es = esClient();
      try {
        const got = tally(await allMessages(es, pattern), 25_000);
        // 25,000 numbered lines, each once, and the end line written twice (once per writer).
        expect(got).toEqual({ lost: 0, duplicated: 0, documents: 25_002 });
      } finally {
        await es.close();
      }
      expect(readdirSync(join(disk.root, 'data')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    },
    240_000,
  );
});
