import { randomBytes } from 'node:crypto';
import { kubectl, kubernetesAgentEnv } from '@sandbox/testing';
import { hostileSuite } from './hostile-suite';

/** The hostile cases with sandboxes as pods on the local cluster's node, in a namespace of this suite. */
const NAMESPACE = `hostile-e2e-${randomBytes(3).toString('hex')}`;

hostileSuite({
  name: 'kubernetes',
  namespace: NAMESPACE,
  setUp: () => kubernetesAgentEnv(NAMESPACE),
  tearDown: async () => {
    await kubectl('delete', 'namespace', NAMESPACE, '--wait=false');
  },
});
