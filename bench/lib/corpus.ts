// A realistic carbon.log mix, as DESIGN.md describes it: Python logging text in both
// forms, JSON lines, and multi-line tracebacks. Deterministic for a given seed.

import { rng } from '../../test/helpers/random.js';

export function* carbonLogRecords(count: number, seed = 1): Generator<string> {
  const rand = rng(seed);
  const fns = ['generate_narrative', 'embed_scene', 'summarize_session', 'plan_arc', 'score_choice'];
  const loggers = ['src.components.carbon_component', 'src.components.llm_component', 'codecarbon', 'src.orchestration.component'];
  const start = Date.now() - 3_600_000;
  for (let i = 0; i < count; i++) {
    const fn = fns[Math.floor(rand() * fns.length)]!;
    const logger = loggers[Math.floor(rand() * loggers.length)]!;
    const t = new Date(start + i * 10);
    const r = rand();
    if (r < 0.45) yield `INFO:${logger}:${fn} emitted ${(rand() / 1000).toFixed(6)} kg CO2eq`;
    else if (r < 0.75) yield `${asctime(t)} - ${logger} - INFO - Carbon component started with output directory: /var/log/tta/staging/codecarbon`;
    else if (r < 0.95)
      yield JSON.stringify({
        timestamp: t.toISOString(),
        level: 'warning',
        logger,
        message: `tracked ${fn}`,
        duration_ms: Math.floor(rand() * 9000),
        token_count: Math.floor(rand() * 5000),
      });
    else
      yield `ERROR:${logger}:Exception in ${fn}: division by zero\nTraceback (most recent call last):\n  File "/opt/tta/staging/src/components/${fn}.py", line ${Math.floor(rand() * 400)}, in ${fn}\n    result = total / count\nZeroDivisionError: division by zero`;
  }
}

function asctime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}
