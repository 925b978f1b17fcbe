import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/index.js';
import { createElasticsearch } from '../../src/common/elasticsearch/client.js';
import { services } from '../helpers/services.js';

// Issue #19: elasticsearch.nodes (ELASTICSEARCH_NODES). One node of the list is down: a
// request that finds it dead goes on to another node, and the dead one is left out.

describe('elasticsearch.nodes', () => {
  it('spreads requests over the nodes and leaves a dead one out', async () => {
    const config = loadConfig({ env: { ELASTICSEARCH_NODES: `http://127.0.0.1:1, ${services.elasticsearchUrl}` } });
    expect(config.elasticsearch.nodes).toEqual(['http://127.0.0.1:1', services.elasticsearchUrl]);
    const client = await createElasticsearch(config.elasticsearch);
    try {
      const outcomes: boolean[] = [];
      for (let i = 0; i < 8; i++)
        outcomes.push(
          await client.cluster.health().then(
            () => true,
            () => false,
          ),
        );
      expect(outcomes).toEqual(Array(8).fill(true));
    } finally {
      await client.close();
    }
  });
});
