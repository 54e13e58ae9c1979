import { type components } from '../openapi';

// The shapes of the API, by their names in the OpenAPI document (src/openapi.ts is generated from it).
type Schemas = components['schemas'];

export type Session = Schemas['SessionResponseDto'];
export type SessionStatus = Session['status'];
export type SessionPage = Schemas['SessionPageDto'];
export type CreateSessionBody = Schemas['CreateSessionDto'];
export type Execution = Schemas['ExecutionResponseDto'];
export type ExecutionStatus = Execution['status'];
export type ExecutionSummary = Schemas['ExecutionPageDto']['items'][number];
export type ExecutionPage = Schemas['ExecutionPageDto'];
export type CreateExecutionBody = Schemas['CreateExecutionDto'];
export type Context = Schemas['ContextResponseDto'];
export type ContextLanguage = NonNullable<Schemas['CreateContextDto']['language']>;
export type FileInfo = Schemas['FileInfoDto'];
export type FileList = Schemas['FileListDto'];
export type Template = Schemas['TemplateResponseDto'];
export type Runtime = Schemas['RuntimeListResponseDto']['items'][number];
export type RuntimeNode = Schemas['NodeResponseDto'];
export type ApiKey = Schemas['ApiKeyResponseDto'];
export type CreatedApiKey = Schemas['CreatedApiKeyDto'];
export type ApiKeyScope = ApiKey['scope'];

/** A page of a list and the cursor of the next one (null on the last page). */
export interface Page<T> {
  readonly items: T[];
  readonly next_cursor: string | null;
}

/** Executions that will not change again. */
export const TERMINAL_EXECUTION_STATUSES: readonly ExecutionStatus[] = ['completed', 'failed', 'timeout', 'crashed'];
export const isExecutionTerminal = (status: ExecutionStatus): boolean => TERMINAL_EXECUTION_STATUSES.includes(status);

/**
 * One event of an execution's stream (`POST …/executions?stream=true`, `GET /v1/executions/{id}/events`):
 * `execution` (as it was when the stream opened), `attempt` (output before it belongs to an attempt
 * that was lost: a retry starts over), `stdout`/`stderr` (a piece of output, base64 with encoding
 * base64), then `result` (the execution as GET answers it) as the last event. Output events have an
 * `id`: the stream resumes after it.
 */
export type ExecutionEvent =
  | { readonly type: 'execution'; readonly data: Execution; readonly id: undefined }
  | { readonly type: 'attempt'; readonly data: { readonly attempt: number }; readonly id: string | undefined }
  | { readonly type: 'stdout' | 'stderr'; readonly data: { readonly data: string }; readonly id: string | undefined }
  | { readonly type: 'result'; readonly data: Execution; readonly id: undefined };
