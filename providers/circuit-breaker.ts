/**
 * A circuit per provider, shared by every worker process (the Redis implementation lives in
 * `db/circuits.ts`): after `failures` failures in a row within `windowMs` the circuit opens and the
 * provider is passed over at once; after `cooldownMs` it is half-open and lets one trial call
 * through, whose success closes it and whose failure opens it for another cool-down. Implementations
 * never reject: a circuit that cannot be read lets the call through, and a report that cannot be
 * written is dropped, so the breaker's own store never stops a step.
 */
export interface CircuitBreaker {
  /** True when a call to the provider `key` may go ahead (closed, or this caller holds the half-open trial). */
  allow(key: string): Promise<boolean>;
  /** A call failed in a way that says the provider is unwell. */
  failed(key: string): Promise<void>;
  /** A call succeeded: the circuit closes and its failures are forgotten. */
  succeeded(key: string): Promise<void>;
}

export interface CircuitSettings {
  /** Failures in a row that open the circuit. */
  failures: number;
  /** Failures further apart than this do not add up. */
  windowMs: number;
  /** How long an open circuit passes the provider over before a trial call. */
  cooldownMs: number;
}
