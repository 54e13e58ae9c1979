import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError } from '../http/api-error';
import { ADMIN_ROUTE, type AuthenticatedRequest, PUBLIC_ROUTE } from './access.decorators';
import { ApiKeysService } from './api-keys.service';

/** Every route needs a valid key unless marked @Public; @AdminOnly routes need the admin scope. */
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
    const [scheme, secret, ...rest] = (req.headers.authorization ?? '').trim().split(/\s+/);
    if (req.headers.authorization && (scheme?.toLowerCase() !== 'bearer' || !secret || rest.length)) {
      throw ApiError.unauthorized('invalid_authorization', 'the Authorization header must be "Bearer <key>"');
    }
    req.principal = await this.keys.authenticate(secret);
    if (this.reflector.getAllAndOverride<boolean>(ADMIN_ROUTE, targets) && req.principal.scope !== 'admin') {
      throw new ApiError(403, 'forbidden', 'this operation needs an API key of the admin scope');
    }
    return true;
  }
}
