import { type WebhookDelivery } from '@sandbox/domain';
import { createZodDto } from '../http/zod-dto';
import { z } from 'zod';

const delivery = z.object({
  attempt: z.number().describe('1 for the first try'),
  url: z.string(),
  status_code: z.number().nullable().describe("the receiver's answer; null when none came"),
  error: z.string().nullable().describe('why it did not count as delivered; null when it did (2xx)'),
  duration_ms: z.number(),
  created_at: z.string(),
});
export class DeliveryListDto extends createZodDto(z.object({ items: z.array(delivery).describe('oldest first') })) {}

export class WebhookSecretDto extends createZodDto(
  z.object({
    secret: z.string().describe("verify each webhook's webhook-signature with it (Standard Webhooks: HMAC-SHA256 of \"<webhook-id>.<webhook-timestamp>.<body>\", base64, after \"v1,\")"),
  }),
) {}

export function deliveryToResponse(d: WebhookDelivery): z.infer<typeof delivery> {
  return { attempt: d.attempt, url: d.url, status_code: d.statusCode, error: d.error, duration_ms: d.durationMs, created_at: d.createdAt.toISOString() };
}
