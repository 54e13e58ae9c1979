import { lookup } from 'mime-types';

/** The content type a stored file is served with, from its name. */
export function mimeTypeOf(path: string): string {
  return lookup(path) || 'application/octet-stream';
}
