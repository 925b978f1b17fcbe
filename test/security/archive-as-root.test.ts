import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listArchive } from '../../src/rotation/archive.js';
import { attackerPerSuite, isRoot, layout } from '../helpers/attacker.js';
import { runCli } from '../helpers/cli.js';

// Issue #20 as root over a codecarbon directory tta-user owns (in a root-owned parent:
// inside tta-user's log directory root refuses the whole policy, a test of its own): retention archives what
// is past maxage before deleting it. The user planted, beside a real old report, a
// symlink to a root-only file and a FIFO under report names, all dated 40 days back.
// Only the real report may go into the archive; the root file is byte-identical and in
// no archive; nothing blocks on the FIFO.

const suite = attackerPerSuite();

describe.skipIf(!isRoot)('archiving as root over a directory tta-user owns', () => {
  it('archives the real report only; a planted symlink and FIFO are left, the root file untouched', async () => {
    const l = await layout(suite.attacker, 'archive-root');
    suite.dirs.push(l.base);
    const cc = join(l.base, 'codecarbon');
    mkdirSync(cc, { mode: 0o755 });
    chownSync(cc, suite.attacker.uid, suite.attacker.gid);
    suite.attacker.sh(
      `printf '{"project_name":"TTA"}' > emissions_good.json && ln -s ${l.victim} emissions_link.json && mkfifo emissions_fifo.json && touch -h -d '40 days ago' emissions_good.json emissions_link.json emissions_fifo.json`,
      cc,
    );
    const config = join(l.base, 'tta.yaml');
    await writeFile(config, `shipper:\n  inputs:\n    - kind: log\n      paths: [${join(l.log, 'carbon.log')}]\n`);
    const r = await runCli(['--config', config, 'rotate'], { TTA_LOG_DIR: l.log, CARBON_OUTPUT_DIR: cc, TTA_DATA_DIR: l.data, CARBON_LOG_LEVEL: 'silent' });
    expect(r.code, r.out).toBe(0);
    expect(l.victimIntact()).toBe(true);
    const backup = join(l.base, 'log-backup');
    const archives = readdirSync(backup);
    expect(archives).toHaveLength(1);
    const handle = await open(join(backup, archives[0]!));
    try {
      expect((await listArchive(handle)).map((e) => e.name)).toEqual(['emissions_good.json']);
    } finally {
      await handle.close();
    }
    expect(existsSync(join(cc, 'emissions_good.json'))).toBe(false);
    expect(lstatSync(join(cc, 'emissions_link.json')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(cc, 'emissions_fifo.json')).isFIFO()).toBe(true);
    expect(r.out).toMatch(/left .*emissions_link\.json: is a symbolic link/);
  }, 60_000);
});
