import { type CanActivate, type ExecutionContext, Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RateLimitStore, type RateLimitState } from '@sandbox/queue';
import { type Response } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane.config';
import { ApiError } from '../http/api-error';
import { type AuthenticatedRequest, PUBLIC_ROUTE } from '../http/access.decorators';

/**
 * Requests per API key and window, counted in Redis so every control plane shares the count.
 * Answers carry `RateLimit-Limit/Remaining/Reset`; over the limit 429 with `Retry-After`. When Redis
 * does not answer the request goes through (fail open, as E2B does): the queue refuses work anyway.
 */
@Injectable()
export class RateLimitGuard implements CanActivate, OnModuleDestroy {
  private readonly store: RateLimitStore;

  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly reflector: Reflector,
    @InjectPinoLogger(RateLimitGuard.name) private readonly log: PinoLogger,
  ) {
    // a hung Redis must not hold the request: past 250 ms the count is skipped
    this.store = new RateLimitStore(
      { redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX },
      { points: config.RATE_LIMIT_REQUESTS, windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS, timeoutMs: 250 },
    );
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (!this.config.RATE_LIMIT_REQUESTS || this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [ctx.getHandler(), ctx.getClass()])) return true;
    const http = ctx.switchToHttp();
    const { principal } = http.getRequest<AuthenticatedRequest>();
    let state: RateLimitState;
    try {
      state = await this.store.consume(principal.keyId);
    } catch (e) {
      this.log.warn({ err: e }, 'rate limit not checked: Redis did not answer');
      return true;
    }
    const headers = this.headers(state);
    if (!state.allowed) {
      const retryAfter = String(Math.max(1, Math.ceil(state.msBeforeReset / 1000)));
      throw new ApiError(
        429,
        'rate_limited',
        `this API key made more than ${this.config.RATE_LIMIT_REQUESTS} requests in ${this.config.RATE_LIMIT_WINDOW_SECONDS} s; retry after ${retryAfter} s`,
        [],
        { ...headers, 'Retry-After': retryAfter },
      );
    }
    const res = http.getResponse<Response>();
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    return true;
  }

  onModuleDestroy(): void {
    this.store.close();
  }

  private headers(state: RateLimitState): Record<string, string> {
    return {
      'RateLimit-Limit': String(this.config.RATE_LIMIT_REQUESTS),
      'RateLimit-Remaining': String(state.remaining),
      'RateLimit-Reset': String(Math.ceil(state.msBeforeReset / 1000)),
    };
  }
}
