import { Inject, Injectable } from '@nestjs/common';
import { attemptWriter, type Execution, type ExecutionResults, planResults, resultLimitsOf, resultObjectKey, type Template } from '@sandbox/domain';
import { type RunReport } from '@sandbox/runtime';
import { WORKSPACE_STORE, type WorkspaceStore } from '@sandbox/storage';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';

/**
 * An execution's rich results as they are recorded: representations within the template's inline
 * limit stay in the row, larger ones go to the workspace store under the session (served by URL,
 * deleted with the session's data), and what is over the execution's budget is dropped and noted.
 */
@Injectable()
export class RichResultsService {
  constructor(
    @Inject(WORKSPACE_STORE) private readonly store: WorkspaceStore,
    @InjectPinoLogger(RichResultsService.name) private readonly log: PinoLogger,
  ) {}

  /** Null when the run reported none (and dropped none). */
  async record(execution: Execution, template: Template, report: RunReport): Promise<ExecutionResults | null> {
    if (!report.results.length && !report.resultsNote) return null;
    const writer = attemptWriter(execution.id, execution.attempt);
    const plan = planResults(report.results, resultLimitsOf(template), (index, mime) => resultObjectKey(execution.sessionId, writer, index, mime));
    const notes = [report.resultsNote, plan.note];
    const failed = new Set<string>();
    await Promise.all(
      plan.uploads.map((u) =>
        this.store.put(u.key, u.body, { contentType: u.mime }).catch((e: Error) => {
          this.log.warn({ execution_id: execution.id, key: u.key, err: e }, 'cannot store a rich result');
          failed.add(u.key);
        }),
      ),
    );
    if (failed.size) notes.push(`${failed.size} large representation(s) could not be stored and were dropped`);
    const items = plan.results.map((r) => ({ ...r, stored: Object.fromEntries(Object.entries(r.stored).filter(([, s]) => !failed.has(s.key))) }));
    return { items, note: notes.filter(Boolean).join('; ') || null };
  }
}
