import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { API_KEY_SCOPES, type ApiKey, type Principal, TENANT_PATTERN } from '@sandbox/domain';
import { type Request } from 'express';
import { createZodDto } from '../http/zod-dto';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { AdminOnly, CurrentPrincipal } from '../http/access.decorators';
import { ApiKeysService } from './api-keys.service';

const tenant = z.string().regex(TENANT_PATTERN, 'tenant: lowercase letters, digits, "_" and "-", at most 48, starting with a letter or digit');

const createApiKeyBody = z
  .object({
    name: z.string().min(1).max(128).describe('what the key is for'),
    scope: z.enum(API_KEY_SCOPES).describe('tenant: its own sessions; admin: also nodes, keys, audit and every tenant'),
    tenant: tenant.describe('owner of the sessions the key creates'),
    expires_in_days: z.number().int().min(1).max(3650).optional().describe('no expiry when absent'),
  })
  .strict();
class CreateApiKeyDto extends createZodDto(createApiKeyBody) {}
class ListApiKeysQueryDto extends createZodDto(z.object({ tenant: tenant.optional() }).strict()) {}

const apiKeyResponse = z.object({
  id: z.string(),
  prefix: z.string().describe('the start of the key, to recognise it; the rest is never shown again'),
  name: z.string(),
  scope: z.enum(API_KEY_SCOPES),
  tenant: z.string(),
  created_by: z.string().nullable(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  last_used_at: z.string().nullable().describe('updated at most once a minute'),
  created_at: z.string(),
});
class ApiKeyResponseDto extends createZodDto(apiKeyResponse) {}
class CreatedApiKeyDto extends createZodDto(apiKeyResponse.extend({ key: z.string().describe('the secret: shown this once only') })) {}
class ApiKeyListDto extends createZodDto(z.object({ items: z.array(apiKeyResponse) })) {}

/** API keys (admin scope): shown once on creation, stored as a hash, revocable. */
@ApiTags('api-keys')
@ApiBearerAuth()
@AdminOnly()
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiOperation({ summary: 'Create an API key (admin)' })
  async create(@Body() body: CreateApiKeyDto, @CurrentPrincipal() who: Principal, @Req() req: Request) {
    const expiresAt = body.expires_in_days ? new Date(Date.now() + body.expires_in_days * 86_400_000) : null;
    const { key, secret } = await this.keys.create({ name: body.name, scope: body.scope, tenant: body.tenant, expiresAt }, who.keyId);
    await this.audit.record(who, req, 'api_key.create', { type: 'api_key', id: key.id }, { prefix: key.prefix, scope: key.scope, tenant: key.tenant });
    return { ...apiKeyToResponse(key), key: secret };
  }

  @Get()
  @ApiOkResponse({ type: ApiKeyListDto })
  @ApiOperation({ summary: 'List API keys (admin)' })
  async list(@Query() query: ListApiKeysQueryDto) {
    return { items: (await this.keys.list(query.tenant)).map(apiKeyToResponse) };
  }

  @Delete(':id')
  @ApiOkResponse({ type: ApiKeyResponseDto, description: 'the key, revoked (at once here, within API_KEY_CACHE_MS elsewhere)' })
  @ApiOperation({ summary: 'Revoke an API key (admin)' })
  async revoke(@Param('id') id: string, @CurrentPrincipal() who: Principal, @Req() req: Request) {
    const key = await this.keys.revoke(id);
    await this.audit.record(who, req, 'api_key.revoke', { type: 'api_key', id }, { prefix: key.prefix });
    return apiKeyToResponse(key);
  }
}

function apiKeyToResponse(k: ApiKey): z.infer<typeof apiKeyResponse> {
  return {
    id: k.id,
    prefix: k.prefix,
    name: k.name,
    scope: k.scope,
    tenant: k.tenant,
    created_by: k.createdBy,
    expires_at: k.expiresAt?.toISOString() ?? null,
    revoked_at: k.revokedAt?.toISOString() ?? null,
    last_used_at: k.lastUsedAt?.toISOString() ?? null,
    created_at: k.createdAt.toISOString(),
  };
}
