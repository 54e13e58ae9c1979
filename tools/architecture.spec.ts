// Rules of the layout that lint cannot express (docs/architecture.md): no import cycle between files,
// none between the folders of an app, and Nest classes in files named after them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ROOT = join(__dirname, '..');
const sources = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'apps/*/src/**.ts', 'libs/*/src/**.ts', 'tools/**.ts'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && !/\.(e2e-|integration-)?spec\.ts$/.test(f));
const known = new Set(sources);

/** The repository files a source file imports: relative imports and the @sandbox/* aliases (their index). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const [, spec] of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
    const target = spec!.startsWith('.')
      ? normalize(join(dirname(file), spec!))
      : spec!.startsWith('@sandbox/')
        ? `libs/${spec!.slice('@sandbox/'.length)}/src/index`
        : null;
    if (target && known.has(`${target}.ts`)) out.push(`${target}.ts`);
    else if (target && known.has(`${target}/index.ts`)) out.push(`${target}/index.ts`);
  }
  return out;
}

/** Every cycle of a directed graph, each as the path that closes it (depth-first, three colours). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

const fileGraph = new Map(sources.map((f) => [f, importsOf(f)]));

describe('the layout', () => {
  it('has no import cycle between files', () => {
    expect(cycles(fileGraph).map((c) => c.join(' → '))).toEqual([]);
  });

  it.each(['control-plane', 'runtime-agent', 'reaper'])('has no import cycle between the folders of %s', (app) => {
    const base = `apps/${app}/src/app/`;
    const folderOf = (f: string) => (f.startsWith(base) && f.slice(base.length).includes('/') ? f.slice(base.length).split('/')[0]! : null);
    const folders = new Map<string, Set<string>>();
    for (const [file, imports] of fileGraph) {
      const from = folderOf(file);
      if (!from) continue;
      for (const to of imports.map(folderOf)) {
        if (to && to !== from) folders.set(from, (folders.get(from) ?? new Set()).add(to));
      }
    }
    const graph = new Map([...folders].map(([k, v]) => [k, [...v]]));
    expect(cycles(graph).map((c) => c.join(' → '))).toEqual([]);
  });

  it('names each Nest class after its file: FooBarService in foo-bar.service.ts, DTOs in *.dto.ts', () => {
    const misnamed: string[] = [];
    const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
    for (const file of sources.filter((f) => f.startsWith('apps/'))) {
      for (const [, name] of readFileSync(join(ROOT, file), 'utf8').matchAll(/^export (?:abstract )?class (\w+)/gm)) {
        const m = /^(\w+?)(Service|Controller|Module|Guard|Filter|Metrics|Dto)$/.exec(name!);
        if (!m) continue;
        const role = m[2]!.toLowerCase();
        const expected = role === 'dto' ? /\.dto\.ts$/ : new RegExp(`/${kebab(m[1]!)}\\.${role}\\.ts$`);
        if (!expected.test(`/${relative(ROOT, join(ROOT, file))}`)) misnamed.push(`${name} in ${file}`);
      }
    }
    expect(misnamed).toEqual([]);
  });
});
