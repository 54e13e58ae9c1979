// Interactive use (issue 15), on the whole platform, in one run:
//   streaming  a 5 s program that prints as it goes: time to its first streamed byte
//              (POST ?stream=true) against time to its whole result (the baseline: ?wait=true)
//   contexts   a cell in a warm interpreter context (`x + 1`) against a plain warm execution of the
//              same session (`print(1)`, the baseline: a fresh interpreter forked per run)
// Usage: npm run bench:interactive   (writes tools/bench/results/interactive.json)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventStream, REPO_ROOT, TestPlatform } from '@sandbox/testing';

const STREAM_RUNS = 3;
const WARM_RUNS = 100;
const FIVE_SECONDS = 'import time\nfor i in range(10):\n    print("tick", i, flush=True)\n    time.sleep(0.5)';

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const round = (n: number) => Math.round(n * 100) / 100;
const since = (t0: number) => performance.now() - t0;

async function main(): Promise<void> {
  const p = await TestPlatform.start('bench-interactive', { warmPool: 'python-basic=2' });
  try {
    const s = await p.session();
    const firstByte: number[] = [];
    const streamedWhole: number[] = [];
    const waitedWhole: number[] = [];
    for (let i = 0; i < STREAM_RUNS; i++) {
      const t0 = performance.now();
      const stream = await EventStream.open(`${p.url}/v1/sessions/${s.id}/executions?stream=true`, p.authorization(), 'POST', { code: FIVE_SECONDS });
      for (let e = await stream.next(); e; e = await stream.next()) {
        if (e.event === 'stdout' && firstByte.length === i) firstByte.push(since(t0));
        if (e.event === 'result') streamedWhole.push(since(t0));
      }
      const t1 = performance.now();
      await p.execute(s.id, { code: FIVE_SECONDS });
      waitedWhole.push(since(t1));
    }
    const context = (await p.api('POST', `/v1/sessions/${s.id}/contexts`, {})).body;
    await p.execute(s.id, { code: 'x = 41', context_id: context.id });
    const plain: number[] = [];
    const cells: number[] = [];
    for (let i = 0; i < WARM_RUNS; i++) {
      let t0 = performance.now();
      await p.execute(s.id, { code: 'print(1)' });
      plain.push(since(t0));
      t0 = performance.now();
      const cell = await p.execute(s.id, { code: 'x + 1', context_id: context.id });
      cells.push(since(t0));
      if (cell.results[0]?.data['text/plain'] !== '42') throw new Error(`unexpected cell result: ${JSON.stringify(cell.results)}`);
    }
    const result = {
      date: new Date().toISOString(),
      streaming: {
        program: '10 lines, 0.5 s apart (5 s)',
        runs: STREAM_RUNS,
        first_streamed_byte_p50_ms: round(q(firstByte, 0.5)),
        streamed_result_p50_ms: round(q(streamedWhole, 0.5)),
        baseline_wait_result_p50_ms: round(q(waitedWhole, 0.5)),
        first_byte_vs_whole_result: round(q(firstByte, 0.5) / q(waitedWhole, 0.5)),
      },
      contexts: {
        runs: WARM_RUNS,
        cell_p50_ms: round(q(cells, 0.5)),
        cell_p95_ms: round(q(cells, 0.95)),
        baseline_plain_p50_ms: round(q(plain, 0.5)),
        baseline_plain_p95_ms: round(q(plain, 0.95)),
        cell_vs_plain_p50: round(q(cells, 0.5) / q(plain, 0.5)),
      },
    };
    writeFileSync(join(REPO_ROOT, 'tools/bench/results/interactive.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await p.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
