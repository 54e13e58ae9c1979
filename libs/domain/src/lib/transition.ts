/**
 * A status change allowed only from a known set of statuses. Persistence turns one into a single
 * conditional UPDATE (`SET status = to WHERE status IN (from)`), so two writers can never both win.
 */
export interface Transition<S extends string> {
  readonly name: string;
  readonly from: readonly S[];
  readonly to: S;
  /** The next status, or an IllegalTransitionError when `current` is not in `from`. */
  apply(current: S): S;
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly transition: string,
    readonly current: string,
  ) {
    super(`cannot ${transition} from status '${current}'`);
    this.name = 'IllegalTransitionError';
  }
}

export function transition<S extends string>(name: string, from: readonly S[], to: S): Transition<S> {
  return Object.freeze({
    name,
    from: Object.freeze([...from]),
    to,
    apply(current: S): S {
      if (!from.includes(current)) throw new IllegalTransitionError(name, current);
      return to;
    },
  });
}
