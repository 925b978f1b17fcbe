import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

// Names in a policy's `create` (owner, group) to ids, through the system's own
// databases (NSS: files, LDAP, ...), as logrotate does.

const exec = promisify(execFile);

export async function userId(user: string): Promise<number | null> {
  try {
    return Number((await exec('id', ['-u', user])).stdout.trim());
  } catch {
    return null;
  }
}

export async function groupId(group: string): Promise<number | null> {
  try {
    return Number((await exec('getent', ['group', group])).stdout.split(':')[2]);
  } catch {
    return null;
  }
}
