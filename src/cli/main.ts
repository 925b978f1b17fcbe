import { Command, CommanderError, Option } from 'commander';
import { type Config, ConfigError } from '../common/config/index.js';
import { ServiceStartError } from '../services/errors.js';
import { createMetrics } from '../common/metrics/metrics.js';
import { Lifecycle } from './lifecycle.js';
import { setup, startMetricsServer, startScheduler, startShipper, startWorker, type Part } from './runtime.js';

// Set by tools/bundle.mjs; the unbundled modules under dist/ have no version of their own.
declare const __TTA_VERSION__: string | undefined;
const VERSION = typeof __TTA_VERSION__ === 'string' ? __TTA_VERSION__ : 'unbundled';

/** Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ConfigError) {
      console.error(`tta-carbon: ${err.message}`);
      return 2;
    }
    if (err instanceof ServiceStartError) {
      console.error(`tta-carbon services: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

type Globals = { config?: string; logFormat?: 'pretty' | 'json' };

/** The options every command reads, as setup() takes them. */
function globals(program: Command): [string | undefined, Globals['logFormat']] {
  const o = program.opts<Globals>();
  return [o.config, o.logFormat];
}

/** A command's action: the configuration loaded, the command's module run, its exit code kept. */
async function runCommand(program: Command, run: (config: Config) => Promise<number>): Promise<void> {
  const { config } = setup(...globals(program));
  process.exitCode = await run(config);
}

function buildProgram(): Command {
  const program = new Command('tta-carbon')
    .description('Ships carbon.log and codecarbon emissions into Elasticsearch; rotates and retains them.')
    .version(`tta-carbon ${VERSION} (Node ${process.versions.node})`, '-V, --version')
    .option('-c, --config <path>', 'YAML configuration file (default: $TTA_CONFIG, else built-in defaults)')
    .addOption(
      new Option('--log-format <format>', 'own logs: readable lines or JSON (default: $TTA_LOG_FORMAT, else readable on a terminal, JSON otherwise)').choices([
        'pretty',
        'json',
      ]),
    )
    .exitOverride()
    .showHelpAfterError();

  const role = (name: string, description: string, parts: ('shipper' | 'worker' | 'scheduler')[]) =>
    program
      .command(name)
      .description(description)
      .addHelpText('after', `\nExample:\n  tta-carbon --config /etc/tta-carbon/tta-carbon.yaml ${name}`)
      .action(async () => {
        const { config, logger, recent } = setup(...globals(program));
        const metrics = createMetrics({ environment: config.environment, role: name });
        const life = new Lifecycle(logger);
        const running: Part[] = [];
        // The port first: a second agent on one host fails at once, before it reads a file.
        await life.start(startMetricsServer(config, metrics, running, logger, recent));
        if (parts.includes('worker')) running.push(await life.start(startWorker(config, logger, metrics)));
        if (parts.includes('shipper')) running.push(await life.start(startShipper(config, logger, metrics)));
        if (parts.includes('scheduler')) running.push(await life.start(startScheduler(config, logger, metrics)));
        process.exitCode = await life.done;
      });

  role('run', 'shipper and worker in one process, for a single host', ['shipper', 'worker']);
  role('shipper', 'tail carbon.log and the codecarbon files into the queue', ['shipper']);
  role('worker', 'index queued batches into Elasticsearch', ['worker']);
  role('agent', "shipper and scheduled rotation, for a TTA host (the guide's tta-staging-carbon service)", ['shipper', 'scheduler']);
  role('scheduler', 'run file rotation (this host) and index retention (once per cluster) on their cron schedules', ['scheduler']);

  program
    .command('health')
    .description('check configuration, directories, Redis, Elasticsearch, queue and shipper lag; exit 0 healthy, 1 not')
    .addHelpText(
      'after',
      '\nExamples:\n  tta-carbon health\n  tta-carbon health --json\n  tta-carbon health --others   # only logrotate or Filebeat overlap, no services needed',
    )
    .option('--json', 'machine-readable output')
    .option('--others', 'only whether logrotate or Filebeat also covers the inputs (no Redis or Elasticsearch needed)')
    .action(async (opts: { json?: boolean; others?: boolean }) => {
      const { config } = setup(...globals(program));
      const { formatChecks, runHealth, runOthersCheck } = await import('../ops/health.js');
      const checks = await (opts.others ? runOthersCheck : runHealth)(config);
      const healthy = checks.every((c) => c.status !== 'failed');
      console.log(opts.json ? JSON.stringify({ status: healthy ? 'healthy' : 'unhealthy', checks }) : formatChecks(checks));
      process.exitCode = healthy ? 0 : 1;
    });

  program
    .command('report')
    .description('codecarbon emissions from Elasticsearch, each run counted once: a table, JSON, or a chart per day')
    .addHelpText(
      'after',
      '\nExamples:\n  tta-carbon report --since 30d\n  tta-carbon report --since 24h --by hour\n  tta-carbon report --by function --json\n  tta-carbon report --since 4w --chart emissions.svg',
    )
    .option('--since <period>', 'how far back: 24h, 7d, 4w', '7d')
    .option('--by <group>', "day, hour, project, experiment, or function (the TTA component's per-function breakdown); day and hour flag unusual hours", 'day')
    .option('--json', 'print the report as JSON (figures in kg CO2eq, unrounded)')
    .option('--chart <file.svg>', 'also write a bar chart of emissions per day, as this SVG and a PNG beside it')
    .action(async (opts: { since: string; by: string; chart?: string; json?: boolean }) => {
      const { config } = setup(...globals(program));
      const { reportCommand } = await import('./commands/report.js');
      process.exitCode = await reportCommand(config, opts);
    });

  program
    .command('rotate')
    .description("rotate, compress and prune log files as the rotation policies say (logrotate's job)")
    .addHelpText('after', '\nExamples:\n  tta-carbon rotate --dry-run\n  tta-carbon rotate --force')
    .option('--dry-run', 'print what would be done, change nothing')
    .option('--force', 'rotate now even when not due')
    .action(async (opts: { dryRun?: boolean; force?: boolean }) => {
      const { config, logger } = setup(...globals(program));
      const { rotateCommand } = await import('./commands/rotate.js');
      process.exitCode = await rotateCommand(config, logger, { dryRun: Boolean(opts.dryRun), force: Boolean(opts.force) });
    });

  program
    .command('retention')
    .description('delete daily indices (and dead-letter indices) older than their retention, by the date in the name')
    .addHelpText('after', '\nExamples:\n  tta-carbon retention --dry-run\n  tta-carbon retention')
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .action(async (opts: { dryRun?: boolean }) => {
      const { config, logger } = setup(...globals(program));
      const { retentionCommand } = await import('./commands/retention.js');
      process.exitCode = await retentionCommand(config, logger, Boolean(opts.dryRun));
    });

  program
    .command('import')
    .description('take over from another shipper: resume each file where it stopped')
    .command('filebeat')
    .description("resume each file at the offset in Filebeat's registry (stop Filebeat and tta-carbon's shipper first)")
    .addHelpText(
      'after',
      '\nExamples:\n  systemctl stop filebeat tta-staging-carbon\n  tta-carbon import filebeat --dry-run\n  tta-carbon import filebeat --registry /var/lib/filebeat',
    )
    .option('--registry <path.data>', "Filebeat's data path (path.data in filebeat.yml)", '/var/lib/filebeat')
    .option('--dry-run', 'print what would be imported, write nothing')
    .action(async (opts: { registry: string; dryRun?: boolean }) => {
      const { config } = setup(...globals(program));
      const { importFilebeatCommand } = await import('./commands/import-filebeat.js');
      process.exitCode = await importFilebeatCommand(config, opts);
    });

  program
    .command('status')
    .description(
      "a live view of this host's shipper (each file's offset, unshipped bytes, rate), the queue, the workers seen and what is indexed; Ctrl-C ends it",
    )
    .option('--once', 'print one view and exit')
    .option('--json', 'print one snapshot as JSON and exit')
    .option('--interval <seconds>', 'refresh every so many seconds', '1')
    .addHelpText('after', '\nExamples:\n  tta-carbon status\n  tta-carbon status --once\n  tta-carbon status --json | jq .queue')
    .action(async (opts: { once?: boolean; json?: boolean; interval: string }) => {
      const { config } = setup(...globals(program));
      const { statusCommand } = await import('./commands/status.js');
      process.exitCode = await statusCommand(config, opts);
    });

  const deadLetters = program
    .command('dead-letters')
    .description('documents Elasticsearch refused for good (a mapping conflict, say): list, show, and replay them once the cause is fixed');
  const letters = (action: 'list' | 'show' | 'replay', opts: Record<string, unknown>, id?: string) =>
    runCommand(program, async (config) => (await import('./commands/dead-letters.js')).deadLettersCommand(config, action, opts, id));
  deadLetters
    .command('list')
    .description('one line per dead letter, oldest first: when, id, the index it was meant for, why it was refused')
    .option('--since <period>', 'only those dead-lettered in the last 24h, 7d, …')
    .option('--reason <text>', 'only those whose error type or message holds this text')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  tta-carbon dead-letters list --since 24h --reason mapper_parsing_exception')
    .action((opts) => letters('list', opts));
  deadLetters
    .command('show <id>')
    .description('one dead letter: why it was refused, where it was meant to go, and the (sanitized) document')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  tta-carbon dead-letters show 3f1c2a9e0b7d4c55')
    .action((id: string, opts) => letters('show', opts, id));
  deadLetters
    .command('replay')
    .description('send dead letters again to their daily index under their own ids (twice adds nothing); each one indexed leaves the dead-letter index')
    .option('--since <period>', 'only those dead-lettered in the last 24h, 7d, …')
    .option('--reason <text>', 'only those whose error type or message holds this text')
    .option('--dry-run', 'list what would be replayed, change nothing')
    .addHelpText(
      'after',
      '\nExample, after fixing the mapping that refused them:\n  tta-carbon dead-letters replay --reason strict_dynamic_mapping --dry-run\n  tta-carbon dead-letters replay --reason strict_dynamic_mapping',
    )
    .action((opts) => letters('replay', opts));

  const failed = program
    .command('failed')
    .description(
      "batches a worker could not index for a fault other than Elasticsearch being down (a bug, an unknown queue contract): kept in the queue's failed set until retried or dropped",
    );
  const failedAction = (action: 'list' | 'retry' | 'drop', opts: Record<string, unknown>, id?: string) =>
    runCommand(program, async (config) => (await import('./commands/failed.js')).failedCommand(config, action, opts, id));
  failed
    .command('list')
    .description('one line per failed batch, oldest first: when, id, file and offset, attempts, why')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  tta-carbon failed list')
    .action((opts) => failedAction('list', opts));
  failed
    .command('retry [id]')
    .description('send a failed batch (or --all) back to the queue, attempts reset; nothing else in the queue moves')
    .option('--all', 'every failed batch')
    .addHelpText('after', '\nExamples, once the cause is fixed:\n  tta-carbon failed retry carbon.log:123_0\n  tta-carbon failed retry --all')
    .action((id: string | undefined, opts) => failedAction('retry', opts, id));
  failed
    .command('drop <id>')
    .description('remove a failed batch for good: its records will not be indexed (asks first)')
    .option('-y, --yes', 'do not ask')
    .addHelpText('after', '\nExample:\n  tta-carbon failed drop carbon.log:123_0 --yes')
    .action((id: string, opts) => failedAction('drop', opts, id));

  const services = program
    .command('services')
    .description('local Redis and Elasticsearch on loopback, for development and tests')
    .addHelpText(
      'after',
      '\nEnvironment: REDIS_URL, ELASTICSEARCH_URL, TTA_SERVICES_DIR, TTA_ES_HEAP_MB, TTA_ES_JAVA_HOME\n\nExample:\n  tta-carbon services up && npm test && tta-carbon services down',
    );
  const say = (line: string) => console.log(line);
  const launcher = () => import('../services/launcher.js');
  services
    .command('up')
    .description('use what answers, start what does not, wait until ready')
    .action(async () => {
      const { servicesUp, servicesEnv } = await launcher();
      await servicesUp(servicesEnv(), say);
    });
  services
    .command('down')
    .description('stop what `up` started (and nothing else)')
    .action(async () => {
      const { servicesDown, servicesEnv } = await launcher();
      await servicesDown(servicesEnv(), say);
    });
  services
    .command('status')
    .description('what answers, and what we started')
    .action(async () => {
      const { servicesStatus, servicesEnv } = await launcher();
      const states = await servicesStatus(servicesEnv());
      for (const s of states) {
        console.log(
          `${s.name}: ${s.answering ? 'up' : 'down'} at ${s.url}${s.ourPid ? ` (started by tta-carbon, pid ${s.ourPid})` : ''}${s.detail ? `, ${s.detail}` : ''}`,
        );
      }
      process.exitCode = states.every((s) => s.answering) ? 0 : 1;
    });
  return program;
}
