import { type ReaperConfig } from '@sandbox/config';

export const REAPER_CONFIG = Symbol('REAPER_CONFIG');
export type { ReaperConfig };
