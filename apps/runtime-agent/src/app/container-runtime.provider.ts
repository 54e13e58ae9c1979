import { type Provider } from '@nestjs/common';
import { type ContainerRuntime, DockerRuntime, KubernetesRuntime } from '@sandbox/runtime';
import { AGENT_CONFIG, type AgentConfig } from './agent.config';

export const CONTAINER_RUNTIME = Symbol('CONTAINER_RUNTIME');

export const containerRuntimeProvider: Provider = {
  provide: CONTAINER_RUNTIME,
  inject: [AGENT_CONFIG],
  useFactory: (config: AgentConfig): ContainerRuntime => {
    if (config.RUNTIME_MODE === 'kubernetes') {
      // in the cluster: the pod's service account and its node (k8s/base/runtime-agent.yaml); outside: $KUBECONFIG
      return new KubernetesRuntime({
        namespace: config.SANDBOX_NAMESPACE,
        k8sNode: config.K8S_NODE_NAME ?? config.NODE_ID,
        executorGraceMs: config.EXECUTOR_GRACE_MS,
        orphanAfterSeconds: config.SANDBOX_ORPHAN_AFTER_SECONDS,
        runtimeClassName: config.SANDBOX_RUNTIME_CLASS,
      });
    }
    return new DockerRuntime({
      socketPath: config.DOCKER_SOCKET,
      executorGraceMs: config.EXECUTOR_GRACE_MS,
      orphanAfterSeconds: config.SANDBOX_ORPHAN_AFTER_SECONDS,
    });
  },
};
