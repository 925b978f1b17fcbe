import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterDown, clusterGreen, clusterUp, localCluster, nodeKill, nodeUp, type LocalCluster } from '../../src/services/elasticsearch-cluster.js';
import { END_MESSAGE, allMessages, lineWriter, problemsOf, tally } from '../helpers/fleet.js';
import { cleanup, freePort, services, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { runCli } from '../helpers/cli.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Issue #19: a three-node Elasticsearch from the integ-test zip (one replica per shard),
// a shipper and two workers as their own processes, configured with all three nodes
// (ELASTICSEARCH_NODES). While lines are written, the elected master is killed with -9
// and started again later; while it is down, index retention (what the scheduler runs)
// deletes an expired index. Every line must be in Elasticsearch exactly once and the
// cluster green with three nodes again.

const names = uniqueNames('nodeloss');
const LINES = 100_000;
let dir: string;
let cluster: LocalCluster | undefined;
let clusterDir: string | undefined;
const procs: ShipperProcess[] = [];

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  if (cluster) await clusterDown(cluster);
  await cleanup(
    names,
    [dir, clusterDir].filter((d): d is string => d !== undefined),
  );
});

describe('Elasticsearch node loss', () => {
  it('kill -9 of the elected master of three while shipping, then its restart: every line once, green again', async () => {
    dir = await tempDir('nodeloss');
    for (const sub of ['log', 'w1', 'w2']) mkdirSync(join(dir, sub));
    const ports = await Promise.all(Array.from({ length: 3 }, async () => ({ http: await freePort(), transport: await freePort() })));
    // Under the services directory: the nodes run as an unprivileged user, who cannot
    // enter a test's private temporary directory.
    clusterDir = join(services.dir, `test-nodeloss-${process.pid}`);
    cluster = localCluster(services, `tta-nodeloss-${process.pid}`, clusterDir, ports);
    const started = Date.now();
    await clusterUp(cluster);
    const startSeconds = (Date.now() - started) / 1000;
    const es = new Client({ nodes: cluster.urls, maxRetries: 5, requestTimeout: 30_000 });
    const pattern = `${names.indexPrefix}-2*`;
    const count = async (query: Record<string, unknown> = { match_all: {} }) => {
      await es.indices.refresh({ index: pattern, allow_no_indices: true }).catch(() => undefined);
      return (await es.count({ index: pattern, allow_no_indices: true, query }).catch(() => ({ count: -1 }))).count;
    };

    // An index past retention, for the retention run made while a node is down.
    const expired = `${names.indexPrefix}-2020.01.01`;
    await es.indices.create({ index: expired });

    const file = join(dir, 'log', 'carbon.log');
    writeFileSync(file, '');
    const env = { ELASTICSEARCH_NODES: cluster.urls.join(',') };
    procs.push(await startCliProcess('shipper', names, dir, 'pollIntervalMs: 50\nbatch:\n  lingerMs: 20', env));
    for (const n of [1, 2])
      procs.push(
        await startCliProcess('worker', names, join(dir, `w${n}`), '', { ...env, TTA_LOG_DIR: join(dir, 'log'), TTA_DATA_DIR: join(dir, `w${n}`, 'data') }),
      );
    const writer = lineWriter(file, LINES);

    await waitFor(async () => (await count()) >= 20_000, 120_000, 'the first 20,000 lines');
    const master = (await es.cat.master({ format: 'json' }))[0]!.node!;
    const victim = cluster.nodes.find((n) => n.cluster.nodeName === master)!;
    const before = await count();
    const killedAt = Date.now();
    await nodeKill(victim);
    // Indexing resumed: documents beyond those there at the kill (read through the others).
    await waitFor(async () => (await count()) > before + 1_000, 120_000, 'indexing to resume on the other two nodes', 200);
    const resumeSeconds = (Date.now() - killedAt) / 1000;
    // What the scheduler runs, against the cluster with a node gone.
    // The dead node first in the list: the client's first request goes to it.
    const deadFirst = [victim.url, ...cluster.urls.filter((u) => u !== victim.url)].join(',');
    const retention = await runCli(['retention'], { TTA_ENV: names.environment, ELASTICSEARCH_NODES: deadFirst, ELASTICSEARCH_URL: '' });
    expect(retention.out, retention.out).toContain(`deleted ${expired}`);
    expect(retention.code, retention.out).toBe(0);
    await waitFor(async () => (await count()) >= before + 20_000, 120_000, 'more lines while the node is down', 500);
    await nodeUp(victim);
    const restartedAt = Date.now();
    await writer.done;
    await waitFor(async () => (await count({ match_phrase: { message: END_MESSAGE } })) > 0, 240_000, 'the line after the last', 500).catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${await count()} indexed\n${procs.map((p) => problemsOf(p.output())).join('\n')}`);
    });
    await clusterGreen(cluster, 240_000);
    const greenSeconds = (Date.now() - restartedAt) / 1000;
    const t = tally(await allMessages(es, pattern), LINES);
    const health = await es.cluster.health();
    const expiredLeft = await es.indices.exists({ index: expired });
    await es.close();
    console.log(
      `elasticsearch node loss: cluster of 3 up in ${startSeconds.toFixed(0)} s; master ${master} killed at ${before} documents; indexing resumed after ${resumeSeconds.toFixed(1)} s; ` +
        `restarted, green with ${health.number_of_nodes} nodes ${greenSeconds.toFixed(0)} s later; ${LINES} lines, ${t.documents - 1} documents, ${t.lost} lost, ${t.duplicated} duplicated`,
    );
    expect(t).toEqual({ lost: 0, duplicated: 0, documents: LINES + 1 });
    expect(health.status).toBe('green');
    expect(health.number_of_nodes).toBe(3);
    expect(expiredLeft).toBe(false);
    for (const p of procs) expect(p.child.exitCode).toBeNull();
  }, 600_000);
});
