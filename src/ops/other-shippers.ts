import { filebeatHolder, readFilebeatRegistry } from '../cutover/filebeat-registry.js';
import { RegistryView } from '../common/registry/registry-view.js';
import type { Check } from './health.js';

// Filebeat still shipping the same files is the other half of a migration state (the
// first is the guide's logrotate, foreign-logrotate.ts): two shippers index every line
// twice, under different ids. And a Filebeat registry holding offsets for a file that
// tta-carbon has no record of means the first start will read that file from 0 again,
// unless `tta-carbon import filebeat` runs first (issue #35).

export const FILEBEAT_DATA = '/var/lib/filebeat';

/** `inputs`: the input files as expanded now; `dataDir`: tta-carbon's registry. */
export async function otherShippers(inputs: string[], dataDir: string, filebeatData = FILEBEAT_DATA): Promise<Check> {
  const name = 'Other shippers';
  const see = 'see README, "Switching from Filebeat"';
  const pid = await filebeatHolder(filebeatData);
  if (pid !== null)
    return { name, status: 'degraded', detail: `Filebeat (pid ${pid}) is running on ${filebeatData}: two shippers index every line twice; ${see}` };
  const states = await readFilebeatRegistry(filebeatData).catch(() => null);
  if (states === null) return { name, status: 'ok', detail: `no Filebeat registry at ${filebeatData}` };
  const ours = new Set(inputs);
  const known = new Set(
    await RegistryView.open(dataDir)
      .then((v) => v.followed().map((e) => e.path))
      .catch(() => [] as string[]),
  );
  const pending = [...new Set(states.filter((s) => ours.has(s.source) && !known.has(s.source)).map((s) => s.source))].sort();
  if (pending.length === 0)
    return { name, status: 'ok', detail: `Filebeat is not running; its registry at ${filebeatData} holds nothing tta-carbon has not taken over` };
  return {
    name,
    status: 'degraded',
    detail: `Filebeat's registry at ${filebeatData} has offsets for ${pending.join(', ')}, which tta-carbon has not read yet: run \`tta-carbon import filebeat\` before the first start, or those files are shipped again from their start; ${see}`,
  };
}
