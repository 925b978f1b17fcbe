import { describe, expect, it } from 'vitest';
import { Sanitizer } from '../../../src/worker/sanitize/sanitizer.js';
import { LOOKALIKES, SECRET_CASES } from '../../fixtures/secrets.js';

const sanitizer = new Sanitizer({ enabled: true, extraKeys: ['x_internal'], extraPatterns: ['TTA-[0-9]{6}'], location: 'round', emails: true });

describe('Sanitizer', () => {
  it('has a corpus of at least 60 secret-bearing inputs', () => {
    expect(SECRET_CASES.length).toBeGreaterThanOrEqual(60);
  });

  for (const c of SECRET_CASES) {
    it(`redacts: ${c.name}`, () => {
      const doc = structuredClone(c.doc);
      const count = sanitizer.sanitizeDocument(doc);
      const text = JSON.stringify(doc);
      for (const secret of c.secrets) expect(text).not.toContain(secret);
      expect(count).toBeGreaterThanOrEqual(1);
      expect(text).toContain('REDACTED');
    });
  }

  it('leaves look-alikes exactly as they were', () => {
    for (const original of LOOKALIKES) {
      const doc = structuredClone(original);
      expect(sanitizer.sanitizeDocument(doc)).toBe(0);
      expect(doc).toEqual(original);
    }
  });

  it('applies configured keys and patterns', () => {
    const doc = { x_internal: 'abc', message: 'ticket TTA-123456 opened' };
    expect(sanitizer.sanitizeDocument(doc)).toBe(2);
    expect(doc).toEqual({ x_internal: '[REDACTED]', message: 'ticket [REDACTED] opened' });
  });

  it('rounds or removes codecarbon location', () => {
    const doc = { codecarbon: { latitude: 53.8729, longitude: -14.879503 } };
    sanitizer.sanitizeDocument(doc);
    expect(doc.codecarbon).toEqual({ latitude: 53.9, longitude: -14.9 });
    const removing = new Sanitizer({ enabled: true, extraKeys: [], extraPatterns: [], location: 'remove', emails: true });
    const doc2 = { codecarbon: { latitude: 53.8729, longitude: -14.879503, country_name: 'Germany' } };
    removing.sanitizeDocument(doc2);
    expect(doc2.codecarbon).toEqual({ country_name: 'Germany' });
  });

  it('keeps the shape of key=value text and quotes', () => {
    expect(sanitizer.sanitizeString('a password=xyz123 b').text).toBe('a password=[REDACTED] b');
    expect(sanitizer.sanitizeString('{"token": "abc"}').text).toBe('{"token": "[REDACTED]"}');
    expect(sanitizer.sanitizeString('postgres://u:p4ss@h/db').text).toBe('postgres://u:[REDACTED]@h/db');
  });

  it('stays linear on adversarial 1 MiB strings (no regex backtracking blow-up)', () => {
    const M = 1024 * 1024;
    const shapes = {
      letters: 'y'.repeat(M),
      dashes: 'x-'.repeat(M / 2),
      dots: 'a.'.repeat(M / 2),
      ats: 'a@'.repeat(M / 2),
      equals: 'k='.repeat(M / 2),
      schemes: 'a://'.repeat(M / 4),
      jwtish: 'eyJa.'.repeat(M / 5),
      mail: `${'a'.repeat(50)}@`.repeat(M / 51),
      base64: 'aB3/'.repeat(M / 4),
    };
    for (const [name, text] of Object.entries(shapes)) {
      const started = performance.now();
      sanitizer.sanitizeString(text);
      expect(performance.now() - started, name).toBeLessThan(3000);
    }
  });

  it('does nothing when disabled', () => {
    const off = new Sanitizer({ enabled: false, extraKeys: [], extraPatterns: [], location: 'round', emails: true });
    const doc = { password: 'x' };
    expect(off.sanitizeDocument(doc)).toBe(0);
    expect(doc.password).toBe('x');
  });
});
