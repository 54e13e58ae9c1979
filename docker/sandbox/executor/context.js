'use strict';
// The interpreter of a JavaScript context (started by executor.py as the sandbox user): cells come as
// JSON lines on fd 3 and run in one persistent vm context, so what a cell declares the next one sees;
// each cell's end goes out on fd 4 as {"op": "done", exit_code, error, results}. The value of a cell's
// last expression is its main result (a promise is awaited); `display(value)` adds results. SIGINT
// interrupts a running cell (breakOnSigint), and is ignored between cells.
const fs = require('node:fs');
const net = require('node:net');
const readline = require('node:readline');
const util = require('node:util');
const vm = require('node:vm');
const { createRequire } = require('node:module');

let displayed = [];
let interrupt = null;

function bundle(value) {
  const data = { 'text/plain': util.inspect(value, { depth: 4, maxArrayLength: 200, maxStringLength: 100_000 }) };
  if (value !== null && typeof value === 'object') {
    try {
      const json = JSON.stringify(value);
      if (json !== undefined) data['application/json'] = json;
    } catch {
      // cyclic or BigInt: text only
    }
  }
  return data;
}

const globals = {
  console,
  process,
  Buffer,
  URL,
  URLSearchParams,
  TextEncoder,
  TextDecoder,
  AbortController,
  structuredClone,
  queueMicrotask,
  setTimeout,
  setInterval,
  setImmediate,
  clearTimeout,
  clearInterval,
  clearImmediate,
  fetch: globalThis.fetch,
  require: createRequire('/workspace/'),
  display: (...values) => {
    for (const value of values) displayed.push({ data: bundle(value), main: false });
  },
};
globals.globalThis = globals;
const context = vm.createContext(globals);

process.on('SIGINT', () => interrupt?.());

async function runCell(code) {
  displayed = [];
  let exitCode = 0;
  let error = null;
  try {
    let value = new vm.Script(code, { filename: '<cell>' }).runInContext(context, { breakOnSigint: true, displayErrors: false });
    if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
      value = await Promise.race([value, new Promise((_, reject) => (interrupt = () => reject(Object.assign(new Error('interrupted'), { name: 'KeyboardInterrupt' }))))]);
    }
    if (value !== undefined) displayed.push({ data: bundle(value), main: true });
  } catch (e) {
    exitCode = 1;
    const name = e && typeof e === 'object' && typeof e.name === 'string' ? e.name : 'Error';
    error = { name, value: String(e && typeof e === 'object' && 'message' in e ? e.message : e).slice(0, 4096) };
    // the cell's own frames only, as a notebook shows them
    const stack = e && typeof e.stack === 'string' ? e.stack.split('\n').filter((l) => !/\((node:|\/opt\/sandbox\/)|at (node:|\/opt\/sandbox\/)/.test(l)).join('\n') : `${name}: ${error.value}`;
    process.stderr.write(`${stack}\n`);
  } finally {
    interrupt = null;
  }
  fs.writeSync(4, `${JSON.stringify({ op: 'done', exit_code: exitCode, error, results: displayed })}\n`);
}

let queue = Promise.resolve();
readline.createInterface({ input: new net.Socket({ fd: 3, readable: true, writable: false }) }).on('line', (line) => {
  queue = queue.then(() => runCell(JSON.parse(line).code));
}).on('close', () => process.exit(0));
