import { defaultIndexPrefix, rotationPolicySchema, type Config, type Parsed, type RotationPolicy } from './schema.js';

// The defaults that follow from other settings (the log directory, the environment):
// the staging guide's paths, inputs, index prefix and rotation policies.

export function resolveDefaults(parsed: Parsed): Config {
  const logDir = parsed.logDir ?? `/var/log/tta/${parsed.environment}`;
  const codecarbonDir = parsed.codecarbonDir ?? `${logDir}/codecarbon`;
  return {
    ...parsed,
    logDir,
    codecarbonDir,
    elasticsearch: {
      ...parsed.elasticsearch,
      indexPrefix: parsed.elasticsearch.indexPrefix ?? defaultIndexPrefix(parsed.environment),
    },
    rotation: {
      policies: parsed.rotation.policies ?? defaultPolicies(logDir, codecarbonDir),
      // Beside the log directory, outside every input glob: /var/log/tta/staging-backup.
      archive: { ...parsed.rotation.archive, dir: parsed.rotation.archive.dir ?? `${logDir.replace(/\/+$/, '')}-backup` },
    },
    shipper: {
      ...parsed.shipper,
      inputs: parsed.shipper.inputs ?? [
        { kind: 'log', paths: [`${logDir}/carbon.log`] },
        // The TTA component's reports, and codecarbon's own BoAmps reports (OutputMethod.BOAMPS).
        { kind: 'report', paths: [`${codecarbonDir}/emissions_*.json`, `${codecarbonDir}/boamps_report_*.json`] },
        { kind: 'csv', paths: [`${codecarbonDir}/emissions.csv`] },
      ],
    },
  };
}

// The staging guide's /etc/logrotate.d/tta-staging and its `find -mtime +30 -delete`.
function defaultPolicies(logDir: string, codecarbonDir: string): RotationPolicy[] {
  const base = rotationPolicySchema.parse({ files: 'x' });
  return [
    { ...base, files: `${logDir}/*.log`, frequency: 'daily', rotate: 30, create: { mode: '0644', owner: 'tta-user', group: 'tta-group' } },
    { ...base, files: `${codecarbonDir}/*.json`, frequency: 'weekly', rotate: 12, create: false, wholeFiles: true, maxage: 30 },
  ];
}
