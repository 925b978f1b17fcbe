import { afterAll, describe, expect, it } from 'vitest';
import { Client, Serializer } from '@elastic/elasticsearch';
import { BULK_ANSWER, BulkAnswerSerializer } from '../../../src/worker/bulk/answer.js';
import { services, uniqueNames } from '../../helpers/services.js';

const serializer = new BulkAnswerSerializer();

describe('BulkAnswerSerializer', () => {
  it('reads a clean answer cut to BULK_ANSWER without its items, and parses every other answer', () => {
    const items = Array.from({ length: 3 }, () => '{"create":{"status":201}}').join(',');
    expect(serializer.deserialize(`{"errors":false,"items":[${items}]}`)).toEqual({ errors: false, items: [] });
    const failed = '{"errors":true,"items":[{"create":{"status":201}},{"create":{"status":400,"error":{"type":"document_parsing_exception"}}}]}';
    expect(serializer.deserialize(failed)).toEqual(JSON.parse(failed));
    // Not cut (the dead-letter bulk asks for the whole answer): parsed, items included.
    const whole = `{"errors":false,"took":3,"items":[${items}]}`;
    expect(serializer.deserialize(whole)).toEqual(JSON.parse(whole));
    expect(serializer.deserialize('{"cluster_name":"x","status":"green"}')).toEqual({ cluster_name: 'x', status: 'green' });
    // The rest goes to the client's own parser, with its options.
    const odd = '{"a":1,"__proto__":{"polluted":true}}';
    expect(serializer.deserialize(odd)).toEqual(new Serializer().deserialize(odd));
  });

  // Real Elasticsearch: the shape the shortcut relies on is the one it answers with.
  const names = uniqueNames('answer');
  const client = new Client({ node: services.elasticsearchUrl, Serializer: BulkAnswerSerializer });
  const index = `${names.indexPrefix}-answer`;
  afterAll(async () => {
    await client.indices.delete({ index, ignore_unavailable: true });
    await client.close();
  });

  it("takes Elasticsearch's clean answer for clean, and still reads which item of a failed one failed", async () => {
    await client.indices.create({ index, mappings: { properties: { n: { type: 'long' } } } });
    const op = (id: string, n: unknown) => [{ create: { _index: index, _id: id } }, { n }];
    const raw = await fetch(`${services.elasticsearchUrl}/_bulk?filter_path=${BULK_ANSWER.join(',')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${[...op('r1', 1), ...op('r2', 2)].map((l) => JSON.stringify(l)).join('\n')}\n`,
    });
    expect((await raw.text()).startsWith('{"errors":false,"items":[')).toBe(true);
    expect(await client.bulk({ operations: [...op('a', 1), ...op('b', 2)], filter_path: BULK_ANSWER })).toEqual({ errors: false, items: [] });
    const mixed = await client.bulk({ operations: [...op('c', 3), ...op('d', 'not a number'), ...op('a', 1)], filter_path: BULK_ANSWER });
    expect(mixed.errors).toBe(true);
    expect(mixed.items.map((i) => i.create?.status)).toEqual([201, 400, 409]);
  });
});
