import { CONTEXT_LANGUAGES, type InterpreterContext } from '@sandbox/domain';
import { createZodDto } from '../http/zod-dto';
import { z } from 'zod';

export const createContextBody = z
  .object({
    language: z.enum(CONTEXT_LANGUAGES).optional().describe("python or javascript, one the session's template runs; default: the template's"),
  })
  .strict();
export class CreateContextDto extends createZodDto(createContextBody) {}

const contextResponse = z.object({
  id: z.string(),
  session_id: z.string(),
  language: z.enum(CONTEXT_LANGUAGES),
  status: z
    .enum(['active', 'lost'])
    .describe('lost: its interpreter went with a sandbox the session no longer has (agent or container lost), or the session ended; its cells fail context_lost'),
  generation: z.number().describe('counts restarts: a cell after a restart runs in a fresh interpreter'),
  created_at: z.string(),
  updated_at: z.string(),
});
export class ContextResponseDto extends createZodDto(contextResponse) {}
export class ContextListDto extends createZodDto(z.object({ items: z.array(contextResponse) })) {}

export function contextToResponse(c: InterpreterContext, status: 'active' | 'lost'): z.infer<typeof contextResponse> {
  return {
    id: c.id,
    session_id: c.sessionId,
    language: c.language,
    status,
    generation: c.generation,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}
