import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { TemplateRepository } from '@sandbox/persistence';
import { ApiError } from '../http/api-error';
import { TemplateListResponseDto, templateToResponse, TemplateResponseDto } from './template.dto';

@ApiTags('templates')
@ApiBearerAuth()
@Controller('v1/templates')
export class TemplatesController {
  constructor(private readonly templates: TemplateRepository) {}

  @Get()
  @ApiOkResponse({ type: TemplateListResponseDto })
  @ApiOperation({ summary: 'List templates' })
  async list() {
    return { items: (await this.templates.findAll()).map(templateToResponse) };
  }

  @Get(':id')
  @ApiOkResponse({ type: TemplateResponseDto })
  @ApiOperation({ summary: 'Get a template' })
  async get(@Param('id') id: string) {
    const t = await this.templates.findById(id);
    if (!t) throw ApiError.notFound('template', id);
    return templateToResponse(t);
  }
}
