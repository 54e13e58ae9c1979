import { createTestDatabase, type TestDatabase } from '@sandbox/testing';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

describe('entities against init.sql on MariaDB', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('schema');
    ds = await new DataSource(dataSourceOptions(db.url)).initialize();
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('has an empty TypeORM schema diff', async () => {
    const sql = await ds.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('holds the four seed templates', async () => {
    const rows: { id: string; image: string }[] = await ds.query('SELECT id, image FROM templates ORDER BY id');
    expect(rows).toEqual([
      { id: 'gcc', image: 'sandbox-gcc:12' },
      { id: 'nodejs-basic', image: 'sandbox-nodejs:20-basic' },
      { id: 'python-basic', image: 'sandbox-python:3.11-basic' },
      { id: 'python-datascience', image: 'sandbox-python:3.11-datascience' },
    ]);
  });
});
