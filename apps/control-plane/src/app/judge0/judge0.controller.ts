import { Body, Controller, Get, HttpCode, Param, ParseIntPipe, Post, Query, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type Execution, type Principal } from '@sandbox/domain';
import { CurrentPrincipal } from '../http/access.decorators';
import { ApiError } from '../http/api-error';
import { BATCH_MAX, Judge0BatchDto, Judge0BatchGetQueryDto, Judge0CreateQueryDto, Judge0GetQueryDto } from './judge0.dto';
import { Judge0ExceptionFilter } from './judge0-exception.filter';
import { JUDGE0_STATUSES, NotUtf8Error, pickFields, shownOrError, submissionView } from './judge0-submission';
import { Judge0Service } from './judge0.service';

/**
 * Judge0 CE's API on the prefix /judge0 (its documentation is the contract): an existing Judge0 client
 * switches by changing its base URL, with this platform's API key as its X-Auth-Token.
 */
@ApiTags('judge0')
@ApiBearerAuth()
@UseFilters(Judge0ExceptionFilter)
@Controller('judge0')
export class Judge0Controller {
  constructor(private readonly judge0: Judge0Service) {}

  @Post('submissions')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a submission (Judge0): {token}; with wait=true, the submission once it ended' })
  @ApiBody({ schema: { type: 'object', properties: { source_code: { type: 'string' }, language_id: { type: 'integer' }, stdin: { type: 'string' }, expected_output: { type: 'string' } } } })
  async create(@Body() body: unknown, @Query() query: Judge0CreateQueryDto, @CurrentPrincipal() who: Principal) {
    const [answer] = await this.judge0.submit([body], query.base64_encoded ?? false, who);
    if (!answer || !('token' in answer)) throw refusal(answer ?? {});
    if (!query.wait) return answer;
    const { execution, index } = await this.judge0.find(answer.token as string, who);
    return shown(await this.judge0.waitFor(execution), index, query.fields, query.base64_encoded ?? false, true);
  }

  @Get('submissions/batch')
  @ApiOperation({ summary: 'Get submissions (Judge0): {submissions: [...]}, null for a token that names none' })
  async getBatch(@Query() query: Judge0BatchGetQueryDto, @CurrentPrincipal() who: Principal) {
    const tokens = query.tokens.split(',').map((t) => t.trim()).filter(Boolean);
    if (tokens.length > BATCH_MAX) throw refusal({ tokens: [`must contain at most ${BATCH_MAX} tokens`] });
    const submissions = [];
    for (const token of tokens) {
      const found = await this.judge0.find(token, who).catch(() => null);
      submissions.push(found && shown(found.execution, found.index, query.fields, query.base64_encoded ?? false, true));
    }
    return { submissions };
  }

  @Post('submissions/batch')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create submissions (Judge0): a {token} or the errors of each; submissions of one program run as one execution, compiled once' })
  createBatch(@Body() body: Judge0BatchDto, @Query() query: Judge0CreateQueryDto, @CurrentPrincipal() who: Principal) {
    return this.judge0.submit(body.submissions, query.base64_encoded ?? false, who);
  }

  @Get('submissions/:token')
  @ApiOperation({ summary: 'Get a submission (Judge0)' })
  async get(@Param('token') token: string, @Query() query: Judge0GetQueryDto, @CurrentPrincipal() who: Principal) {
    const { execution, index } = await this.judge0.find(token, who);
    return shown(execution, index, query.fields, query.base64_encoded ?? false, false);
  }

  @Get('languages')
  @ApiOperation({ summary: 'Languages (Judge0): [{id, name}], named with the versions the images run' })
  async languages() {
    return (await this.judge0.languages()).map(({ id, name }) => ({ id, name }));
  }

  @Get('languages/:id')
  @ApiOperation({ summary: 'A language (Judge0)' })
  async language(@Param('id', ParseIntPipe) id: number) {
    const found = (await this.judge0.languages()).find((l) => l.id === id);
    if (!found) throw new ApiError(404, 'not_found', `language with id ${id} doesn't exist`);
    return found;
  }

  @Get('statuses')
  @ApiOperation({ summary: 'Statuses (Judge0)' })
  statuses() {
    return JUDGE0_STATUSES;
  }
}

function refusal(errors: Record<string, string[]>): ApiError {
  return ApiError.validation(Object.entries(errors).flatMap(([field, messages]) => messages.map((message) => ({ field, message }))));
}

/**
 * A submission's attributes as asked. Output that is not UTF-8 cannot be sent as text: Judge0 answers
 * 400 on GET, and its token with the error when a create waited (`tokenOnBadText`).
 */
function shown(e: Execution, index: number, fields: string | undefined, base64: boolean, tokenOnBadText: boolean): Record<string, unknown> {
  const view = submissionView(e, index);
  if (tokenOnBadText) return shownOrError(view, fields, base64);
  try {
    return pickFields(view, fields, base64);
  } catch (err) {
    throw err instanceof NotUtf8Error ? new ApiError(400, 'not_utf8', err.message) : err;
  }
}
