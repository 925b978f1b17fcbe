import { describe, expect, it } from 'vitest';
import { Sanitizer } from '../../../src/worker/sanitize/sanitizer.js';
import { rng } from '../../helpers/random.js';

// Issue #33: each class of secret that a corpus this project did not write got past the
// catalogue's exact formats, and each look-alike it damaged. Made here from the
// published layouts, with random bodies; none is a real credential.

const sanitizer = new Sanitizer({ enabled: true, extraKeys: [], extraPatterns: [], location: 'round', emails: true });
const clean = (text: string) => sanitizer.sanitizeString(text).text;

const body = (n: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', seed = 7) => {
  const r = rng(seed);
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(r() * alphabet.length)];
  return out;
};

const SECRETS: [string, string, string][] = [
  ['OpenAI key in the older sk- + 48 form', body(48, undefined, 1).replace(/^/, 'sk-'), 'openai.api_key = {}'],
  ['Anthropic key shorter than the rule', `sk-ant-api03-${body(60, undefined, 2)}`, 'client = Anthropic(api_key={})'],
  ['Vault service token in its short form', `hvs.${body(24, undefined, 3)}`, 'vault login {}'],
  ['SendGrid key followed by a parenthesis', `SG.${body(22, undefined, 4)}.${body(43, undefined, 5)}`, 'SendGridAPIClient({})'],
  ['Twilio auth token after the words, no separator', body(32, '0123456789abcdef', 6), 'twilio auth token {} rejected'],
  ['GitHub token followed by a comma', `ghp_${body(36, undefined, 8)}`, 'push failed ({}, retrying)'],
];

describe('secrets beyond the catalogue', () => {
  for (const [name, secret, template] of SECRETS)
    it(`catches a ${name}`, () => {
      const out = clean(template.replace('{}', secret));
      expect(out).not.toContain(secret);
      expect(out).toContain('[REDACTED]');
    });

  it('catches a token in a JSON array element, a nested object, an object key and a CSV cell', () => {
    const token = `sk-${body(48, undefined, 9)}`;
    const doc: Record<string, unknown> = {
      args: ['retry', `using ${token}`],
      context: { request: { detail: [token] } },
      codecarbon: { note: token },
      [token]: 1,
    };
    const n = sanitizer.sanitizeDocument(doc);
    expect(JSON.stringify(doc)).not.toContain(token);
    expect(n).toBeGreaterThanOrEqual(4);
  });

  it('catches a key that names a file, as a path label does, and keeps the extension', () => {
    const token = `odt_${body(32, undefined, 11)}`;
    expect(clean(`/var/log/tta/${token}.log`)).toBe('/var/log/tta/[REDACTED].log');
  });

  it("catches tokens of a layout inside a report's function name and key", () => {
    const jwt = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.${body(43, undefined, 12)}`;
    const discord = 'MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs';
    const thingsboard = 'https://thingsboard.cloud/api/v1/354u1g321kcqc1oad3w7/telemetry';
    for (const token of [jwt, discord, 'AP6xxxxxxxxxx', 'Bearer: ciotgp8BGZBlX192iExSQPm0SrUlBunG8zd'])
      for (const name of [`upload_${token}`, `upload_${token}_2026-12-07T10:00:00.123456`]) expect(clean(name), name).not.toContain(token.slice(-12));
    expect(clean(`upload_${thingsboard}_2026-12-07T10:00:00`)).not.toContain('354u1g321kcqc1oad3w7');
  });

  it("catches a key inside a report's function name and key", () => {
    const token = `sk-ant-api03-${body(70, undefined, 10)}`;
    expect(clean(`upload_${token}`)).not.toContain(token);
    expect(clean(`upload_${token}_2026-12-07T10:00:00.123456`)).not.toContain(token);
  });
});

describe('look-alikes left alone', () => {
  const LOOKS: [string, string][] = [
    ['base64 of English text', Buffer.from('The carbon report was generated on time').toString('base64')],
    ['a 40-character CamelCase class name with digits', 'ReportGeneratorService2FactoryBuilder40X'],
    ['an identifier made of words after a secret word', 'token refresh handler ScheduledTokenRefreshHandlerImpl2026'],
    ['a UUID after a secret word', 'session token 743b294a-cd03-41ec-9d64-0242ac120002 expired'],
    ['a digest named as such', 'secret file sha256 9f86d081884c7d659a2feaf0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
    ['a report key with its time', 'get_token_2026-12-07T10:00:00.123456'],
    ['a file name after a secret word', 'wrote secrets/emissions_20261207_100000.json'],
    ['a repeated pattern', 'api key abcd1234abcd1234abcd1234abcd1234'],
    ['a lone word after a colon, closed by a call', 'login(password: required)'],
  ];
  for (const [name, text] of LOOKS)
    it(`leaves ${name}`, () => {
      expect(clean(text)).toBe(text);
    });
});

// Secrets known by the layout of their format (formats.ts) and assignments as other
// languages write them: what the second corpus held beyond the first.
describe('secrets by their format', () => {
  const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./';
  const jwtPart = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const FORMATS: [string, string, string][] = [
    ['bcrypt hash', `$2b$12$${body(53, b64, 21)}`, 'user row: hash={}'],
    ['SHA-512 crypt hash', `$6$${body(8, b64, 22)}$${body(86, b64, 23)}`, 'shadow entry root:{}:19000:0:99999:7:::'],
    [
      'Discord bot token',
      `${Buffer.from('812345678901234567').toString('base64').replace(/=+$/, '')}.${body(6, undefined, 24)}.${body(27, undefined, 25)}`,
      'discord client started with {}',
    ],
    ['Telegram bot token', `7213${body(6, '0123456789', 26)}:AA${body(33, undefined, 27)}`, 'POST https://api.telegram.org/bot{}/sendMessage failed'],
    ['unsigned JWT', `${jwtPart({ alg: 'none', typ: 'JWT' })}.${jwtPart({ sub: 'tta-user', iat: 1765100000 })}`, 'Authorization header carried {}'],
    ['Docker Hub token after -u and -p', `dckr_pat_${body(27, undefined, 28)}`, 'docker login -u tta -p {}'],
    ['Mailchimp key', `${body(32, '0123456789abcdef', 29)}-us21`, 'mailchimp client {} ready'],
    ['Teams webhook', `https://tta.webhook.office.com/webhookb2/${body(40, undefined, 30)}`, 'posting alert to {}'],
    ['Artifactory API key', `AKCp8${body(68, undefined, 32)}`, 'X-JFrog-Art-Api: {}'],
    ['Artifactory identity token', `AP6${body(20, undefined, 33)}`, 'artifactory_token={}'],
    ['Azure DevOps PAT (AZDO form)', `${body(76, undefined, 34)}AZDO${body(4, undefined, 35)}`, 'az devops login --token {}'],
    ['Azure DevOps PAT (base32 form) after a name saying pat', body(52, 'abcdefghijklmnopqrstuvwxyz234567', 36), 'ado_pat = "{}"'],
    ["curl's -u user:password", body(40, undefined, 37), 'curl -u client-id:{} https://api.example.org/token'],
    ['Twilio API key SID', `SK${body(32, '0123456789abcdef', 38)}`, 'twilio.rest.Client({}, secret)'],
    ['Django secret key', `django-insecure-${body(50, undefined, 39)}`, "SECRET_KEY = '{}'"],
    ['PEM encoded again in base64', Buffer.from(`-----BEGIN RSA PRIVATE KEY-----\n${body(64, undefined, 40)}`).toString('base64'), 'PRIVATE_KEY_B64={}'],
    ['TrueNAS API key', `12-${body(64, undefined, 41)}`, '"method":"auth.login_with_api_key","params":["{}"]'],
    ['ThingsBoard device token in its URL', body(20, 'abcdefghijklmnopqrstuvwxyz0123456789', 42), 'POST https://thingsboard.cloud/api/v1/{}/telemetry'],
    ['SoftLayer key in its URL', body(64, 'abcdef0123456789', 43), 'GET https://api.softlayer.com/rest/v3/{}/SoftLayer_Account'],
    ['Vault unseal key share', Buffer.from(body(33, undefined, 44)).toString('base64'), 'vault operator unseal {}'],
    ['Vault legacy service token', `s.${body(24, undefined, 45)}`, 'export VAULT_TOKEN=x; vault login -method=token {}'],
    ['Jenkins crumb', body(32, 'abcdef0123456789', 46), "-H 'Jenkins-Crumb:{}'"],
    ['an appSettings password', `Q${body(12, undefined, 47)}9`, '<add key="SmtpPassword" value="{}"/>'],
    ['AWS key id with an A3T prefix', `A3TX${body(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 48)}`, 'aws configure set aws_access_key_id {}'],
  ];
  for (const [name, secret, template] of FORMATS)
    it(`catches a ${name}`, () => {
      const out = clean(template.replace('{}', secret));
      expect(out, out).not.toContain(secret);
      expect(out).toContain('[REDACTED]');
    });

  it('catches what each product names its own way', () => {
    const cases: [string, string][] = [
      ['Authorization: SSWS 00QCjAl4MlV-WPXM-ABCDEFGHIJKL-0HmjFx-vbGua', '0HmjFx-vbGua'],
      ['postmark: "f59dffd2-83ea-47c7-ba8f-95e053a6d0ae",', 'f59dffd2'],
      ['variable "corp_okta_api_token" {\n  default = "004EWTpRQT_HJtG_nL-agxacgzYHjxPcF99kJsFzWg"\n}', '004EWTpRQT'],
      ['Please use the following password to proceed to installation:\n\n    bd9627decc6346d780b3b6ab6ea8fe1f\n', 'bd9627decc63'],
      ['<add key="ConnectionString_B2B" value="Server=db1,1433;User ID=b2b;Password=#gets0m3;Trusted_Connection=False" />', 'gets0m3'],
    ];
    for (const [text, secret] of cases) expect(clean(text), text).not.toContain(secret);
  });

  const ASSIGNED: [string, string][] = [
    ["Go's :=", 'apiKey := "{}"'],
    ["Ruby's =>", ':password => "{}",'],
    ['a comparison with a literal', 'if creds.Secret != "{}" {'],
    ['a PowerShell -Password flag', 'Connect-VIServer -Server vc01 -User admin -Password {}'],
    ['a netrc entry', 'machine api.example.org login tta password {}'],
    ["Gradle's password 'x'", "credentials { username 'tta'; password '{}' }"],
    ['a NetworkCredential after a name read as a token', 'Credentials = new-object System.Net.NetworkCredential("tta", "{}");'],
    ['a name ending in key, without the catalogue knowing it', 'softlayer_api_key := {}'],
  ];
  const word = `Q${body(15, undefined, 31)}7`;
  for (const [name, template] of ASSIGNED)
    it(`catches a value after ${name}`, () => {
      const out = clean(template.replace('{}', word));
      expect(out, out).not.toContain(word);
    });

  const LEFT: [string, string][] = [
    ['a camelCase variable as the value', 'let accountKey = $accountKey;'],
    ['format placeholders', 'AccountName={2};AccountKey={3};'],
    ['a bracketed placeholder', 'SharedAccessKey=[Shared Access key goes here];'],
    ['a path after -u and -p', 'rsync-wrapper -u tta -p /var/log/tta'],
    ['a password read from stdin', 'docker login --password-stdin -u tta'],
    ['a password flag naming a variable', 'psexec \\\\host -u admin -p $Password -i'],
    ['shell positional parameters', 'echo $1$2 and $1$HOME'],
    ['an upper-case word that starts as an Artifactory token does', 'APACHE2SERVER restarted'],
    ['curl -u naming a variable', 'curl -u tta:$TOKEN https://api.example.org'],
    // Code around a credential key, as logs quote it (an independent corpus's look-alikes).
    ['a PHP array read after the key', "echo 'password = '.$p['config']['daemon_password'];"],
    ['a shell splicing a variable into quotes', `echo 'export DATABASE_PASSWORD="'$PRECOMPILE_PASSWORD'"' >> .env`],
    ['string literals joined around a call', 'sb.append("MasterUserPassword: " + getMasterUserPassword() + ",");'],
    ['a quote inside what would be a URL userinfo', "'https://url:8000';@something else"],
    // Values that are code, references or placeholders (the independent corpus's, round 2).
    ['a C cast after pwd =', 'pwd = (char *) (p + ulen + 2);'],
    ['a superglobal read after $pwd =', '\\$pwd = \\$_POST[\\"password\\"];'],
    ['names run together', '"password": "$super$ecret",'],
    ['a variable and a path', 'REACT_APP_FORGOT_PASSWORD=$REACT_APP_BASE_URL/classroom/#/forgot_password'],
    ["an element's id", 'this.addPassword = "#add-password";'],
    ['a route made of words', "put '/forgot-password' => \"cms/sites/passwords#update\", as: 'update_password'"],
    ['a path made of words', '"/en/authentication/creating-a-strong-password":"/en/enterprise-server@3.0/auth"'],
    ['a mask of x', 'string backend_pass = "XXXXXXXXXXXXX";'],
    ['a zero-filled key', 'okta_api_token: 000000000000000000000000000000000000000000aa'],
    ['a placeholder typed as a walk, under a key', ' --set global.licenseKey=a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8NRAL'],
    ['an identifier of words after a prefix', 'glimt-my-tokens_are-correctAB'],
    ['a name repeated after a prefix', 'gloas-checking_Length-Is-checking_Length-Is-'],
  ];
  for (const [name, text] of LEFT)
    it(`leaves ${name}`, () => {
      expect(clean(text)).toBe(text);
    });
});
