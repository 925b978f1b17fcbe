import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registryDir } from '../../src/cutover/filebeat-registry.js';
import { importFilebeat } from '../../src/cutover/import-filebeat.js';
import { RegistryView } from '../../src/common/registry/registry-view.js';
import { openRegular } from '../../src/common/fs/safe-open.js';
import { createAttacker, isRoot } from '../helpers/attacker.js';
import { tempDir } from '../helpers/services.js';

// The runbook's import runs as root; the agent it prepares runs as tta-user and must be
// able to save the registry the import wrote (issue #35).

describe.skipIf(!isRoot)('import filebeat as root into a data dir another user owns', () => {
  const user = isRoot ? createAttacker() : undefined;
  afterAll(() => user?.remove());

  it("writes the registry as the directory's owner, and the offset is Filebeat's", async () => {
    const base = await tempDir('impown');
    const logs = join(base, 'logs');
    mkdirSync(logs, { mode: 0o755 });
    const log = join(logs, 'carbon.log');
    writeFileSync(log, 'one\ntwo\n');
    chownSync(log, user!.uid, user!.gid);
    const fb = join(base, 'filebeat');
    mkdirSync(registryDir(fb), { recursive: true });
    writeFileSync(join(registryDir(fb), 'meta.json'), '{"version":"1"}');
    const st = statSync(log);
    writeFileSync(
      join(registryDir(fb), '1.json'),
      JSON.stringify([
        { _key: `filestream::c::native::${st.ino}-${st.dev}`, meta: { source: log, identifier_name: 'native' }, ttl: -1, cursor: { offset: 4 } },
      ]),
    );
    const data = join(base, 'data');
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, user!.uid, user!.gid);
    chmodSync(base, 0o755);

    const report = await importFilebeat(fb, data);
    expect(report.imported.map((i) => [i.path, i.offset])).toEqual([[log, 4]]);
    expect(process.geteuid!()).toBe(0);
    const files = readdirSync(data);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(statSync(join(data, f)).uid, f).toBe(user!.uid);
    const handle = await openRegular(log);
    try {
      expect(await (await RegistryView.open(data)).shippedOffset(handle)).toBe(4);
    } finally {
      await handle.close();
    }
  });
});
