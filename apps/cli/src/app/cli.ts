import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type ApiKeyScope, type RunOptions, Sandbox, type SandboxSession, type Session } from '@sandbox/sdk';
import { resolveConfig } from './config';
import { execute } from './execute';
import { EXIT, type Output, print, reportError, stdio, table, UsageError } from './output';
import { Spinner } from './spinner';

// the language a file's extension says; --language wins
const LANGUAGE_OF_EXTENSION: Readonly<Record<string, string>> = {
  '.py': 'python',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.sh': 'bash',
  '.bash': 'bash',
  '.c': 'c',
  '.cpp': 'cpp',
  '.cc': 'cpp',
  '.cxx': 'cpp',
};

interface GlobalOptions {
  readonly url?: string;
  readonly apiKey?: string;
  readonly json?: boolean;
}

interface RunFlags {
  readonly template?: string;
  readonly language?: string;
  readonly stdin?: string;
  readonly timeout?: number;
}

export interface CliEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** stdin as text, for FILE or CODE given as "-". */
  readonly readStdin: () => string;
}

const positiveInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} is a whole number of at least 1`);
  return n;
};

/** TEXT, or the content of a file for @FILE (as curl's -d does). */
function textOrFile(value: string): string {
  if (!value.startsWith('@')) return value;
  try {
    return readFileSync(value.slice(1), 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${value.slice(1)}: ${(e as Error).message}`);
  }
}

/**
 * The `sandbox` command. Resolves to the exit code: the program's own for `run` and `exec`, 1 for an
 * API error, 2 for a usage error. Nothing here exits the process.
 */
export async function runCli(argv: readonly string[], host: CliEnvironment): Promise<number> {
  let exitCode: number = EXIT.ok;
  let output: Output = stdio(argv.includes('--json'));
  const program = new Command('sandbox')
    .description('Run code in sandboxes of the platform, and manage its sessions, files, nodes and API keys.')
    .option('--url <url>', 'API address (env SANDBOX_URL; default http://127.0.0.1:8000)')
    .option('--api-key <key>', 'API key (env SANDBOX_API_KEY)')
    .option('--json', 'machine-readable output (JSON on stdout)')
    .showHelpAfterError('(sandbox --help lists the commands)')
    .exitOverride();
  const setup = (cmd: Command) => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    output = stdio(Boolean(g.json));
    const config = resolveConfig({ flags: { url: g.url, apiKey: g.apiKey }, env: host.env });
    return { o: output, sbx: new Sandbox({ apiKey: config.apiKey, baseUrl: config.url }) };
  };
  const runOptions = (flags: RunFlags, language: string | undefined): RunOptions => ({
    language,
    stdin: flags.stdin === undefined ? undefined : textOrFile(flags.stdin),
    timeout: flags.timeout,
  });
  const runFlags = (cmd: Command) =>
    cmd
      .option('-l, --language <language>', "language of the code (default: from the file's extension, else the template's)")
      .option('--stdin <text>', 'standard input: TEXT, or @FILE for the content of a file')
      .option('--timeout <seconds>', 'wall-time limit of the program', positiveInt('--timeout'));

  runFlags(
    program
      .command('run')
      .description("run a file in a new session, its output streamed as it happens; exits with the program's exit code")
      .argument('<file>', 'the program; - reads it from stdin')
      .option('-t, --template <template>', 'template of the session (default: one that runs the language)'),
  ).action(async (file: string, flags: RunFlags, cmd: Command) => {
    const { o, sbx } = setup(cmd);
    let code: string;
    try {
      code = file === '-' ? host.readStdin() : readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
    const language = flags.language ?? LANGUAGE_OF_EXTENSION[extname(file).toLowerCase()];
    const template = flags.template ?? (await templateFor(sbx, language, file));
    const spinner = new Spinner(`creating a session of ${template}…`, process.stderr, process.stderr.isTTY === true && !o.json).start();
    let session: SandboxSession;
    try {
      session = await sbx.sessions.create({
        template,
        onPoll: (s) => spinner.update(s.placement ? `waiting for a node (position ${s.placement.position ?? '?'})…` : `placing the session on a node…`),
      });
    } finally {
      spinner.stop();
    }
    exitCode = await runInSession(session, code, runOptions(flags, language), o, true);
  });

  runFlags(
    program
      .command('exec')
      .description("run code in an existing session, its output streamed; exits with the program's exit code")
      .argument('<session>', 'session id')
      .argument('<code>', 'the code; @FILE for the content of a file, - to read it from stdin'),
  ).action(async (sessionId: string, code: string, flags: RunFlags, cmd: Command) => {
    const { o, sbx } = setup(cmd);
    const text = code === '-' ? host.readStdin() : textOrFile(code);
    exitCode = await runInSession(await sbx.sessions.get(sessionId), text, runOptions(flags, flags.language), o, false);
  });

  const sessions = program.command('sessions').description('list and end sessions');
  sessions
    .command('ls')
    .description('sessions, newest first')
    .addOption(new Option('--status <status>', 'only those in this status').choices(['creating', 'running', 'completed', 'failed', 'timeout', 'terminated']))
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 50)
    .action(async (flags: { status?: Session['status']; limit: number }, cmd: Command) => {
      const { o, sbx } = setup(cmd);
      const page = await sbx.sessions.list({ status: flags.status, limit: flags.limit });
      print(o, page, () =>
        table(
          ['ID', 'TEMPLATE', 'STATUS', 'NODE', 'CREATED'],
          page.items.map((s) => [s.id, s.template_id, s.status, s.runtime_node, s.created_at]),
        ),
      );
    });
  sessions
    .command('rm')
    .description('end a session')
    .argument('<session>', 'session id')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const { o, sbx } = setup(cmd);
      const s = await sbx.sessions.terminate(id);
      print(o, s, () => `${s.id} ${s.status}`);
    });

  const files = program.command('files').description("a session's workspace files");
  files
    .command('put')
    .description('upload a local file (- for stdin) to the workspace')
    .argument('<session>', 'session id')
    .argument('<local>', 'local file; - reads stdin')
    .argument('<remote>', 'path in the workspace, e.g. data/in.csv')
    .action(async (sessionId: string, local: string, remote: string, _flags: unknown, cmd: Command) => {
      const { o, sbx } = setup(cmd);
      const source = local === '-' ? process.stdin : createReadStream(local);
      // opened before the request, so a missing file is a usage error and not a half-sent upload
      await new Promise<void>((resolve, reject) => (local === '-' ? resolve() : source.once('open', () => resolve()).once('error', reject))).catch((e: Error) => {
        throw new UsageError(`cannot read ${local}: ${e.message}`);
      });
      const info = await (await sbx.sessions.get(sessionId)).files.upload(remote, Readable.toWeb(source) as ReadableStream<Uint8Array>);
      print(o, info, () => `uploaded ${local} to ${info.path} (${info.size} bytes)`);
    });
  files
    .command('get')
    .description('download a workspace file (to stdout without LOCAL, or with -)')
    .argument('<session>', 'session id')
    .argument('<remote>', 'path in the workspace')
    .argument('[local]', 'local file to write')
    .action(async (sessionId: string, remote: string, local: string | undefined, _flags: unknown, cmd: Command) => {
      const { o, sbx } = setup(cmd);
      const body = await (await sbx.sessions.get(sessionId)).files.download(remote);
      const source = Readable.fromWeb(body as Parameters<typeof Readable.fromWeb>[0]);
      if (!local || local === '-') return pipeline(source, process.stdout, { end: false });
      let bytes = 0;
      source.on('data', (chunk: Buffer) => (bytes += chunk.length));
      await pipeline(source, createWriteStream(local));
      print(o, { path: remote, local, size: bytes }, () => `downloaded ${remote} to ${local} (${bytes} bytes)`);
    });
  files
    .command('ls')
    .description('stored files of the workspace, in path order')
    .argument('<session>', 'session id')
    .option('--prefix <prefix>', 'only paths starting with this, e.g. out/')
    .action(async (sessionId: string, flags: { prefix?: string }, cmd: Command) => {
      const { o, sbx } = setup(cmd);
      const list = await (await sbx.sessions.get(sessionId)).files.list({ prefix: flags.prefix });
      print(o, list, () => table(['PATH', 'SIZE', 'MODIFIED'], list.items.map((f) => [f.path, f.size, f.last_modified])));
    });
  files
    .command('rm')
    .description('delete a workspace file')
    .argument('<session>', 'session id')
    .argument('<remote>', 'path in the workspace')
    .action(async (sessionId: string, remote: string, _flags: unknown, cmd: Command) => {
      const { o, sbx } = setup(cmd);
      await (await sbx.sessions.get(sessionId)).files.remove(remote);
      print(o, { path: remote, deleted: true }, () => `deleted ${remote}`);
    });

  const nodes = program.command('nodes').description('runtime nodes (admin keys)');
  nodes
    .command('ls')
    .description('nodes and their load')
    .action(async (_flags: unknown, cmd: Command) => {
      const { o, sbx } = setup(cmd);
      const items = await sbx.nodes.list();
      print(o, { items }, () =>
        table(
          ['ID', 'HOSTNAME', 'STATUS', 'RUNNING', 'SESSIONS', 'HEARTBEAT', 'STALE'],
          items.map((n) => [n.id, n.hostname, n.status, `${n.running}/${n.capacity}`, n.sessions, n.heartbeat_age_seconds === null ? null : `${String(n.heartbeat_age_seconds)}s ago`, n.stale ? 'yes' : 'no']),
        ),
      );
    });
  for (const [name, description] of [
    ['drain', 'stop placing sessions on a node: it finishes its work, moves its sessions away and exits'],
    ['undrain', 'call off a drain that has not finished'],
  ] as const) {
    nodes
      .command(name)
      .description(description)
      .argument('<node>', 'node id')
      .action(async (id: string, _flags: unknown, cmd: Command) => {
        const { o, sbx } = setup(cmd);
        const n = await (name === 'drain' ? sbx.nodes.drain(id) : sbx.nodes.undrain(id));
        print(o, n, () => `${n.id} ${n.status}`);
      });
  }

  const keys = program.command('keys').description('API keys (admin keys)');
  keys
    .command('create')
    .description('create a key; its secret is shown this once')
    .requiredOption('--tenant <tenant>', 'owner of the sessions the key creates')
    .addOption(new Option('--scope <scope>', 'tenant: its own sessions; admin: also nodes, keys and every tenant').choices(['tenant', 'admin']).makeOptionMandatory())
    .option('--name <name>', 'what the key is for (default: "<scope> key of <tenant>")')
    .option('--expires-in-days <days>', 'no expiry without it', positiveInt('--expires-in-days'))
    .action(async (flags: { tenant: string; scope: ApiKeyScope; name?: string; expiresInDays?: number }, cmd: Command) => {
      const { o, sbx } = setup(cmd);
      const k = await sbx.keys.create({ tenant: flags.tenant, scope: flags.scope, name: flags.name ?? `${flags.scope} key of ${flags.tenant}`, expiresInDays: flags.expiresInDays });
      print(o, k, () => `created ${k.id} (${k.scope}, tenant ${k.tenant}); the key, shown this once:\n${k.key}`);
    });
  keys
    .command('ls')
    .description('keys, with their state')
    .option('--tenant <tenant>', "only this tenant's")
    .action(async (flags: { tenant?: string }, cmd: Command) => {
      const { o, sbx } = setup(cmd);
      const items = await sbx.keys.list({ tenant: flags.tenant });
      const now = Date.now();
      const state = (k: (typeof items)[number]) =>
        k.revoked_at ? 'revoked' : k.expires_at && Date.parse(String(k.expires_at)) <= now ? 'expired' : 'active';
      print(o, { items }, () =>
        table(
          ['ID', 'PREFIX', 'SCOPE', 'TENANT', 'STATE', 'NAME', 'LAST USED'],
          items.map((k) => [k.id, `${k.prefix}…`, k.scope, k.tenant, state(k), k.name, k.last_used_at ?? 'never']),
        ),
      );
    });
  keys
    .command('revoke')
    .description('revoke a key (at once on this control plane, within a minute on the others)')
    .argument('<id>', 'key id')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const { o, sbx } = setup(cmd);
      const k = await sbx.keys.revoke(id);
      print(o, k, () => `revoked ${k.id}`);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander printed the message (or the help) already
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    return reportError(output, e);
  }
}

/** A template that runs `language`: one whose default it is, else any that offers it. */
async function templateFor(sbx: Sandbox, language: string | undefined, file: string): Promise<string> {
  if (!language) throw new UsageError(`cannot tell the language of ${file} from its name: pass --language or --template`);
  const templates = await sbx.templates.list();
  const found =
    templates.find((t) => t.language === language) ??
    templates.find((t) => t.runtimes.some((r) => r.language === language || r.aliases.includes(language)));
  if (!found) throw new UsageError(`no template runs ${language}: see the templates with their languages at GET /v1/runtimes, and pass --template`);
  return found.id;
}

/**
 * Runs the code and gives its exit code. Ctrl-C cancels the execution (and, for a session of its
 * own, ends the session) before exiting 130, as an interrupted shell command does.
 */
async function runInSession(session: SandboxSession, code: string, opts: RunOptions, o: Output, ownSession: boolean): Promise<number> {
  const interrupted = new AbortController();
  let executionId: string | null = null;
  const onSigint = () => interrupted.abort();
  process.once('SIGINT', onSigint);
  try {
    return await execute(session, code, { ...opts, signal: interrupted.signal }, o, (id) => (executionId = id));
  } catch (e) {
    if (!interrupted.signal.aborted) throw e;
    if (executionId) await session.executions.cancel(executionId).catch(() => undefined);
    o.err('sandbox: interrupted; the execution was cancelled\n');
    return 130;
  } finally {
    process.removeListener('SIGINT', onSigint);
    // a session made for this one run ends with it; its end failing must not hide the program's result
    if (ownSession) await session.terminate().catch((e: unknown) => o.err(`sandbox: session ${session.id} not terminated: ${e instanceof Error ? e.message : String(e)}\n`));
  }
}
