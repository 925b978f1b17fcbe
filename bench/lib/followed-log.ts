import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

// A benchmark's own empty carbon.log in a fresh directory, with an environment, index
// prefix, queue and config file no other run uses: what tta-carbon processes follow.

export interface FollowedLog {
  dir: string;
  logDir: string;
  logFile: string;
  env: string;
  prefix: string;
  queueName: string;
  configFile: string;
}

export async function followedLog(servicesDir: string, label: string): Promise<FollowedLog> {
  const dir = join(servicesDir, `bench-${label}`);
  await rm(dir, { recursive: true, force: true });
  const logDir = join(dir, 'log');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, 'carbon.log');
  writeFileSync(logFile, '');
  const env = `bench${label}${Date.now().toString(36)}`;
  const queueName = `bench-${label}-${env}`;
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, `redis:\n  queue: ${queueName}\n`);
  return { dir, logDir, logFile, env, prefix: `tta-${env}-carbon`, queueName, configFile };
}
