import { admitExecution, admitResources } from './admission';
import { LIMITS } from './limits';
import { type Template, type TemplateLimits } from './template';

const template = (limits: TemplateLimits = {}): Template => ({
  id: 'python-basic',
  name: 'Python',
  image: 'sandbox-python:3.11-basic',
  baseImage: null,
  language: 'python',
  preInstalledPackages: [],
  defaultResources: { cpu: '1', memory: '512Mi', disk: '1Gi' },
  securityContext: null,
  limits,
  runtimes: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
});
const defaults = { timeoutDefaultSeconds: 30, timeoutMaxSeconds: 300 };

describe('admitExecution', () => {
  it("runs in the template's language with the default timeout when the request names neither", () => {
    expect(admitExecution({ code: 'print(1)' }, template(), defaults)).toEqual({ ok: true, value: { language: 'python', timeout: 30 } });
  });

  it("takes the template's timeouts over the platform's, the default never above the maximum", () => {
    expect(admitExecution({ code: 'x' }, template({ timeout_default_seconds: 5 }), defaults)).toMatchObject({ value: { timeout: 5 } });
    expect(admitExecution({ code: 'x' }, template({ timeout_max_seconds: 10 }), defaults)).toMatchObject({ value: { timeout: 10 } });
    expect(admitExecution({ code: 'x', timeout: 7, language: 'bash' }, template(), defaults)).toEqual({ ok: true, value: { language: 'bash', timeout: 7 } });
  });

  it('refuses code and stdin over their limits, counted in UTF-8 bytes', () => {
    const code = 'é'.repeat(LIMITS.codeBytes / 2 + 1);
    expect(admitExecution({ code }, template(), defaults)).toEqual({
      ok: false,
      refusals: [{ kind: 'too_large', field: 'code', limit: LIMITS.codeBytes, actual: Buffer.byteLength(code) }],
    });
    expect(admitExecution({ code: 'x', stdin: 'x'.repeat(LIMITS.stdinBytes + 1) }, template(), defaults)).toMatchObject({ refusals: [{ kind: 'too_large', field: 'stdin' }] });
  });

  it('refuses a language the image does not carry, saying which it does', () => {
    expect(admitExecution({ code: 'x', language: 'javascript' }, template(), defaults)).toEqual({
      ok: false,
      refusals: [{ kind: 'unsupported_language', language: 'javascript', templateId: 'python-basic', allowed: ['python', 'bash'] }],
    });
    expect(admitExecution({ code: 'x', language: 'cobol' }, template(), defaults)).toMatchObject({ refusals: [{ kind: 'unsupported_language' }] });
  });

  it("refuses a timeout over the template's maximum, naming the range", () => {
    expect(admitExecution({ code: 'x', timeout: 11 }, template({ timeout_max_seconds: 10 }), defaults)).toEqual({
      ok: false,
      refusals: [{ kind: 'invalid', field: 'timeout', message: "at most 10 seconds in template 'python-basic' (allowed: 1 to 10)" }],
    });
  });
});

describe('admitExecution with test cases', () => {
  it('admits cases within the template, each timeout checked against its maximum', () => {
    expect(admitExecution({ code: 'x', testCases: [{ stdin: '1', timeout: 10 }, { stdin: '2' }] }, template(), defaults)).toEqual({ ok: true, value: { language: 'python', timeout: 30 } });
    expect(admitExecution({ code: 'x', testCases: [{ stdin: '' }, { stdin: '', timeout: 11 }] }, template({ timeout_max_seconds: 10 }), defaults)).toEqual({
      ok: false,
      refusals: [{ kind: 'invalid', field: 'test_cases.1.timeout', message: "at most 10 seconds in template 'python-basic' (allowed: 1 to 10)" }],
    });
  });

  it('refuses cases whose stdin and expected output are over their limit in all', () => {
    const half = 'x'.repeat(LIMITS.testCasesBytes / 2);
    expect(admitExecution({ code: 'x', testCases: [{ stdin: half, expected_output: half }] }, template(), defaults)).toMatchObject({ ok: true });
    expect(admitExecution({ code: 'x', testCases: [{ stdin: half, expected_output: `${half}é` }] }, template(), defaults)).toEqual({
      ok: false,
      refusals: [{ kind: 'too_large', field: 'test_cases', limit: LIMITS.testCasesBytes, actual: LIMITS.testCasesBytes + 2 }],
    });
  });
});

describe('admitResources', () => {
  it("gives the template's defaults for what the request leaves out", () => {
    expect(admitResources(template(), undefined)).toEqual({ ok: true, value: { cpu: '1', memory: '512Mi', disk: '1Gi' } });
    expect(admitResources(template({ max_memory: '2Gi' }), { memory: '2Gi' })).toEqual({ ok: true, value: { cpu: '1', memory: '2Gi', disk: '1Gi' } });
  });

  it('refuses every field over its maximum at once, with the allowed range', () => {
    const r = admitResources(template({ max_cpu: '2', max_memory: '1Gi', max_disk: '2Gi' }), { cpu: '4', memory: '1536Mi', disk: '1Gi' });
    expect(r).toEqual({
      ok: false,
      refusals: [
        { kind: 'invalid', field: 'resources.cpu', message: "'4' is more than template 'python-basic' allows (allowed: 0.01 to 2)" },
        { kind: 'invalid', field: 'resources.memory', message: "'1536Mi' is more than template 'python-basic' allows (allowed: 32Mi to 1Gi)" },
      ],
    });
  });
});
