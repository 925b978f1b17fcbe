import { appendFileSync, mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { recordingConsumer, startShipperProcess } from '../helpers/shipper.js';

// Rotation while the shipper is stopped: a rotated file that still exists is resumed
// from its offset; one that was rotated and deleted is not read again.

const FAST = 'pollIntervalMs: 50\nrotatedGraceMs: 300\nbatch:\n  lingerMs: 20\n';
let teardown: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of teardown.reverse()) await fn().catch(() => undefined);
  teardown = [];
});

async function setup(label: string) {
  const names = uniqueNames(label);
  const dir = await tempDir(label);
  mkdirSync(join(dir, 'log'));
  const consumer = recordingConsumer(names.queue);
  teardown.push(async () => {
    await consumer.close();
    await cleanup(names, [dir]);
  });
  return { names, dir, log: join(dir, 'log', 'carbon.log'), consumer };
}

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `INFO:restart:line ${from + i}\n`).join('');

describe('rotation while the shipper is stopped', () => {
  it('resumes the rotated file (still on disk) from its offset, then reads the new one', async () => {
    const { names, dir, log, consumer } = await setup('restart');
    writeFileSync(log, lines(0, 100));
    let shipper = await startShipperProcess(names, dir, FAST);
    // Whichever shipper runs when the test ends, stopped even if a wait timed out first.
    teardown.push(async () => void (await shipper.stop()));
    await waitFor(() => consumer.logTexts().length === 100, 15_000, 'the first 100 lines');
    expect(await shipper.stop()).toBe(0);
    appendFileSync(log, lines(100, 150)); // written after the stop, before the rotation
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(150, 200));
    shipper = await startShipperProcess(names, dir, FAST);
    await waitFor(() => consumer.logTexts().length >= 200, 15_000, 'all 200 lines');
    const numbers = consumer.logTexts().map((t) => Number(/line (\d+)$/.exec(t)![1]));
    expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('reads files created and rotated away while it was stopped (found by the chaos run)', async () => {
    const { names, dir, log, consumer } = await setup('restartmany');
    writeFileSync(log, lines(0, 10));
    let shipper = await startShipperProcess(names, dir, FAST);
    // Whichever shipper runs when the test ends, stopped even if a wait timed out first.
    teardown.push(async () => void (await shipper.stop()));
    await waitFor(() => consumer.logTexts().length === 10, 15_000, 'the first 10 lines');
    await shipper.stop();
    // Three rotations while stopped: two files the shipper never saw are now .1 and .2.
    renameSync(log, `${log}.3`);
    writeFileSync(log, lines(10, 40));
    renameSync(log, `${log}.2`);
    writeFileSync(log, lines(40, 70));
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(70, 80));
    // A copy older than the shipper's first start was shipped by what ran before it.
    writeFileSync(`${log}.9`, 'INFO:restart:from before tta-carbon\n');
    utimesSync(`${log}.9`, new Date('2020-01-01'), new Date('2020-01-01'));
    shipper = await startShipperProcess(names, dir, FAST);
    await waitFor(() => consumer.logTexts().length >= 80, 15_000, 'all 80 lines');
    await new Promise((r) => setTimeout(r, 500));
    const numbers = consumer.logTexts().map((t) => Number(/line (\d+)$/.exec(t)?.[1]));
    expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 80 }, (_, i) => i));
  });

  it('does not read again a file rotated and deleted while it was stopped', async () => {
    const { names, dir, log, consumer } = await setup('restartdel');
    writeFileSync(log, lines(0, 50));
    let shipper = await startShipperProcess(names, dir, FAST);
    // Whichever shipper runs when the test ends, stopped even if a wait timed out first.
    teardown.push(async () => void (await shipper.stop()));
    await waitFor(() => consumer.logTexts().length === 50, 15_000, 'the first 50 lines');
    await shipper.stop();
    renameSync(log, `${log}.1`);
    rmSync(`${log}.1`);
    writeFileSync(log, lines(50, 80));
    shipper = await startShipperProcess(names, dir, FAST);
    await waitFor(() => consumer.logTexts().length >= 80, 15_000, 'the new file');
    await new Promise((r) => setTimeout(r, 500));
    const numbers = consumer.logTexts().map((t) => Number(/line (\d+)$/.exec(t)![1]));
    expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 80 }, (_, i) => i));
  });
});
