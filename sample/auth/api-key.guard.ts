import { type CanActivate, type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { openAiErrorBody } from '../openai/openai.exceptions.js';

/** The token under which the sample's API keys are provided: each key and the tenant it belongs to. */
export const API_KEYS = Symbol('sample.api-keys');
export type ApiKeys = ReadonlyMap<string, string>;

/** A request the guard let through: with API keys, the tenant of its key. */
export interface TenantRequest {
  headers: Record<string, string | string[] | undefined>;
  tenant?: string;
}

/**
 * With API keys configured, lets an OpenAI request through only with
 * `Authorization: Bearer <key>` of a known key, and notes the key's tenant on
 * the request (`request.tenant`), which the metrics' `tenant` label reads.
 * Without keys, every request goes through, with no tenant.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(API_KEYS) private readonly keys: ApiKeys) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.keys.size === 0) {
      return true;
    }
    const request = context.switchToHttp().getRequest<TenantRequest>();
    const header = request.headers.authorization;
    const tenant = typeof header === 'string' && header.startsWith('Bearer ') ? this.keys.get(header.slice('Bearer '.length)) : undefined;
    if (tenant === undefined) {
      throw new UnauthorizedException(openAiErrorBody('Incorrect API key provided.', 'invalid_request_error', null, 'invalid_api_key'));
    }
    request.tenant = tenant;
    return true;
  }
}
