/**
 * Exhaustiveness check for a `switch` over a union (e.g. the topology's node kinds): call it in the `default`
 * branch. While every member has a case, the value there has type `never`; a new member without a case is then a
 * compile error at this call instead of a branch that silently skips it.
 */
export function assertNever(value: never, what: string): never {
  // Reached only when the type checker was bypassed (data built outside the typed API): a bug, not a user error.
  throw new Error(`Unhandled ${what}: ${printable(value)}. This is a bug in Tributary.`);
}

function printable(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
