import { createZodDto } from '../http/zod-dto';
import { z } from 'zod';
import { booleanFlag } from '../http/query';

const fileInfo = z.object({
  path: z.string(),
  size: z.number().describe('bytes'),
  mime_type: z.string(),
  etag: z.string().describe('changes whenever the stored file is replaced'),
  last_modified: z.string(),
});
export class FileInfoDto extends createZodDto(fileInfo.extend({ sha256: z.string() })) {}
export class FileListDto extends createZodDto(z.object({ items: z.array(fileInfo), next_cursor: z.string().nullable() })) {}
export class PresignedUrlDto extends createZodDto(z.object({ url: z.string(), expires_at: z.string() })) {}

export const listFilesQuery = z
  .object({
    prefix: z.string().max(1024).optional().describe('only paths starting with this, e.g. "out/"'),
    limit: z.coerce.number().int().min(1).max(1000).default(1000),
    cursor: z.string().max(1024).optional().describe('the next_cursor of the previous page'),
  })
  .strict();
export class ListFilesQueryDto extends createZodDto(listFilesQuery) {}

export const fileDownloadQuery = z
  .object({ presign: booleanFlag.optional().describe('answer a presigned URL of the store instead of the bytes (S3 only)') })
  .strict();
export class FileDownloadQueryDto extends createZodDto(fileDownloadQuery) {}
