export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `cursor` for the next page; null on the last one. */
  readonly nextCursor: string | null;
}

export interface PageQuery {
  readonly limit: number;
  /** Id of the last item of the previous page; ids are time-ordered, pages go newest first. */
  readonly cursor?: string;
}
