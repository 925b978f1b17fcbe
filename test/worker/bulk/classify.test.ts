import { describe, expect, it } from 'vitest';
import { classifyItem, classifyRequestError, waitCause } from '../../../src/worker/bulk/classify.js';

describe('classifyItem', () => {
  it('counts 2xx as indexed and 409 as an earlier delivery', () => {
    expect(classifyItem({ status: 201 })).toEqual({ kind: 'indexed', duplicate: false });
    expect(classifyItem({ status: 409, error: { type: 'version_conflict_engine_exception' } })).toEqual({ kind: 'indexed', duplicate: true });
  });

  it('retries 429, 5xx and unavailable shards', () => {
    for (const status of [429, 500, 502, 503, 504]) expect(classifyItem({ status }).kind).toBe('retry');
    expect(classifyItem({ status: 400, error: { type: 'unavailable_shards_exception' } }).kind).toBe('retry');
  });

  it('dead-letters mapping and parse rejections with the reason', () => {
    const o = classifyItem({
      status: 400,
      error: {
        type: 'document_parsing_exception',
        reason: 'failed to parse field [log.offset]',
        caused_by: { type: 'illegal_argument_exception', reason: 'For input string: "x"' },
      },
    });
    expect(o).toEqual({
      kind: 'dead',
      type: 'document_parsing_exception',
      reason: 'failed to parse field [log.offset] (caused by illegal_argument_exception: For input string: "x")',
    });
  });
});

describe('classifyRequestError', () => {
  it('retries connection errors and flags configuration problems', () => {
    expect(classifyRequestError(Object.assign(new Error('connect ECONNREFUSED'), { name: 'ConnectionError' }))).toMatchObject({
      kind: 'retry',
      configProblem: false,
    });
    expect(classifyRequestError(Object.assign(new Error('unauthorized'), { name: 'ResponseError', meta: { statusCode: 401 } }))).toMatchObject({
      kind: 'retry',
      configProblem: true,
    });
  });
});

describe('why a batch waits', () => {
  it('names writes blocked, overload and unavailability from the retry reason', () => {
    expect(
      waitCause(
        'cluster_block_exception: index [x] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block]',
      ),
    ).toBe('writes_blocked');
    expect(waitCause('es_rejected_execution_exception: rejected execution of coordinating operation')).toBe('overloaded');
    expect(waitCause('ResponseError: status 429')).toBe('overloaded');
    expect(waitCause('ConnectionError: connect ECONNREFUSED 127.0.0.1:9200')).toBe('unavailable');
    expect(waitCause('unavailable_shards_exception: primary shard is not active')).toBe('unavailable');
  });
});
