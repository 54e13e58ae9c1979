import { once } from 'node:events';
import { type Execution, type RunOptions, type SandboxSession } from '@sandbox/sdk';
import { type Output } from './output';

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/**
 * The exit code a finished execution stands for, as a shell would give it: the program's own; 124
 * for a wall-time timeout (as timeout(1)); 128 + n for a program killed by signal n; else 1.
 */
export function exitCodeOf(e: Execution | null): number {
  if (!e) return 1;
  if (e.status === 'timeout') return 124;
  const code = num(e.exit_code);
  if (code !== null && code >= 0) return code;
  const signal = e.usage?.signal ? SIGNALS[String(e.usage.signal)] : undefined;
  return signal ? 128 + signal : 1;
}
const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGABRT: 6, SIGFPE: 8, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

/** Why an execution did not complete, for stderr; null when it completed (whatever its exit code). */
export function failureOf(e: Execution): string | null {
  if (e.status === 'completed') return null;
  const reason = e.reason ? ` (${String(e.reason)})` : '';
  const error = typeof e.error === 'string' && e.error ? `: ${e.error}` : '';
  return `execution ${e.id} ${e.status}${reason}${error}`;
}

async function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  // a slow terminal or pipe holds the stream back rather than buffering the whole output here
  if (!stream.write(text)) await once(stream, 'drain');
}

/**
 * Runs `code` in `session` with its output on this process's stdout and stderr as it happens
 * (or, with --json, the finished execution as JSON) and gives the exit code it stands for.
 * `onStarted` gets the execution id, so that Ctrl-C can cancel it.
 */
export async function execute(session: SandboxSession, code: string, opts: RunOptions, o: Output, onStarted: (executionId: string) => void = () => undefined): Promise<number> {
  if (o.json) {
    const started = await session.start(code, opts);
    onStarted(started.id);
    const done = await session.executions.wait(started.id, { signal: opts.signal });
    o.out(`${JSON.stringify(done, null, 2)}\n`);
    return exitCodeOf(done);
  }
  let result: Execution | null = null;
  for await (const ev of session.stream(code, opts)) {
    if (ev.type === 'execution') onStarted(ev.data.id);
    else if (ev.type === 'stdout') await write(process.stdout, ev.data.data);
    else if (ev.type === 'stderr') await write(process.stderr, ev.data.data);
    else if (ev.type === 'attempt' && ev.data.attempt > 1) o.err(`sandbox: its node was lost; attempt ${ev.data.attempt} starts the program over\n`);
    else if (ev.type === 'result') result = ev.data;
  }
  const failure = result && failureOf(result);
  if (failure) o.err(`sandbox: ${failure}\n`);
  return exitCodeOf(result);
}
