import { type SandboxSpec } from '@sandbox/runtime';

/** A small hardened python-basic sandbox of `nodeId` (its containers are found and removed by that label). */
export function testSandboxSpec(nodeId: string, over: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    image: 'sandbox-python:3.11-basic',
    templateId: 'python-basic',
    nodeId,
    nanoCpus: 1e9,
    memoryBytes: 256 << 20,
    diskBytes: 64 << 20,
    tmpBytes: 16 << 20,
    pidsLimit: 64,
    nofile: 256,
    fsizeBytes: 32 << 20,
    network: false,
    inodes: 100_000,
    ...over,
  };
}
