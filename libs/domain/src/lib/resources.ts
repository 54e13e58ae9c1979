/**
 * Kubernetes-style quantities as the seed stores them ("1", "500m" CPUs; "512Mi", "2Gi" bytes),
 * parsed strictly: no exponents, no signs, no fractions of bytes.
 */
const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

export class QuantityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuantityError';
  }
}

/** "1" → 1e9, "0.5" → 5e8, "250m" → 2.5e8 (Docker's NanoCpus). */
export function parseCpu(value: string): number {
  const m = /^(\d{1,4})(?:\.(\d{1,3}))?$|^(\d{1,6})m$/.exec(value);
  if (!m) throw new QuantityError(`'${value}' is not a CPU quantity: use cores ("1", "0.5") or millicores ("500m")`);
  const nano = m[3] !== undefined ? Number(m[3]) * 1e6 : Number(m[1]) * 1e9 + Number((m[2] ?? '').padEnd(3, '0')) * 1e6;
  if (nano <= 0) throw new QuantityError(`CPU quantity '${value}' must be above zero`);
  return nano;
}

/** "512Mi" → 536870912, "1G" → 1e9, "4096" → 4096. */
export function parseBytes(value: string): number {
  const m = /^(\d{1,15})(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(value);
  if (!m) throw new QuantityError(`'${value}' is not a size: use bytes or a unit suffix (Ki, Mi, Gi, K, M, G), e.g. "512Mi"`);
  const bytes = Number(m[1]) * (BYTE_UNITS[m[2] ?? ''] ?? 1);
  if (bytes <= 0 || !Number.isSafeInteger(bytes)) throw new QuantityError(`size '${value}' is out of range`);
  return bytes;
}

export function formatBytes(bytes: number): string {
  for (const unit of ['Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const size = BYTE_UNITS[unit]!;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
