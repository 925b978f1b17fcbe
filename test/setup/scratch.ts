import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every temporary file of the run (the tests' own directories, those of the processes
// they start, a replica's rdb) goes under one directory that teardown removes: a test
// that dies before its cleanup, or a helper that forgets one, must not leave litter in
// /tmp for the next run. Listed after the services' setup, so the services it starts
// keep the real TMPDIR (they may outlive the run). Mode 1777 like /tmp: tests as root
// hand directories in it to tta-user, and the sticky bit keeps the safety rules the same.
let scratch = '';
let before: string | undefined;

export async function setup(): Promise<void> {
  before = process.env.TMPDIR;
  scratch = await mkdtemp(join(tmpdir(), 'tta-test-run-'));
  await chmod(scratch, 0o1777);
  process.env.TMPDIR = scratch;
}

export async function teardown(): Promise<void> {
  if (before === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = before;
  if (scratch) await rm(scratch, { recursive: true, force: true });
}
