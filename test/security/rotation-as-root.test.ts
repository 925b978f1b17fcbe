import { chownSync, existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attackerPerSuite, isRoot, layout, type Layout } from '../helpers/attacker.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/services.js';

// Issue #13, rotation: root runs the real `tta-carbon rotate` over a log directory an
// unprivileged user owns, after that user planted what the table of attacks lists. The
// root-owned victim must be byte-identical afterwards, and a rotation root refuses must
// say so (exit 1, the path named), never report success.

const suite = attackerPerSuite();

async function setup(label: string, options: { userData?: boolean; copytruncate?: boolean } = {}): Promise<Layout & { config: string; live: string }> {
  const l = await layout(suite.attacker, label, options);
  suite.dirs.push(l.base);
  const live = join(l.log, 'carbon.log');
  const config = join(l.base, 'tta.yaml');
  await writeFile(
    config,
    `rotation:\n  policies:\n    - files: ${live}\n      frequency: daily\n      rotate: 5\n      copytruncate: ${options.copytruncate ?? false}\n      missingok: true\n`,
  );
  return { ...l, config, live };
}

function rotate(l: { config: string; log: string; data: string }, ...args: string[]) {
  return runCli(['--config', l.config, 'rotate', '--force', ...args], { TTA_LOG_DIR: l.log, TTA_DATA_DIR: l.data, CARBON_LOG_LEVEL: 'silent' });
}

describe.skipIf(!isRoot)('rotation as root over a directory tta-user owns', () => {
  it('copytruncate with carbon.log.1.tmp planted as a symlink to a root file: the root file is untouched', async () => {
    const l = await setup('ct-tmp', { copytruncate: true });
    suite.attacker.sh(`printf 'INFO:a:one\\nINFO:a:two\\n' > carbon.log && ln -s ${l.victim} carbon.log.1.tmp`, l.log);
    const r = await rotate(l);
    expect(l.victimIntact()).toBe(true);
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(`${l.live}.1`, 'utf8')).toBe('INFO:a:one\nINFO:a:two\n');
    expect(lstatSync(`${l.live}.1`).uid).toBe(suite.attacker.uid);
    expect(readFileSync(l.live, 'utf8')).toBe('');
  });

  it('copytruncate while carbon.log is swapped for a symlink mid-copy: the root file is not truncated', async () => {
    const l = await setup('ct-swap', { copytruncate: true });
    suite.attacker.sh(`head -c 100000000 /dev/zero | tr '\\0' 'x' | fold -w 99 > carbon.log`, l.log);
    const size = lstatSync(l.live).size;
    // Waits for the copy to begin, then puts a symlink to the victim at the live name.
    const swap = suite.attacker.shBackground(`while [ ! -e carbon.log.1.tmp ]; do :; done; rm -f carbon.log; ln -s ${l.victim} carbon.log`, l.log);
    try {
      const r = await rotate(l);
      expect(l.victimIntact()).toBe(true);
      expect(r.code, r.out).toBe(0);
      await waitFor(() => lstatSync(l.live, { throwIfNoEntry: false })?.isSymbolicLink(), 10_000, 'the swap');
      expect(lstatSync(`${l.live}.1`).size).toBe(size);
    } finally {
      swap.stop();
    }
    expect(l.victimIntact()).toBe(true);
  }, 120_000);

  it('a journal tta-user wrote into rotation-state.json: refused, its command never runs, its renames never happen', async () => {
    const l = await setup('journal', { userData: true });
    const marker = join(l.base, 'pwned');
    suite.attacker.sh(`printf 'INFO:a:x\\n' > carbon.log`, l.log);
    const journal = {
      version: 1,
      lastRotated: {},
      journal: {
        policy: 0,
        file: l.live,
        done: 0,
        steps: [
          { op: 'postrotate', command: `touch ${marker}` },
          { op: 'rename', from: l.victim, to: join(l.log, 'stolen') },
        ],
      },
    };
    suite.attacker.sh(`cat > rotation-state.json <<'JSON'\n${JSON.stringify(journal)}\nJSON`, l.data);
    const r = await rotate(l);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(l.data);
    expect(r.stderr).toMatch(/belongs to uid \d+, who could write a journal root would carry out/);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(l.log, 'stolen'))).toBe(false);
    expect(l.victimIntact()).toBe(true);
    expect(readFileSync(l.live, 'utf8')).toBe('INFO:a:x\n');
  });

  it('rotation-state.json.tmp planted as a symlink to a root file: refused, the root file is untouched', async () => {
    const l = await setup('statetmp', { userData: true });
    suite.attacker.sh(`printf 'INFO:a:x\\n' > ${l.live} && ln -s ${l.victim} rotation-state.json.tmp`, l.data);
    const r = await rotate(l);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refusing');
    expect(l.victimIntact()).toBe(true);
  });

  it('a root-owned data dir holding a state file tta-user owns: refused, naming the file', async () => {
    const l = await setup('stateowner');
    const state = join(l.data, 'rotation-state.json');
    writeFileSync(state, JSON.stringify({ version: 1, lastRotated: {}, journal: null }));
    chownSync(state, suite.attacker.uid, suite.attacker.gid);
    suite.attacker.sh(`printf 'INFO:a:x\\n' > carbon.log`, l.log);
    const r = await rotate(l);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`refusing ${state}: belongs to uid ${suite.attacker.uid}, not root`);
    expect(readFileSync(l.live, 'utf8')).toBe('INFO:a:x\n');
  });

  it('a journal whose steps leave the policy directory (trusted state, changed config): refused, nothing renamed', async () => {
    const l = await setup('journalscope');
    suite.attacker.sh(`printf 'INFO:a:x\\n' > carbon.log`, l.log);
    const journal = {
      version: 1,
      lastRotated: {},
      journal: { policy: 0, file: l.live, done: 0, steps: [{ op: 'rename', from: l.victim, to: `${l.live}.1` }] },
    };
    writeFileSync(join(l.data, 'rotation-state.json'), JSON.stringify(journal), { mode: 0o600 });
    const r = await rotate(l);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refusing to resume the rotation journal');
    expect(existsSync(`${l.live}.1`)).toBe(false);
    expect(l.victimIntact()).toBe(true);
  });

  it('carbon.log.1 planted as a symlink: rotate says it refused (exit 1, the path named) and rotates nothing', async () => {
    const l = await setup('planted1');
    suite.attacker.sh(`printf 'INFO:a:keep\\n' > carbon.log && ln -s ${l.victim} carbon.log.1`, l.log);
    const r = await rotate(l);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain(`rotated ${l.live}`);
    expect(r.stderr).toContain(`refusing ${l.live}.1: a symbolic link under a name rotation gives its copies`);
    expect(readFileSync(l.live, 'utf8')).toBe('INFO:a:keep\n');
    expect(lstatSync(`${l.live}.1`).isSymbolicLink()).toBe(true);
    expect(l.victimIntact()).toBe(true);
    const state = JSON.parse(readFileSync(join(l.data, 'rotation-state.json'), 'utf8'));
    expect(state.lastRotated[l.live]).toBeUndefined();
  });

  it('a log directory inside a directory tta-user owns: refused, naming the parent', async () => {
    const l = await setup('parent');
    const nested = join(l.log, 'inner');
    suite.attacker.sh(`mkdir inner && printf 'INFO:a:x\\n' > inner/carbon.log`, l.log);
    await writeFile(l.config, `rotation:\n  policies:\n    - files: ${nested}/carbon.log\n      frequency: daily\n      rotate: 5\n`);
    const r = await rotate(l);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`refusing ${nested}: its parent ${l.log} belongs to uid ${suite.attacker.uid}`);
    expect(existsSync(`${nested}/carbon.log.1`)).toBe(false);
  });

  it("an ordinary rotation in tta-user's directory still works as root: copy renamed, new file with the configured mode", async () => {
    const l = await setup('ordinary');
    suite.attacker.sh(`printf 'INFO:a:x\\n' > carbon.log`, l.log);
    const r = await rotate(l);
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(`${l.live}.1`, 'utf8')).toBe('INFO:a:x\n');
    expect(lstatSync(l.live).mode & 0o777).toBe(0o644);
  });
});
