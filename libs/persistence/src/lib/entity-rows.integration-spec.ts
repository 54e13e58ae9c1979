import { bindSession, completeExecution, startExecution } from '@sandbox/domain';
import { createTestDatabase, type TestDatabase } from '@sandbox/testing';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';
import { ExecutionEntity } from './entities/execution.entity';
import { SessionEntity } from './entities/session.entity';
import { EntityRows } from './entity-rows';
import { ExecutionRepository } from './repositories/execution.repository';
import { SessionRepository } from './repositories/session.repository';

/** The hot reads' own mapping gives, column for column, the entity TypeORM's hydration gives. */
describe('EntityRows on MariaDB', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('entityrows');
    ds = await new DataSource(dataSourceOptions(db.url, { poolSize: 2 })).initialize();
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('maps every kind of column (JSON, booleans, enums, floats, dates, nulls) as TypeORM does', async () => {
    const sessions = new SessionRepository(ds);
    const executions = new ExecutionRepository(ds);
    await sessions.insertWithinCap(
      { id: 's1', templateId: 'python-basic', tenant: 't', runtimeType: 'docker', envVars: { A: 'b' }, timeout: 300, resources: { cpu: '1', memory: '512Mi', disk: '1Gi' }, workspacePath: 'w/s1', idempotency: { key: 'k', requestHash: 'h'.repeat(64) } },
      10,
    );
    expect(await sessions.bind('s1', 'node-a', 'c1', bindSession)).toBe(true);
    const asked = {
      id: 'e1',
      sessionId: 's1',
      code: 'print("é")',
      language: 'python',
      stdin: 'in',
      timeout: 7,
      collect: ['out/*.csv'],
      envVars: { X: '1' },
      args: ['-v'],
      testCases: [{ stdin: '1', expected_output: '1', args: null, timeout: null }],
      compare: 'exact' as const,
      inputFiles: [{ path: 'a.txt', contentBase64: 'YQ==' }],
    };
    await executions.insertWithinCap(asked, 10);
    const claimed = await executions.claimNext('s1', 'node-a');
    expect(claimed).toMatchObject({ id: 'e1', status: startExecution.to, session: { id: 's1', runtimeNode: 'node-a' }, morePending: false });
    const result = {
      stdout: 'ok\n',
      stderr: '',
      stdoutTruncated: true,
      stderrTruncated: false,
      exitCode: 0,
      executionTime: 0.25,
      error: null,
      reason: 'exited' as const,
      usage: { wall_ms: 12, cpu_ms: 3, peak_memory_bytes: 1024, stdout_bytes: 3, stderr_bytes: 0, signal: null },
    };
    await executions.finish({ id: 'e1', attempt: 1, node: 'node-a', startedAt: claimed!.startedAt }, completeExecution, result);

    const execution = new EntityRows(ds, ExecutionEntity, 'e');
    expect(await execution.byId('e1')).toEqual(await ds.getRepository(ExecutionEntity).findOneBy({ id: 'e1' }));
    const session = new EntityRows(ds, SessionEntity, 's');
    expect(await session.byId('s1')).toEqual(await ds.getRepository(SessionEntity).findOneBy({ id: 's1' }));
    expect(await session.byId('nope')).toBeNull();
    // what the plain INSERT and UPDATE wrote, converted as TypeORM converts it
    expect(await executions.findById('e1')).toMatchObject({
      ...asked,
      ...result,
      status: 'completed',
      attempts: [{ attempt: 1, node: 'node-a', outcome: 'completed' }],
    });
    expect(await executions.findById('nope')).toBeNull();
  });
});
