import { type INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { type OperationObject, type ParameterObject, type ResponseObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { IDEMPOTENCY_HEADER } from './idempotency';

const ERROR = { $ref: '#/components/schemas/Error' };
const JUDGE0 = { $ref: '#/components/schemas/Judge0Error' };
/** The Judge0 routes answer errors in Judge0's shapes (Judge0ExceptionFilter), but for a body that is not JSON, refused before a route sees it. */
const JUDGE0_ERROR = {
  anyOf: [
    ERROR,
    { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
    { type: 'object', description: '422: the messages by attribute', additionalProperties: { type: 'array', items: { type: 'string' } } },
  ],
};
const header = (description: string, schema: object = { type: 'string' }) => ({ description, schema });

/** Headers clients act on, declared once and referenced by the responses that carry them. */
const HEADERS = {
  'Retry-After': header('seconds to wait before retrying', { type: 'integer', minimum: 0 }),
  'RateLimit-Limit': header("requests this API key may make per window (RATE_LIMIT_REQUESTS); absent when the limit is off", { type: 'integer', minimum: 0 }),
  'RateLimit-Remaining': header('requests left in the current window', { type: 'integer', minimum: 0 }),
  'RateLimit-Reset': header('seconds until the window starts again', { type: 'integer', minimum: 0 }),
  'Idempotent-Replayed': header('`true` when this is the stored answer to an earlier request with the same Idempotency-Key', { type: 'string', enum: ['true'] }),
  traceparent: header('W3C trace context of the request: find its spans by the trace id'),
  'WWW-Authenticate': header('the Bearer challenge (RFC 6750)'),
};
const RATE_LIMIT = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'] as const;
const refs = (names: readonly (keyof typeof HEADERS)[]) => Object.fromEntries(names.map((n) => [n, { $ref: `#/components/headers/${n}` }]));

/** The errors of every authenticated operation, with the status that carries each. */
const ERRORS: Record<string, { description: string; headers?: readonly (keyof typeof HEADERS)[]; empty?: true }> = {
  400: { description: 'the request is not well formed (e.g. a body that is not JSON)' },
  401: { description: 'no API key, or one that is unknown, revoked or expired', headers: ['WWW-Authenticate'] },
  403: { description: 'the key may not do this (an admin-only operation, another tenant)' },
  404: { description: 'no such resource, or not visible to this key' },
  409: { description: 'the resource is not in a state that allows this (e.g. the session has ended)' },
  413: { description: 'the body or a field is larger than allowed' },
  415: { description: 'a body of a media type this operation does not take' },
  422: { description: 'the request does not validate: `details[].field` names each field and what to fix' },
  429: { description: 'too many requests for this key, or the tenant is at a cap', headers: ['Retry-After', ...RATE_LIMIT] },
  431: { description: 'the request line and headers are over 16 KiB: refused by the HTTP server, without a body', empty: true },
  500: { description: 'an unexpected error; the trace id in `traceparent` finds it in the logs' },
  503: { description: 'a dependency is down or no node has capacity: retry after Retry-After', headers: ['Retry-After'] },
};
const PUBLIC_PATHS = new Set(['/health', '/ready', '/metrics']);

const link = (operationId: string, parameters: Record<string, string>) => ({ operationId, parameters });
const SESSION = { id: '$response.body#/id' };
const EXECUTION = { id: '$response.body#/id' };
/** Where an answer leads (OpenAPI links): generators and stateful fuzzers follow them. */
const LINKS: Record<string, Record<string, Record<string, ReturnType<typeof link>>>> = {
  Sessions_create: {
    '201': {
      GetSession: link('Sessions_get', SESSION),
      RunCode: link('Executions_create', SESSION),
      ListExecutions: link('Executions_list', SESSION),
      CreateContext: link('Contexts_create', SESSION),
      ListFiles: link('Files_list', SESSION),
      KeepAlive: link('Sessions_keepAlive', SESSION),
      TerminateSession: link('Sessions_terminate', SESSION),
    },
  },
  Executions_create: Object.fromEntries(
    ['200', '202'].map((status) => [
      status,
      { GetExecution: link('Executions_get', EXECUTION), CancelExecution: link('Executions_cancel', EXECUTION), ExecutionEvents: link('Executions_events', EXECUTION) },
    ]),
  ),
  Contexts_create: {
    '201': {
      GetContext: link('Contexts_get', { id: '$response.body#/session_id', cid: '$response.body#/id' }),
      RestartContext: link('Contexts_restart', { id: '$response.body#/session_id', cid: '$response.body#/id' }),
      DeleteContext: link('Contexts_remove', { id: '$response.body#/session_id', cid: '$response.body#/id' }),
    },
  },
  Files_upload: {
    '201': {
      DownloadFile: link('Files_download', { id: '$request.path.id', path: '$request.path.path' }),
      DeleteFile: link('Files_remove', { id: '$request.path.id', path: '$request.path.path' }),
    },
  },
};

/**
 * The OpenAPI 3.1 document of the REST API: what the controllers' decorators and the zod DTOs say,
 * finished here with what every operation shares (the error schema and statuses, the headers
 * clients act on, operation ids a generator can name methods after). Served at /docs/openapi.json
 * and checked in as docs/openapi.json.
 */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  const base = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Sandbox platform API')
    .setDescription(
      'Sessions from templates, code executions in hardened containers. Every error is `{"error": {"code", "message", "details"}}`; `code` is stable. ' +
        'Creates take an `Idempotency-Key`; 429 and 503 carry `Retry-After`.',
    )
    .setVersion('1')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'sbx_ + 40 hex digits',
      description: 'an opaque API key: `sbx_` and 160 random bits as hex, shown once when made (`sandbox keys create`); only its hash is stored',
    })
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: "the same API key, in the header Judge0's clients send (the /judge0 routes)" }, 'judge0')
    .build();
  const doc = cleanupOpenApiDoc(
    SwaggerModule.createDocument(app, base, { operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}` }),
  );
  return finish(doc);
}

function finish(doc: OpenAPIObject): OpenAPIObject {
  const components = doc.components ?? {};
  components.schemas = { ...components.schemas, Error: errorSchema(), Judge0Error: JUDGE0_ERROR };
  components.headers = HEADERS;
  components.responses = Object.fromEntries(
    Object.entries(ERRORS).flatMap(([status, e]) =>
      [ERROR, JUDGE0].map((schema) => [
        `${schema === ERROR ? 'Error' : 'Judge0Error'}${status}`,
        e.empty
          ? { description: e.description }
          : { description: e.description, headers: { ...refs(e.headers ?? []), ...refs(['traceparent']) }, content: { 'application/json': { schema } } },
      ]),
    ),
  );
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const op = item[method];
      if (op) finishOperation(path, op);
    }
  }
  const finished = { ...doc, components };
  nullableTo31(finished);
  return finished;
}

/** OpenAPI 3.0's `nullable` (terminus' health schemas still write it) as 3.1's type union. */
function nullableTo31(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(nullableTo31);
  if (!node || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if ('nullable' in o && typeof o['nullable'] === 'boolean') {
    if (o['nullable'] && typeof o['type'] === 'string') o['type'] = [o['type'], 'null'];
    delete o['nullable'];
  }
  Object.values(o).forEach(nullableTo31);
}

function finishOperation(path: string, op: OperationObject): void {
  const open = PUBLIC_PATHS.has(path);
  const keyed = (op.parameters ?? []).some((p) => 'name' in p && p.name === IDEMPOTENCY_HEADER.name);
  for (const p of op.parameters ?? []) fixWildcard(p as ParameterObject);
  for (const [status, response] of Object.entries(op.responses)) {
    if (!status.startsWith('2') || !response || '$ref' in response) continue;
    const r = response as ResponseObject;
    r.headers = { ...r.headers, ...refs(['traceparent', ...(open ? [] : RATE_LIMIT), ...(keyed ? (['Idempotent-Replayed'] as const) : [])]) };
    const links = op.operationId ? LINKS[op.operationId]?.[status] : undefined;
    if (links) r.links = links;
  }
  const statuses = open ? ['500', '503'] : Object.keys(ERRORS);
  const errors = path.startsWith('/judge0/') ? 'Judge0Error' : 'Error';
  if (path.startsWith('/judge0/')) op.security = [{ bearer: [] }, { judge0: [] }];
  for (const status of statuses) op.responses[status] ??= { $ref: `#/components/responses/${errors}${status}` };
}

/** Express' `*path` wildcard: one string of '/'-separated segments, not the array Nest infers. */
function fixWildcard(p: ParameterObject): void {
  if (p.in !== 'path' || p.name !== 'path' && p.name !== 'mime') return;
  p.schema = { type: 'string', minLength: 1 };
  p.description ??= p.name === 'path' ? "a file's path in the workspace, '/'-separated, e.g. `data/in.csv`" : 'a MIME type, e.g. `image/png`';
}

function errorSchema() {
  return {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message', 'details'],
        properties: {
          code: { type: 'string', description: 'stable, machine-readable: `not_found`, `validation_failed`, `rate_limited`, `capacity_exhausted`, …' },
          message: { type: 'string', description: 'what went wrong and what to fix' },
          details: {
            type: 'array',
            items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } }, required: ['message'] },
          },
        },
      },
    },
  };
}
