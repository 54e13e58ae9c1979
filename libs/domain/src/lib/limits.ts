/** Bounds every input is checked against before it reaches MariaDB (strict mode would reject more). */
export const LIMITS = Object.freeze({
  /** executions.code is TEXT: 65 535 bytes. */
  codeBytes: 65_535,
  stdinBytes: 1 << 20,
  /** Output kept per stream; stdout/stderr are MEDIUMTEXT (16 MiB), decoding may triple invalid bytes. */
  outputBytes: 1 << 20,
  envVarCount: 100,
  envVarNameLength: 128,
  envVarValueBytes: 8192,
  envVarsTotalBytes: 64 << 10,
  /** argv of one execution: well inside the kernel's limits on one argument and on all of them */
  argCount: 64,
  argBytes: 4096,
  /** files written to the workspace before one execution: their count, and their bytes in all */
  inputFileCount: 32,
  inputFilesBytes: 1 << 20,
  /** test cases of one execution, the bytes of their stdin and expected output in all, and the time they may take together (those past it do not run) */
  testCaseCount: 1000,
  testCasesBytes: 3 << 20,
  testCasesSeconds: 3600,
  /** interpreter contexts one session holds at once */
  contextsPerSession: 16,
  sessionTimeoutSeconds: { min: 10, max: 86_400, default: 300 },
  executionTimeoutSeconds: { min: 1, default: 30 },
  cpuNanos: { max: 16e9 },
  memoryBytes: { min: 32 << 20, max: 64 * 2 ** 30 },
  diskBytes: { min: 1 << 20, max: 64 * 2 ** 30 },
  pageSize: { default: 20, max: 100 },
});

export const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
