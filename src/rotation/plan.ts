import type { RotationPolicy } from '../common/config/index.js';
import { datedCopies, numberedCopies, present } from './copies.js';
import { dateSuffix } from './due.js';
import { finishCompression } from './gzip.js';
import type { Step } from './state.js';

// What one rotation will do, decided before anything is done: the journal saved before
// the first step holds exactly this list.

/** The steps of one rotation, in order; each can be re-run safely after a crash. */
export async function planRotation(file: string, policy: RotationPolicy, now: Date): Promise<Step[]> {
  const steps: Step[] = [];
  if (policy.dateext) {
    await datedCopies(file);
    let target = `${file}${dateSuffix(now, policy.frequency === 'size')}`;
    for (let n = 1; (await present(target)) || (await present(`${target}.gz`)); n++) target = `${file}${dateSuffix(now, true)}-${n}`;
    steps.push(policy.copytruncate ? { op: 'copytruncate', from: file, to: target } : { op: 'rename', from: file, to: target });
  } else {
    // A copy and its complete .gz side by side (a crash mid-compression) would make
    // two files want the same next number.
    for (const copy of (await numberedCopies(file)).values()) await finishCompression(copy.replace(/\.gz$/, ''));
    const copies = await numberedCopies(file);
    // Shift from the highest number down; the one that would pass `rotate` is
    // pruned later by tidyCopies (tidy.ts) (only once shipped), so it moves up too.
    for (const n of [...copies.keys()].sort((a, b) => b - a)) {
      const from = copies.get(n)!;
      steps.push({ op: 'rename', from, to: from.replace(new RegExp(`\\.${n}(\\.gz)?$`), `.${n + 1}$1`) });
    }
    steps.push(policy.copytruncate ? { op: 'copytruncate', from: file, to: `${file}.1` } : { op: 'rename', from: file, to: `${file}.1` });
  }
  if (!policy.copytruncate && policy.create !== false) steps.push({ op: 'create', path: file });
  if (policy.postrotate && !policy.sharedscripts) steps.push({ op: 'postrotate' });
  steps.push({ op: 'record', path: file, at: now.toISOString() });
  return steps;
}
