import { Controller, Delete, Get, HttpCode, Param, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiExtraModels, ApiConsumes, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { type Principal } from '@sandbox/domain';
import { type Request, type Response } from 'express';
import { CurrentPrincipal } from '../http/access.decorators';
import { FileDownloadQueryDto, FileInfoDto, FileListDto, ListFilesQueryDto, PresignedUrlDto } from './file.dto';
import { FilesService } from './files.service';
import { sendDownload } from './send-download';

/**
 * A session's workspace files. `*path` is everything after `files/`, '/'-separated; percent-escapes
 * are decoded once, then validated.
 */
@ApiTags('files')
@ApiBearerAuth()
@ApiExtraModels(PresignedUrlDto)
@Controller('v1')
export class FilesController {
  constructor(private readonly files: FilesService) {}

  @Put('sessions/:id/files/*path')
  @ApiConsumes('application/octet-stream')
  @ApiBody({ description: "the file's bytes, streamed; Content-Length lets an oversized file be refused before it is sent", schema: { type: 'string', format: 'binary' } })
  @ApiCreatedResponse({ type: FileInfoDto, description: 'stored; visible to the next execution of the session' })
  @ApiOperation({ summary: 'Upload a file to the workspace' })
  async upload(@Param('id') id: string, @Param('path') path: string[], @CurrentPrincipal() who: Principal, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const length = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
    try {
      const stored = await this.files.upload(who, id, path.join('/'), req, Number.isSafeInteger(length) ? length : null);
      res.status(201);
      return stored;
    } catch (e) {
      // refused before the body was read to its end: the rest of it must not be taken for the next request
      if (!req.complete) res.set('Connection', 'close');
      throw e;
    }
  }

  @Get('sessions/:id/files')
  @ApiOkResponse({ type: FileListDto, description: 'stored files in path order; `prefix` narrows them' })
  @ApiOperation({ summary: 'List workspace files' })
  list(@Param('id') id: string, @Query() query: ListFilesQueryDto, @CurrentPrincipal() who: Principal) {
    return this.files.list(who, id, query.prefix ?? '', query.limit, query.cursor);
  }

  @Get('sessions/:id/files/*path')
  @ApiOkResponse({
    description: 'the file; with presign=true a JSON {url, expires_at} to fetch it from the store directly',
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } }, 'application/json': { schema: { $ref: getSchemaPath(PresignedUrlDto) } } },
  })
  @ApiOperation({ summary: 'Download a workspace file' })
  async download(@Param('id') id: string, @Param('path') path: string[], @Query() query: FileDownloadQueryDto, @CurrentPrincipal() who: Principal, @Res() res: Response) {
    if (query.presign) {
      res.json(await this.files.presign(who, id, path.join('/')));
      return;
    }
    await sendDownload(res, await this.files.download(who, id, path.join('/')));
  }

  @Delete('sessions/:id/files/*path')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'deleted; gone from the workspace at the next execution' })
  @ApiOperation({ summary: 'Delete a workspace file' })
  async remove(@Param('id') id: string, @Param('path') path: string[], @CurrentPrincipal() who: Principal) {
    await this.files.remove(who, id, path.join('/'));
  }
}
