import { pipeline } from 'node:stream/promises';
import { type Response } from 'express';
import { type Download } from './files.service';

/** Streams a stored file as a download, never as a page: user code chose these bytes. */
export async function sendDownload(res: Response, file: Download): Promise<void> {
  res.status(200).set({
    'Content-Type': file.mimeType,
    'Content-Length': String(file.size),
    ETag: `"${file.etag}"`,
    // never rendered by a browser as a page of this origin
    'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(file.path.split('/').pop()!)}`,
    'X-Content-Type-Options': 'nosniff',
  });
  await pipeline(file.body, res);
}
