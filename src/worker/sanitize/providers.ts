import { keyBody } from './formats.js';
import { ci, type StringRule, tokenStart } from './patterns.js';
import { reference } from './lookalike.js';

// Credentials of named products in the forms they issue them, which the catalogue
// (gitleaks) lacks or knows only in a stricter form: found by an independent corpus
// (issue #33). Each pattern is bounded so that each rule stays linear on long lines.

const R = '[REDACTED]';

function whole(name: string, pattern: string, trigger: StringRule['trigger']): StringRule {
  return { name, pattern, trigger, groups: 0, replace: () => R };
}

/** The secret is the second group; the first (where it is: a URL's path, a key) stays. */
function after(name: string, pattern: string, trigger: StringRule['trigger'], ok: (value: string) => boolean = () => true): StringRule {
  return { name, pattern, trigger, groups: 2, replace: (_m, g) => (ok(g[1]!) ? `${g[0]}${R}` : null) };
}

export const PROVIDER_RULES: StringRule[] = [
  {
    // JFrog Artifactory's API keys (AKC…) and identity tokens (AP + a hex digit), as
    // detect-secrets knows them; a lower-case letter in the body tells them from an
    // upper-case word that happens to start so (APACHE2SERVER). It may start a path
    // segment, as a key naming a file does.
    name: 'artifactory_key',
    pattern: `${tokenStart('A-Za-z0-9_+-')}(?:AKC[A-Za-z0-9]{10,128}|AP[0-9A-F][A-Za-z0-9]{8,128})(?![A-Za-z0-9+/-]|_[A-Za-z_])`,
    trigger: (t) => /(?:AKC|AP[0-9A-F])[A-Za-z0-9]{8}/.test(t),
    groups: 0,
    replace: (m) => (/[a-z]/.test(m.slice(3)) ? R : null),
  },
  // Azure DevOps personal access tokens in their newer form: 76 characters, "AZDO", 4 more.
  whole('azure_devops_pat', '(?<![A-Za-z0-9])[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4}(?![A-Za-z0-9])', ['azdo']),
  {
    // …and the older, 52 characters of lower-case base32, after a name that says PAT.
    name: 'named_pat',
    pattern: '(?<=[pP][aA][tT]["\']?[ \t]{0,8}[=:][ \t]{0,8}["\']?)[a-z2-7]{52}(?![A-Za-z0-9])',
    trigger: (t) => /pat["']?[ \t]{0,8}[=:][ \t]{0,8}["']?[a-z2-7]{52}/i.test(t),
    groups: 0,
    replace: () => R,
  },
  // Twilio API key and account SIDs (SK/AC and 32 characters), as detect-secrets knows them.
  whole('twilio_sid', '(?<![A-Za-z0-9])(?:SK|AC)[a-z0-9]{32}(?![A-Za-z0-9])', (t) => /(?:SK|AC)[a-z0-9]{32}/.test(t)),
  // Django's generated SECRET_KEY says what it is.
  whole('django_secret_key', 'django-insecure-[^\\s\'"`]{30,128}', ['django-insecure-']),
  // A private key's PEM, base64-encoded again (an environment variable holding a file).
  whole('pem_base64', 'LS0tLS1CRUdJTi[A-Za-z0-9+/=]{20,8192}', ['ls0tls1crudjt']),
  // TrueNAS API keys: the key's id, "-", 64 characters of both cases.
  whole('truenas_api_key', '(?<![A-Za-z0-9-])[0-9]{1,6}-(?=[A-Za-z0-9]{0,63}[A-Z])(?=[A-Za-z0-9]{0,63}[a-z])[A-Za-z0-9]{64}(?![A-Za-z0-9])', (t) =>
    /[0-9]-[A-Za-z0-9]{64}/.test(t),
  ),
  // A ThingsBoard device's access token is a path segment of its API.
  after('thingsboard_token', '(/api/v1/)([A-Za-z0-9]{20})(?=/(?:telemetry|attributes|rpc|claim)(?![A-Za-z0-9]))', ['/api/v1/'], keyBody),
  // SoftLayer's classic API takes the key in the URL.
  after('softlayer_url_key', '(api\\.softlayer\\.com/(?:soap|rest|xmlrpc)/v3(?:\\.1)?/)([a-z0-9]{64})', ['softlayer.com']),
  // `vault operator unseal <key share>`.
  after('vault_unseal_key', '(vault operator unseal[ \\t]+)([A-Za-z0-9+/=]{40,64})(?![A-Za-z0-9+/=])', ['operator unseal']),
  // Vault's service and batch tokens before the hvs./hvb. prefixes: s. and b. and a long body.
  {
    name: 'vault_legacy_token',
    pattern: '(?<![A-Za-z0-9_.-])[sb]\\.(?:[A-Za-z0-9]{24}|[A-Za-z0-9_-]{90,512})(?![A-Za-z0-9_-])',
    trigger: (t) => /[sb]\.[A-Za-z0-9]{24}/.test(t),
    groups: 0,
    replace: (m) => (keyBody(m.slice(2)) ? R : null),
  },
  // Code Climate's test reporter id, Jenkins' CSRF crumb: named by their key.
  after('reporter_id', '((?:REPORTER_ID|reporter_id|reporter-id)["\']?[ \\t]{0,8}[=:][ \\t]{0,8}["\']?)([0-9a-f]{64})', ['reporter_id', 'reporter-id']),
  after('jenkins_crumb', '([Jj]enkins-[Cc]rumb["\']?[ \\t]{0,4}[=:][ \\t]{0,4})([0-9a-f]{32,64})', ['jenkins-crumb']),
  // Jenkins prints its generated first admin password in its log, in these words.
  after('jenkins_setup_password', '(use the following password to proceed to installation:\\s{1,32})([0-9a-f]{32})(?![0-9a-f])', ['following password']),
  // Postmark's server and account tokens are UUIDs: named by the product before them.
  after(
    'postmark_token',
    `(${ci('postmark')}[A-Za-z_-]{0,32}["']?[ \\t]{0,8}[=:][ \\t]{0,8}["']?)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![0-9a-f-])`,
    ['postmark'],
  ),
  // A Terraform variable named as a credential, with its default value.
  after(
    'terraform_default',
    `(${ci('variable')}[ \\t]+"[^"\\n]{0,64}(?:${['token', 'secret', 'password', 'passwd', 'key'].map(ci).join('|')})[^"\\n]{0,64}"[ \\t]*\\{\\s{0,64}${ci('default')}[ \\t]*=[ \\t]*")([^"\\n]{1,256})(?=")`,
    ['variable'],
    (value) => !reference(value),
  ),
  // A .NET connection string that holds a password is the credential, whole: its server
  // and user are what the password opens.
  after(
    'appsettings_connection_string',
    '(<add[ \\t]+(?:key|name)[ \\t]*=[ \\t]*"[^"\\n]{0,64}"[ \\t]+(?:value|connectionString)[ \\t]*=[ \\t]*")([^"\\n]{0,256}?(?:[Pp]assword|PASSWORD|[Pp]wd|PWD)[ \\t]*=[^"\\n]{1,256})(?=")',
    ['<add'],
  ),
  // .NET's appSettings: `<add key="…Password" value="…"/>`.
  after(
    'appsettings_secret',
    '(<add[ \\t]+key[ \\t]*=[ \\t]*"[^"\\n]{0,64}(?:[Pp]assword|PASSWORD|[Ss]ecret|SECRET|[Tt]oken|TOKEN|[Aa]pi[Kk]ey|APIKEY)[^"\\n]{0,64}"[ \\t]+value[ \\t]*=[ \\t]*")([^"\\n]{1,256})(?=")',
    ['<add'],
  ),
];
