// Workspace sync, measured against a plain copy of the same files on this machine, in one run:
//   push: the files a run wrote go from the container to the store (scan, read through the executor,
//         upload under the attempt's keys, commit to the manifest on MariaDB fenced by the attempt)
//   pull: a fresh container gets them back (manifest pages, download, write through the executor)
//   unchanged: the next execution's push from that container, which changed nothing (nothing uploaded)
//   baseline: `cp -r` of the same files between two host directories
// for 10 small files and for 100 MiB, on the stack's S3 server (s3rver) and on the filesystem driver.
// Usage: npm run bench:workspace   (writes tools/bench/results/workspace-sync.json)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_WORKSPACE_LIMITS } from '@sandbox/domain';
import { DockerRuntime, type Sandbox } from '@sandbox/runtime';
import { createTestManifest, createTestStore, REPO_ROOT, testSandboxSpec } from '@sandbox/testing';
import { freshWorkspace, type SyncLog, WorkspaceSync } from '@sandbox/workspace-sync';

const ROUNDS = 5;
const CASES = [
  { name: '10 files of 1 KiB', files: Array.from({ length: 10 }, (_, i) => ({ path: `small/f${i}.txt`, size: 1024 })) },
  { name: '100 MiB (one file)', files: [{ path: 'big/data.bin', size: 100 << 20 }] },
];

const runtime = new DockerRuntime({ socketPath: '/var/run/docker.sock', executorGraceMs: 5000 });
const nodeId = `bench-${randomBytes(3).toString('hex')}`;
const quiet: SyncLog = { info() {}, warn() {} };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function sandbox(): Promise<Sandbox> {
  // room for the 100 MiB case
  return runtime.create(testSandboxSpec(nodeId, { memoryBytes: 1 << 30, diskBytes: 512 << 20, fsizeBytes: 512 << 20 }));
}

function copyBaseline(files: { path: string; size: number }[]): number {
  const src = mkdtempSync(join(tmpdir(), 'bench-src-'));
  const dst = mkdtempSync(join(tmpdir(), 'bench-dst-'));
  for (const f of files) {
    mkdirSync(join(src, f.path, '..'), { recursive: true });
    writeFileSync(join(src, f.path), randomBytes(f.size));
  }
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    rmSync(join(dst, 'w'), { recursive: true, force: true });
    const t0 = performance.now();
    execFileSync('cp', ['-r', src, join(dst, 'w')]);
    times.push(performance.now() - t0);
  }
  rmSync(src, { recursive: true, force: true });
  rmSync(dst, { recursive: true, force: true });
  return median(times);
}

async function measure(driver: 's3' | 'fs', files: { path: string; size: number }[]) {
  const t = await createTestStore(driver);
  const m = await createTestManifest('bench');
  const sync = new WorkspaceSync(t.store, m.manifest, quiet, 600_000);
  const writer = await sandbox();
  const push: number[] = [];
  const pull: number[] = [];
  const unchanged: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const a = await m.attempt();
      const state = freshWorkspace();
      await sync.pull(writer, state, a.session);
      const code = ['import os', ...files.map((f) => `os.makedirs(os.path.dirname(${JSON.stringify(f.path)}), exist_ok=True)\nopen(${JSON.stringify(f.path)}, "wb").write(os.urandom(${f.size}))`)].join('\n');
      const wrote = await writer.run({ id: `w${round}`, language: 'python', code, timeoutMs: 60_000, maxOutputBytes: 4096 });
      if (wrote.exitCode !== 0) throw new Error(`writing the files failed: ${wrote.stderr.toString()}`);
      let t0 = performance.now();
      const pushed = await sync.push(writer, state, a.session, DEFAULT_WORKSPACE_LIMITS, null, a.fence);
      push.push(performance.now() - t0);
      if (pushed.artifacts.length !== files.length) throw new Error(`pushed ${pushed.artifacts.length} of ${files.length} files`);
      const reader = await sandbox();
      try {
        const fresh = freshWorkspace();
        t0 = performance.now();
        await sync.pull(reader, fresh, await m.current(a.session.id));
        pull.push(performance.now() - t0);
        if (fresh.manifest.size !== files.length) throw new Error(`pulled ${fresh.manifest.size} of ${files.length} files`);
        const next = await m.next(a);
        t0 = performance.now();
        const again = await sync.push(reader, fresh, next.session, DEFAULT_WORKSPACE_LIMITS, null, next.fence);
        unchanged.push(performance.now() - t0);
        if (again.artifacts.length) throw new Error(`${again.artifacts.length} unchanged files uploaded again`);
      } finally {
        reader.detach();
        await runtime.remove(reader.containerId);
      }
      await writer.wipe();
    }
  } finally {
    writer.detach();
    await runtime.remove(writer.containerId);
    await t.drop();
    await m.drop();
  }
  return { push_ms: median(push), pull_ms: median(pull), unchanged_ms: median(unchanged) };
}

async function main(): Promise<void> {
  const results = [];
  for (const c of CASES) {
    const bytes = c.files.reduce((n, f) => n + f.size, 0);
    const copy = copyBaseline(c.files);
    for (const driver of ['s3', 'fs'] as const) {
      const r = await measure(driver, c.files);
      results.push({
        case: c.name,
        store: driver === 's3' ? 's3 (s3rver on loopback)' : 'fs',
        files: c.files.length,
        bytes,
        copy_ms: +copy.toFixed(2),
        push_ms: +r.push_ms.toFixed(1),
        pull_ms: +r.pull_ms.toFixed(1),
        unchanged_push_ms: +r.unchanged_ms.toFixed(1),
        push_vs_copy: +(r.push_ms / copy).toFixed(1),
        pull_vs_copy: +(r.pull_ms / copy).toFixed(1),
        push_mib_s: +(bytes / (1 << 20) / (r.push_ms / 1000)).toFixed(1),
      });
    }
  }
  const report = { measured_at: new Date().toISOString(), machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`, rounds: ROUNDS, results };
  mkdirSync(join(REPO_ROOT, 'tools/bench/results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'tools/bench/results/workspace-sync.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nWorkspace sync, median of ${ROUNDS} rounds (${report.machine})\n`);
  console.log('| case | store | cp -r | push | pull | unchanged push | push / cp | pull / cp | push MiB/s |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(`| ${r.case} | ${r.store} | ${r.copy_ms} ms | ${r.push_ms} ms | ${r.pull_ms} ms | ${r.unchanged_push_ms} ms | ${r.push_vs_copy}× | ${r.pull_vs_copy}× | ${r.push_mib_s} |`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
