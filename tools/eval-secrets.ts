import { type Corpus, INDEPENDENT_CORPUS, independentCorpus, repositoryCorpus } from '../test/fixtures/secrets/corpora.js';
import { builtDocuments, judge, shapedBatches, verdictSummary, verdictTable } from '../test/fixtures/secrets/shapes.js';

// npm run eval:secrets [-- --verbose]: recall and look-alike damage of the sanitizer on
// each corpus, separately, per kind, with every sample in every shape our inputs have,
// built into documents as a worker builds them (in process; the same corpora go
// through a real worker into Elasticsearch in test/e2e/secrets-corpus.test.ts).

const verbose = process.argv.includes('--verbose');

function evaluate(corpus: Corpus): void {
  const s = shapedBatches(corpus.secrets, `${corpus.name}-secrets`);
  const l = shapedBatches(corpus.looks, `${corpus.name}-looks`);
  const started = process.hrtime.bigint();
  const docs = builtDocuments([...s.batches, ...l.batches]);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const v = judge(docs, s.placed, l.placed);
  console.log(`\n## ${corpus.name} corpus: ${verdictSummary(v)}; ${docs.length} documents built in ${ms.toFixed(0)} ms\n`);
  console.log(verdictTable(v));
  if (verbose) {
    for (const [sample, shapes] of v.missed) console.log('MISSED', sample.kind, shapes.join(','), JSON.stringify(sample.text).slice(0, 200), sample.source ?? '');
    for (const [sample, shapes] of v.damaged) console.log('DAMAGED', sample.kind, shapes.join(','), JSON.stringify(sample.text).slice(0, 200), sample.source ?? '');
  }
}

evaluate(repositoryCorpus());
const independent = independentCorpus();
if (independent) evaluate(independent);
else
  console.log(
    `\nThe independent corpus is not at ${INDEPENDENT_CORPUS}: extract it with python3 tools/secrets-corpus.py --detect-secrets DIR --noseyparker DIR (checkouts of Yelp/detect-secrets and praetorian-inc/noseyparker).`,
  );
