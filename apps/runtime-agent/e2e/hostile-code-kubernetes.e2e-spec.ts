import { randomBytes } from 'node:crypto';
import { kubectl, LOCAL_CLUSTER, loadImageIntoCluster, localClusterNode, startLocalCluster } from '@sandbox/testing';
import { hostileSuite } from './hostile-suite';

/** The hostile cases with sandboxes as pods on the local cluster's node, in a namespace of this suite. */
const NAMESPACE = `hostile-e2e-${randomBytes(3).toString('hex')}`;

hostileSuite({
  name: 'kubernetes',
  namespace: NAMESPACE,
  setUp: async () => {
    await startLocalCluster();
    await loadImageIntoCluster('sandbox-python:3.11-basic');
    await kubectl('create', 'namespace', NAMESPACE);
    return {
      RUNTIME_MODE: 'kubernetes',
      KUBECONFIG: LOCAL_CLUSTER.kubeconfig,
      K8S_NODE_NAME: await localClusterNode(),
      SANDBOX_NAMESPACE: NAMESPACE,
      // the budget is the node's allocatable less its other pods (NodeAllocatableService)
      AGENT_CPUS: '0',
      AGENT_MEMORY_BYTES: '0',
    };
  },
  tearDown: async () => {
    await kubectl('delete', 'namespace', NAMESPACE, '--wait=false');
  },
});
