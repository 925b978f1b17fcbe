import { servicesDown, servicesEnv, servicesStatus, servicesUp, type ServiceName } from '../../src/services/launcher.js';

// Real Redis and Elasticsearch for the whole run: reuse what answers, start the rest,
// and on teardown stop only what this run started.
let startedHere: ServiceName[] = [];

export async function setup(): Promise<void> {
  const env = servicesEnv();
  const before = await servicesStatus(env);
  await servicesUp(env, (line) => console.log(`[services] ${line}`));
  startedHere = before.filter((s) => !s.answering).map((s) => s.name);
}

export async function teardown(): Promise<void> {
  if (startedHere.length === 0) return;
  await servicesDown(servicesEnv(), (line) => console.log(`[services] ${line}`), startedHere);
}
