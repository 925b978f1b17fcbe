import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FilebeatRegistryError, readFilebeatRegistry, registryDir } from '../../src/cutover/filebeat-registry.js';
import { tempDir } from '../helpers/services.js';

// The parts of Filebeat's registry format a short real run does not write (the real one
// is in filebeat-cutover.test.ts): a checkpoint that active.dat names, operations in
// log.json at or below its transaction id, removals, the log input's states, and a
// torn last pair.

describe("Filebeat's registry", () => {
  it('applies log.json on top of the checkpoint, newest state last, as memlog does', async () => {
    const data = await tempDir('fbreg');
    const dir = registryDir(data);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'meta.json'), '{"version":"1"}');
    const fs = (source: string, offset: number) => ({ meta: { source, identifier_name: 'native' }, ttl: -1, cursor: { offset } });
    writeFileSync(
      join(dir, '12.json'),
      JSON.stringify([
        { _key: 'filestream::carbon::native::100-2049', ...fs('/logs/a.log', 10) },
        { _key: 'filestream::carbon::native::101-2049', ...fs('/logs/b.log', 20) },
        { _key: 'filebeat::logs::native::102-2049', source: '/logs/c.log', offset: 30, FileStateOS: { inode: 102, device: 2049 }, identifier_name: 'native' },
      ]),
    );
    writeFileSync(join(dir, 'active.dat'), '/somewhere/else/registry/filebeat/12.json');
    const ops = [
      [
        { op: 'set', id: 11 },
        { k: 'filestream::carbon::native::100-2049', v: fs('/logs/a.log', 5) },
      ],
      [
        { op: 'set', id: 13 },
        { k: 'filestream::carbon::native::100-2049', v: fs('/logs/a.log', 40) },
      ],
      [{ op: 'remove', id: 14 }, { k: 'filestream::carbon::native::101-2049' }],
    ];
    writeFileSync(
      join(dir, 'log.json'),
      `${ops.map(([a, b]) => `${JSON.stringify(a)}\n${JSON.stringify(b)}\n`).join('')}{"op":"set","id":15}\n{"k":"filestream::carbon::na`,
    );
    const states = await readFilebeatRegistry(data);
    expect(states.map((s) => [s.source, s.offset, s.inode])).toEqual([
      ['/logs/a.log', 40, 100],
      ['/logs/c.log', 30, 102],
    ]);
  });

  it('says what is wrong with a path that holds no registry', async () => {
    const data = await tempDir('fbreg-none');
    await expect(readFilebeatRegistry(data)).rejects.toThrow(FilebeatRegistryError);
    await expect(readFilebeatRegistry(data)).rejects.toThrow(/meta\.json not found: not a Filebeat data path/);
  });
});
