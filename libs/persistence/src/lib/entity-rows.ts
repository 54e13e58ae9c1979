import { type DataSource, type EntityMetadata, type EntityTarget, type ObjectLiteral } from 'typeorm';
import { type ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/**
 * An entity's SELECT list, row mapper and writes, for the statements on every execution's path: they
 * send plain SQL and convert values with TypeORM's own column conversions (JSON, booleans, dates,
 * transformers), but skip its query building and hydration, which cost more CPU than the round trip.
 */
export class EntityRows<E extends ObjectLiteral> {
  /** `alias.col AS alias_col, …` for every selectable column. */
  readonly select: string;
  private readonly meta: EntityMetadata;
  private readonly columns: readonly ColumnMetadata[];

  constructor(
    private readonly ds: DataSource,
    target: EntityTarget<E>,
    private readonly alias: string,
  ) {
    this.meta = ds.getMetadata(target);
    // a relation's join column without a property of its own (virtual) is not the entity's to map
    this.columns = this.meta.columns.filter((c) => c.isSelect && !c.isVirtual);
    this.select = this.columns.map((c) => `${alias}.\`${c.databaseName}\` AS \`${alias}_${c.databaseName}\``).join(', ');
  }

  /** The table, as `FROM` names it. */
  get table(): string {
    return `\`${this.meta.tableName}\` ${this.alias}`;
  }

  /** `col = ?, …` for each property given, and its values as the columns store them (JSON as text, …). */
  assignments(values: Partial<E>): { sql: string; params: unknown[] } {
    const given = this.given(values);
    return { sql: given.map(([c]) => `\`${c.databaseName}\` = ?`).join(', '), params: given.map(([, v]) => v) };
  }

  /** An INSERT of the properties given; the others take their defaults. */
  insert(values: Partial<E>): { sql: string; params: unknown[] } {
    const given = this.given(values);
    return {
      sql: `INSERT INTO \`${this.meta.tableName}\` (${given.map(([c]) => `\`${c.databaseName}\``).join(', ')}) VALUES (${given.map(() => '?').join(', ')})`,
      params: given.map(([, v]) => v),
    };
  }

  /** The entity whose `id` this is, or null: one plain SELECT. */
  async byId(id: string): Promise<E | null> {
    const [row]: Record<string, unknown>[] = await this.ds.query(`SELECT ${this.select} FROM ${this.table} WHERE ${this.alias}.id = ?`, [id]);
    return row ? this.entity(row) : null;
  }

  /** The entity in a row selected with `select`. */
  entity(row: Record<string, unknown>): E {
    const e = this.meta.create() as E;
    for (const c of this.columns) c.setEntityValue(e, this.ds.driver.prepareHydratedValue(row[`${this.alias}_${c.databaseName}`], c));
    return e;
  }

  private given(values: Partial<E>): [ColumnMetadata, unknown][] {
    return Object.entries(values)
      .filter(([, v]) => v !== undefined)
      .map(([property, v]) => {
        const c = this.meta.findColumnWithPropertyName(property);
        if (!c) throw new Error(`${this.meta.name} has no column '${property}'`);
        return [c, this.ds.driver.preparePersistentValue(v, c)];
      });
  }
}
