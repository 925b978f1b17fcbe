// Bundles the CLI into dist/bundle/, which bin/tta-carbon.js runs. Loading the
// compiled modules one by one (resolving, reading and compiling some hundreds of files
// of the Elasticsearch client, undici, BullMQ and ioredis) was most of a process's
// start, before `run` read its first line. dist/ from tsc stays, for the type check
// and anything that imports a module of its own.
//
// `--outdir DIR` bundles elsewhere (the package's tree) and `--version V` names the
// version `tta-carbon --version` prints (default: package.json's); a bundle outside
// dist/ carries no source maps, which are most of its size and nothing a host reads.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { outdir: { type: 'string' }, version: { type: 'string' } } });
const outdir = values.outdir ?? 'dist/bundle';
const version = values.version ?? JSON.parse(readFileSync('package.json', 'utf8')).version;

await build({
  entryPoints: ['src/cli/main.ts'],
  outdir,
  define: { __TTA_VERSION__: JSON.stringify(version) },
  bundle: true,
  // A chunk per dynamic import: a command loads only the parts it starts. Chunks are
  // named by their content and outdir is not emptied first, so a process started from
  // an earlier build still finds the chunks it imports later (health, a reload).
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: values.outdir ? false : 'linked',
  // Both resolve files of their own package at run time: recheck its checker (native
  // binary or Scala.js), resvg its platform's native binding.
  external: ['recheck', '@resvg/resvg-js'],
  // CommonJS dependencies inside an ES module bundle still call require() and read
  // __dirname / __filename (ioredis, msgpackr): give them the bundle's own.
  banner: {
    js: [
      "import { createRequire as __ttaCreateRequire } from 'node:module';",
      "import { fileURLToPath as __ttaFileURLToPath } from 'node:url';",
      "import { dirname as __ttaDirname } from 'node:path';",
      'const require = __ttaCreateRequire(import.meta.url);',
      'const __filename = __ttaFileURLToPath(import.meta.url);',
      'const __dirname = __ttaDirname(__filename);',
    ].join('\n'),
  },
  logLevel: 'warning',
});
