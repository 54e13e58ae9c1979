import { execFileSync, spawn } from 'node:child_process';
import { REPO_ROOT } from './stack';

/** The bin directory of the suite's Python environment (schemathesis, pytest, the Python SDK), built once by tools/python-env.sh. */
export function pythonTools(): string {
  return execFileSync('bash', ['tools/python-env.sh'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** Runs a command to its end without blocking the event loop: its exit code and its output, both streams. */
export function runToEnd(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = REPO_ROOT): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
