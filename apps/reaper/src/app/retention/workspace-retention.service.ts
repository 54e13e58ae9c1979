import { Inject, Injectable } from '@nestjs/common';
import { sessionPrefix } from '@sandbox/domain';
import { SessionRepository, WorkspaceFileRepository } from '@sandbox/persistence';
import { WORKSPACE_STORE, type WorkspaceStore } from '@sandbox/storage';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { REAPER_CONFIG, type ReaperConfig } from '../reaper.config';
import { ReaperMetrics } from '../reaper.metrics';

/**
 * Deletes the stored workspaces of sessions that ended more than WORKSPACE_RETENTION_DAYS ago (on the
 * database clock), a batch per tick: their objects, then their manifest, then their workspace_path.
 * Deleting twice is harmless, so a tick interrupted half-way is finished by the next one. Each tick
 * also aborts the multipart uploads that writers which died mid-transfer left unfinished.
 */
@Injectable()
export class WorkspaceRetentionService {
  constructor(
    @Inject(REAPER_CONFIG) private readonly config: ReaperConfig,
    @Inject(WORKSPACE_STORE) private readonly store: WorkspaceStore,
    private readonly sessions: SessionRepository,
    private readonly metrics: ReaperMetrics,
    private readonly manifest: WorkspaceFileRepository,
    @InjectPinoLogger(WorkspaceRetentionService.name) private readonly log: PinoLogger,
  ) {}

  async run(): Promise<{ sessions: number; objects: number; uploads: number }> {
    const uploads = await this.abortStaleUploads();
    if (this.config.WORKSPACE_RETENTION_DAYS === 0) return { sessions: 0, objects: 0, uploads };
    const expired = await this.sessions.withExpiredWorkspace(this.config.WORKSPACE_RETENTION_DAYS, this.config.RETENTION_BATCH);
    let objects = 0;
    for (const session of expired) {
      objects += await this.store.deletePrefix(sessionPrefix(session.id));
      await this.manifest.deleteSession(session.id);
      await this.sessions.clearWorkspace(session.id);
    }
    this.metrics.ran('workspace-retention');
    this.metrics.count('workspace', 'deleted', expired.length);
    this.metrics.count('workspace_object', 'deleted', objects);
    if (expired.length) this.log.info({ sessions: expired.length, objects, retention_days: this.config.WORKSPACE_RETENTION_DAYS }, 'expired workspaces deleted');
    return { sessions: expired.length, objects, uploads };
  }

  private async abortStaleUploads(): Promise<number> {
    const before = new Date(Date.now() - this.config.STALE_UPLOAD_AFTER_SECONDS * 1000);
    const n = await this.store.abortStaleUploads('sessions/', before).catch((e: unknown) => {
      this.log.warn({ err: e }, 'cannot abort stale multipart uploads');
      return 0;
    });
    if (n) this.log.info({ uploads: n }, 'stale multipart uploads aborted');
    return n;
  }
}
