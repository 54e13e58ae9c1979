import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type Principal, tenantWebhookSecret } from '@sandbox/domain';
import { WebhookDeliveryRepository } from '@sandbox/persistence';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane.config';
import { ExecutionsService } from '../executions/executions.service';
import { CurrentPrincipal } from '../http/access.decorators';
import { ApiError } from '../http/api-error';
import { DeliveryListDto, deliveryToResponse, WebhookSecretDto } from './webhook.dto';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1')
export class WebhooksController {
  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly executions: ExecutionsService,
    private readonly deliveries: WebhookDeliveryRepository,
  ) {}

  @Get('executions/:id/deliveries')
  @ApiOperation({ summary: "Every attempt to deliver the execution's webhook to its callback_url" })
  @ApiOkResponse({ type: DeliveryListDto })
  async list(@Param('id') id: string, @CurrentPrincipal() who: Principal) {
    await this.executions.get(id, who);
    return { items: (await this.deliveries.list(id)).map(deliveryToResponse) };
  }

  @Get('webhooks/secret')
  @ApiOperation({ summary: "The caller's tenant's webhook signing secret" })
  @ApiOkResponse({ type: WebhookSecretDto })
  secret(@CurrentPrincipal() who: Principal) {
    if (!this.config.WEBHOOK_SECRET) throw new ApiError(404, 'webhooks_off', 'webhooks are off on this platform: its operator sets WEBHOOK_SECRET to turn them on');
    return { secret: tenantWebhookSecret(this.config.WEBHOOK_SECRET, who.tenant) };
  }
}
