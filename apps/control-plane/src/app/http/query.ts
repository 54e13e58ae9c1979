import { z } from 'zod';

/** A query flag: true/false/1/0. */
export const booleanFlag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
