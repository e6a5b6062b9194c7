/**
 * Base class for every error Quarry raises on purpose.
 *
 * `type` carries a stable `code` (never match on message text) plus whatever metadata the code
 * needs. Validation errors also carry an `action`: `reject` (the input is provably invalid; the
 * sender is penalised) or `ignore` (not provably invalid, e.g. too far in the future; drop it
 * without penalty). One table in the network layer maps codes to peer penalties.
 */
export type ErrorAction = "reject" | "ignore";

export interface ErrorType {
  code: string;
}

export class QuarryError<T extends ErrorType = ErrorType> extends Error {
  readonly type: T;

  constructor(type: T, message?: string) {
    super(message ?? type.code);
    this.name = new.target.name;
    this.type = type;
  }

  get code(): T["code"] {
    return this.type.code;
  }
}

/** An error about data that a peer or a user sent, with the action the caller must take. */
export class ValidationError<T extends ErrorType = ErrorType> extends QuarryError<T> {
  readonly action: ErrorAction;

  constructor(type: T, action: ErrorAction, message?: string) {
    super(type, message);
    this.action = action;
  }
}
