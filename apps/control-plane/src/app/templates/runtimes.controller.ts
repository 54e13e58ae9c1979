import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { TemplateRepository } from '@sandbox/persistence';
import { RuntimeListResponseDto, runtimeEntries } from './template.dto';

@ApiTags('templates')
@ApiBearerAuth()
@Controller('v1/runtimes')
export class RuntimesController {
  constructor(private readonly templates: TemplateRepository) {}

  @Get()
  @ApiOperation({ summary: "Every language each template offers, with the version its image runs and its aliases (as Piston's /runtimes)" })
  @ApiOkResponse({ type: RuntimeListResponseDto })
  async list() {
    return { items: runtimeEntries(await this.templates.findAll()) };
  }
}
