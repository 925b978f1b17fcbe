import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/index.js';
import { runHealth } from '../../src/ops/health.js';
import { logrotatePatterns } from '../../src/ops/foreign-logrotate.js';
import { services, tempDir } from '../helpers/services.js';

// Issue #14: the guide's /etc/logrotate.d/tta-staging left installed beside tta-carbon's
// rotation is named by `health`, so the migration can be finished.

const guide = (dir: string) => `# /etc/logrotate.d/tta-staging, as the staging guide installs it
${dir}/*.log ${dir}/other.txt
{
    daily
    rotate 30
    compress
    delaycompress
    missingok
    notifempty
    create 0644 tta-user tta-group
    postrotate
        [ -f /run/tta.pid ] && kill -HUP $(cat /run/tta.pid) || { true; }
    endscript
}
"/var/log/other app/*.log" { weekly }
`;

describe('a logrotate configuration beside tta-carbon', () => {
  it('reads the patterns before each block, not the words of its scripts', () => {
    expect(logrotatePatterns(guide('/var/log/tta/staging'))).toEqual([
      '/var/log/tta/staging/*.log',
      '/var/log/tta/staging/other.txt',
      '/var/log/other app/*.log',
    ]);
  });

  it('health names the logrotate file that covers an input (degraded), and says nothing without one', async () => {
    const dir = await tempDir('foreignlr');
    const log = join(dir, 'log');
    await mkdir(join(log, 'codecarbon'), { recursive: true });
    await writeFile(join(log, 'carbon.log'), 'INFO:a:b\n');
    const etc = join(dir, 'logrotate.d');
    await mkdir(etc);
    await writeFile(join(etc, 'tta-staging'), guide(log));
    await writeFile(join(etc, 'unrelated'), '/var/log/syslog {\n daily\n}\n');
    const config = loadConfig({
      env: { TTA_LOG_DIR: log, TTA_DATA_DIR: join(dir, 'data'), REDIS_URL: services.redisUrl, ELASTICSEARCH_URL: services.elasticsearchUrl },
    });
    const check = (await runHealth(config, { logrotateConfigs: [join(dir, 'logrotate.conf'), etc] })).find((c) => c.name === 'Other rotators')!;
    expect(check.status).toBe('degraded');
    expect(check.detail).toContain(`${join(etc, 'tta-staging')} (${join(log, 'carbon.log')})`);
    expect(check.detail).not.toContain('unrelated');
    const none = (await runHealth(config, { logrotateConfigs: [join(dir, 'nothing')] })).find((c) => c.name === 'Other rotators')!;
    expect(none.status).toBe('ok');
  });
});
