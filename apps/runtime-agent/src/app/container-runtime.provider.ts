import { type Provider } from '@nestjs/common';
import { type ContainerRuntime, DockerRuntime } from '@sandbox/runtime';
import { AGENT_CONFIG, type AgentConfig } from './agent.config';

export const CONTAINER_RUNTIME = Symbol('CONTAINER_RUNTIME');

export const containerRuntimeProvider: Provider = {
  provide: CONTAINER_RUNTIME,
  inject: [AGENT_CONFIG],
  useFactory: (config: AgentConfig): ContainerRuntime => {
    if (config.RUNTIME_MODE !== 'docker') throw new Error(`RUNTIME_MODE=${config.RUNTIME_MODE} is not available yet: use docker`);
    return new DockerRuntime({
      socketPath: config.DOCKER_SOCKET,
      executorGraceMs: config.EXECUTOR_GRACE_MS,
      orphanAfterSeconds: config.SANDBOX_ORPHAN_AFTER_SECONDS,
    });
  },
};
