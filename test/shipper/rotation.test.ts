import { appendFileSync, closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { recordingConsumer, startShipperProcess } from '../helpers/shipper.js';

// Rotation storm: a writer appends numbered lines while the file is rotated every
// 0.5 s; the shipper runs as its own process, a consumer records what reaches Redis.

const LINES = 200_000;
const FAST = 'pollIntervalMs: 50\nrotatedGraceMs: 1500\nbatch:\n  maxRecords: 2000\n  lingerMs: 50\n';
let teardown: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const fn of teardown.reverse()) await fn();
  teardown = [];
});

/** A private queue, log dir, recording consumer and shipper process, torn down after. */
async function stormSetup(label: string) {
  const names = uniqueNames(label);
  const dir = await tempDir(label);
  mkdirSync(join(dir, 'log'));
  const consumer = recordingConsumer(names.queue);
  const shipper = await startShipperProcess(names, dir, FAST);
  teardown.push(async () => {
    await shipper.stop();
    await consumer.close();
    await cleanup(names, [dir]);
  });
  return { logFile: join(dir, 'log', 'carbon.log'), consumer };
}

function numbersOf(texts: string[]): number[] {
  return texts.filter((t) => t !== END).map((t) => Number(/^INFO:storm:line (\d+)$/.exec(t)?.[1] ?? -1));
}

const END = 'INFO:storm:end';
/**
 * A last line after the storm, waited for: the shipper reads a file in order, so once it
 * has arrived everything written before it that will ever arrive has (a late duplicate
 * or a rotated copy read again would be in by then).
 */
async function endOfStorm(logFile: string, consumer: { logTexts: () => string[] }): Promise<void> {
  appendFileSync(logFile, `${END}\n`);
  await waitFor(() => consumer.logTexts().includes(END), 60_000, 'the line after the storm', 100);
}

/** Writes LINES numbered lines at a steady pace, calling `rotate` every 0.5 s. */
async function writeStorm(logFile: string, rotate: (fd: number) => number): Promise<number> {
  let fd = openSync(logFile, 'a');
  let rotations = 0;
  let next = 0;
  let lastRotation = Date.now();
  while (next < LINES) {
    const chunk: string[] = [];
    for (let i = 0; i < 250 && next < LINES; i++) chunk.push(`INFO:storm:line ${next++}\n`);
    writeSync(fd, chunk.join(''));
    if (Date.now() - lastRotation >= 500) {
      fd = rotate(fd);
      rotations++;
      lastRotation = Date.now();
    }
    await sleep(10);
  }
  closeSync(fd);
  return rotations;
}

describe('rotation storm', () => {
  it('rename + create every 0.5 s: every line arrives exactly once', async () => {
    const { logFile, consumer } = await stormSetup('storm');
    let k = 0;
    const rotations = await writeStorm(logFile, (fd) => {
      // What logrotate (create) plus a reopening app do: rename, new file, new fd.
      renameSync(logFile, `${logFile}.${++k}`);
      closeSync(fd);
      return openSync(logFile, 'a');
    });
    await waitFor(() => consumer.records().length >= LINES, 60_000, `${LINES} lines to arrive`, 200);
    await endOfStorm(logFile, consumer);
    const seen = numbersOf(consumer.logTexts());
    const counts = new Map<number, number>();
    for (const n of seen) counts.set(n, (counts.get(n) ?? 0) + 1);
    const missing = Array.from({ length: LINES }, (_, i) => i).filter((i) => !counts.has(i));
    const duplicated = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
    expect(rotations).toBeGreaterThanOrEqual(5);
    expect(missing).toEqual([]);
    expect(duplicated).toEqual([]);
    expect(seen).toHaveLength(LINES);
  }, 120_000);

  it('copytruncate every 0.5 s: the loss is only the lines written between copy and truncate', async () => {
    const { logFile, consumer } = await stormSetup('copytrunc');
    // logrotate's copytruncate: copy the file, then truncate it in place; the app keeps
    // its fd (O_APPEND). Lines the shipper had not read before the truncate exist only
    // in the copy, which is not an input: that is the window copytruncate opens.
    let k = 0;
    await writeStorm(logFile, (fd) => {
      const copy = readFileSync(logFile);
      writeFileSync(`${logFile}.${++k}`, copy);
      fsyncSync(fd);
      ftruncateSync(fd, 0);
      return fd;
    });
    await endOfStorm(logFile, consumer);
    const all = numbersOf(consumer.logTexts());
    const seen = new Set(all);
    // The copies (carbon.log.1, .2, …) are not read again: nothing arrives twice.
    expect(all.length).toBe(seen.size);
    const missing = Array.from({ length: LINES }, (_, i) => i).filter((i) => !seen.has(i));
    console.log(`copytruncate: ${missing.length} of ${LINES} lines lost (${((missing.length / LINES) * 100).toFixed(2)} %), ${k} truncations`);
    // Lost lines lie only right before a truncation, never elsewhere: every copy holds them.
    const copies = Array.from({ length: k }, (_, i) => readFileSync(`${logFile}.${i + 1}`, 'utf8'));
    for (const n of missing) expect(copies.some((c) => c.includes(`INFO:storm:line ${n}\n`))).toBe(true);
    // The window is what the writer adds between the shipper's last read and the
    // truncate: a poll interval or so. 2,000 lines is about 100 ms of this writer.
    expect(missing.length).toBeLessThan(k * 2000);
  }, 120_000);
});
