// What a repository refuses, one class per kind; the HTTP conventions (src/api/http) map each
// kind to its status, so every route answers the same refusal the same way.

export class StoreRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export type Entity =
  'org' | 'point' | 'kkm' | 'user' | 'group' | 'application' | 'grant' | 'centre';

/** The record an operation refers to does not exist (or lies in another organization). */
export class NotFoundError extends StoreRuleError {
  constructor(
    readonly entity: Entity,
    readonly id: number,
  ) {
    super(`${entity} ${id} not found`);
  }
}

/** A field breaks a rule or refers to something outside the organization. */
export class InvalidInputError extends StoreRuleError {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

/** The acting user may not do this (grant beyond its own access, touch the owner). */
export class ForbiddenError extends StoreRuleError {}

export type ConflictReason =
  | 'duplicate_bin'
  | 'login_taken'
  | 'cashier_code_taken'
  | 'kkm_deregistered'
  | 'owner_protected'
  | 'point_has_kkms'
  | 'point_targeted'
  | 'geo_changed_recently'
  | 'shift_open'
  | 'offline_documents_expected'
  | 'application_pending'
  | 'grant_state';

/** The operation contradicts stored state (duplicate BIN, a login taken, …). */
export class ConflictError extends StoreRuleError {
  constructor(
    readonly reason: ConflictReason,
    message: string,
  ) {
    super(message);
  }
}

/** Another process holds the lock for this record longer than we are willing to wait. */
export class BusyError extends StoreRuleError {}

/** A sequence or invariant the store relies on is broken (an operator's problem). */
export class StoreBrokenError extends StoreRuleError {}
