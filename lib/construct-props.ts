import { Token } from "aws-cdk-lib";

/**
 * What every construct does with its props before it builds anything: fill in its defaults (withDefaults), then
 * check them (checkInteger, checkNotAbove), throwing an Error that names the props interface, the prop, the
 * value received and the fix. Values that are unresolved tokens pass the checks: they are known only at deploy time.
 */

/** The whole numbers a numeric prop accepts, both bounds included. */
export interface IntegerRange {
  readonly min: number;
  readonly max: number;
  /** Written after the value and the bounds in the message, such as "MB". @default - none */
  readonly unit?: string;
}

/** Throws unless `value` is a whole number within `range`. */
export function checkInteger(owner: string, prop: string, value: number, range: IntegerRange): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    const unit = range.unit ? ` ${range.unit}` : "";
    throw new Error(`${owner}.${prop}=${value}${unit} is invalid: give an integer from ${range.min}${unit} to ${range.max}${unit}.`);
  }
}

/** Throws when `low.value` is above `high.value`, two props that must stay in that order; `fix` says how to mend it. */
export function checkNotAbove(owner: string, low: { prop: string; value: number }, high: { prop: string; value: number }, fix: string): void {
  if (Token.isUnresolved(low.value) || Token.isUnresolved(high.value)) return;
  if (low.value > high.value) {
    throw new Error(`${owner}.${low.prop}=${low.value} is above ${high.prop}=${high.value}: ${fix}.`);
  }
}

/** `props` with every prop that is left out, or undefined, taken from `defaults`. */
export function withDefaults<P extends object, K extends keyof P>(
  props: P,
  defaults: { readonly [Key in K]-?: NonNullable<P[Key]> },
): P & { readonly [Key in K]-?: NonNullable<P[Key]> } {
  const given = Object.fromEntries(Object.entries(props).filter(([, value]) => value !== undefined));
  return { ...defaults, ...given } as P & { readonly [Key in K]-?: NonNullable<P[Key]> };
}
