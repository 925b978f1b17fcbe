import { describe, expect, it } from 'vitest';
import { cleanLabels } from '../../../src/common/metrics/http.js';
import { Sanitizer } from '../../../src/worker/sanitize/sanitizer.js';

const sanitizer = new Sanitizer({ enabled: true, extraKeys: [], extraPatterns: [], location: 'round', emails: true });
const clean = (t: string) => sanitizer.sanitizeString(t).text;

describe('cleanLabels', () => {
  it('reads a label value unescaped: a quoted secret is caught and the result escaped again', () => {
    const secret = 'K9x!sBiklGoNv0Qz';
    const value = `{"config": {"DB_PASSWORD": "${secret}"}}\\back\nline`;
    const escaped = value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
    const out = cleanLabels(`m{path="${escaped}",role="worker"} 1\n`, clean);
    expect(out).not.toContain(secret);
    expect(out).toBe(`m{path="${'{\\"config\\": {\\"DB_PASSWORD\\": \\"[REDACTED]\\"}}\\\\back\\nline'}",role="worker"} 1\n`);
  });

  it('leaves a clean exposition byte for byte', () => {
    const text = 'm{path="/var/log/tta/carbon.log",fn="a\\\\b \\"q\\""} 1\n';
    expect(cleanLabels(text, clean)).toBe(text);
  });
});
