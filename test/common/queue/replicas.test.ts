import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTRACT_VERSION, type BatchJobData } from '../../../src/common/queue/contract.js';
import { BatchQueue, ReplicationError } from '../../../src/common/queue/queue.js';
import { cleanup, freePort, redisClient, services, uniqueNames, waitFor } from '../../helpers/services.js';

// Issue #19: with redis.minReplicas set, a batch counts as queued (and the shipper moves
// its offset) only once a replica has it too. A real replica of the test Redis, started
// here with Debian's redis-server and stopped again.

const names = uniqueNames('replicas');
const redis = redisClient();
const primary = new URL(services.redisUrl);
let replica: ChildProcess | null = null;

async function startReplica(): Promise<void> {
  const port = await freePort();
  replica = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--replicaof',
      primary.hostname,
      primary.port || '6379',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      tmpdir(),
    ],
    { stdio: 'ignore' },
  );
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  client.on('error', () => undefined);
  await waitFor(async () => /master_link_status:up/.test(await client.info('replication').catch(() => '')), 30_000, 'the replica to sync');
  client.disconnect();
}

async function stopReplica(): Promise<void> {
  if (!replica) return;
  const r = replica;
  replica = null;
  r.kill('SIGKILL');
  await new Promise((resolve) => (r.exitCode !== null || r.signalCode !== null ? resolve(null) : r.once('exit', resolve)));
  await waitFor(async () => /connected_slaves:0/.test(await redis.info('replication')), 30_000, 'the primary to see the replica gone');
}

function batch(offset: number): BatchJobData {
  return {
    v: CONTRACT_VERSION,
    kind: 'csv',
    host: 'h',
    path: '/cc/emissions.csv',
    fileId: 'f',
    endOffset: offset + 10,
    records: [{ offset, row: { run_id: 'x' } }],
  };
}

afterAll(async () => {
  await stopReplica();
  await cleanup(names);
});

describe('redis.minReplicas', () => {
  it('a batch is queued only once a replica holds it', async () => {
    const queue = new BatchQueue({ name: names.queue, connection: redis, maxAttempts: 3, backoffMs: 100, minReplicas: 1, replicaTimeoutMs: 500 });
    try {
      await startReplica();
      expect(await queue.add(batch(0))).toBe(10);
      await stopReplica();
      // On the primary only: refused, so the shipper keeps its offset and tries again.
      await expect(queue.add(batch(10))).rejects.toBeInstanceOf(ReplicationError);
      await expect(queue.add(batch(10))).rejects.toThrow(/reached 0 of 1 Redis replicas/);
      // Once a replica is back, the same batch (already on the primary) is confirmed.
      await startReplica();
      expect(await queue.add(batch(10))).toBe(20);
      expect(await queue.queue.getJobCountByTypes('waiting', 'prioritized', 'delayed')).toBe(2);
    } finally {
      await queue.close();
    }
  }, 90_000);
});
