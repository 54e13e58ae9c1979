import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ADMIN_ROUTE, type AuthenticatedRequest, PUBLIC_ROUTE } from '../http/access.decorators';
import { ApiKeysService } from './api-keys.service';

/**
 * Every route needs a valid key unless marked @Public; @AdminOnly routes need the admin scope. The key
 * comes as "Authorization: Bearer <key>", or as Judge0 clients send theirs, "X-Auth-Token: <key>".
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const judge0Token = req.headers['x-auth-token'];
    const authorization = req.headers.authorization ?? (typeof judge0Token === 'string' ? `Bearer ${judge0Token}` : undefined);
    req.principal = await this.keys.authenticate(authorization, this.reflector.getAllAndOverride<boolean>(ADMIN_ROUTE, targets));
    return true;
  }
}
