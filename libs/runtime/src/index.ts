export * from './lib/container-options';
export * from './lib/container-runtime';
export * from './lib/docker-runtime';
export * from './lib/executor-protocol';
export * from './lib/egress-network';
export * from './lib/kubernetes-pod';
export * from './lib/kubernetes-runtime';
