import { spawn } from 'node:child_process';

/** Runs the built CLI to its end (asynchronously, so servers in the test keep serving). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string; out: string }> {
  const child = spawn(process.execPath, ['bin/tta-carbon.js', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, out: stdout + stderr })));
}
