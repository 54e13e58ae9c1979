import { type AgentConfig } from '@sandbox/config';

export const AGENT_CONFIG = Symbol('AGENT_CONFIG');
export type { AgentConfig };
/** Version reported in runtime_nodes. */
export const AGENT_VERSION = '0.1.0';
