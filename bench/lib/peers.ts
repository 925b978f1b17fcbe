import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// The peers of bench:peers, configured as their users would for carbon.log: tail from
// the start, Python tracebacks joined to one record, JSON lines parsed, into daily
// indices of the same Elasticsearch through the same loopback proxy (the integ-test
// build has no GET /, which Filebeat needs). Their binaries are the ones in
// ../shared/peers/ (built from source; see its README), found there or by --peers DIR.

export interface PeerBinaries {
  fluentBit: string | null;
  filebeat: string | null;
  /** Why a peer is missing. */
  missing: string[];
}

/** Finds the binaries, unpacking filebeat.xz into `workDir` once. */
export function findPeers(dir: string, workDir: string): PeerBinaries {
  const missing: string[] = [];
  let fluentBit: string | null = join(dir, 'fluent-bit');
  if (!existsSync(fluentBit)) {
    missing.push(`Fluent Bit: ${fluentBit} not found`);
    fluentBit = null;
  }
  let filebeat: string | null = join(workDir, 'filebeat');
  if (!existsSync(filebeat)) {
    const xz = join(dir, 'filebeat.xz');
    if (existsSync(xz)) {
      const r = spawnSync('sh', ['-c', `xz -dc '${xz}' > '${filebeat}'`]);
      if (r.status === 0) chmodSync(filebeat, 0o755);
      else {
        missing.push(`Filebeat: cannot unpack ${xz}: ${r.stderr}`);
        filebeat = null;
      }
    } else {
      missing.push(`Filebeat: ${xz} not found`);
      filebeat = null;
    }
  }
  return { fluentBit, filebeat, missing };
}

/** The shared proxy config, its pid and log paths moved into `dir`. */
export function proxyConfig(peersDir: string, dir: string): string {
  const conf = readFileSync(join(peersDir, 'es-proxy.nginx.conf'), 'utf8').replaceAll('/tmp/esproxy', dir);
  const path = join(dir, 'es-proxy.nginx.conf');
  writeFileSync(path, conf);
  return path;
}

export const PROXY_URL = 'http://127.0.0.1:9201';

/** Fluent Bit: tail with the built-in python multiline parser, JSON parsed, es output. */
export function fluentBitConfig(dir: string, file: string, prefix: string): string {
  writeFileSync(join(dir, 'parsers.conf'), '[PARSER]\n    Name   json\n    Format json\n');
  const conf = `[SERVICE]
    Flush        1
    Log_Level    warn
    Parsers_File ${join(dir, 'parsers.conf')}

[INPUT]
    Name             tail
    Path             ${file}
    Read_from_Head   On
    DB               ${join(dir, 'fluent-bit.db')}
    multiline.parser python

[FILTER]
    Name         parser
    Match        *
    Key_Name     log
    Parser       json
    Reserve_Data On
    Preserve_Key On

[OUTPUT]
    Name               es
    Match              *
    Host               127.0.0.1
    Port               9201
    Logstash_Format    On
    Logstash_Prefix    ${prefix}
    Logstash_DateFormat %Y.%m.%d
    Suppress_Type_Name On
    Replace_Dots       On
    Retry_Limit        False
    Buffer_Size        False
`;
  const path = join(dir, 'fluent-bit.conf');
  writeFileSync(path, conf);
  return path;
}

/** Filebeat: filestream with a multiline parser for tracebacks and ndjson for JSON lines. */
export function filebeatConfig(dir: string, file: string, prefix: string): string {
  const conf = `filebeat.inputs:
  - type: filestream
    id: bench-carbon-log
    paths: [${file}]
    parsers:
      - multiline:
          type: pattern
          pattern: '^([ \\t]|Traceback \\(most recent call last\\):|[A-Za-z_.]*(Error|Exception)\\b)'
          negate: false
          match: after
      - ndjson:
          target: ""
          overwrite_keys: true
          add_error_key: true
          ignore_decoding_error: true
path.data: ${join(dir, 'filebeat-data')}
logging.level: warning
logging.to_stderr: true
setup.ilm.enabled: false
setup.template.enabled: false
setup.template.name: ${prefix}
setup.template.pattern: "${prefix}-*"
output.elasticsearch:
  hosts: ["127.0.0.1:9201"]
  index: "${prefix}-%{+yyyy.MM.dd}"
`;
  const path = join(dir, 'filebeat.yml');
  writeFileSync(path, conf, { mode: 0o600 });
  return path;
}
