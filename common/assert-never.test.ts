import { describe, expect, it } from 'vitest';
import { assertNever } from './assert-never.js';

type Shape = { readonly kind: 'circle' } | { readonly kind: 'square' };

function corners(shape: Shape): number {
  switch (shape.kind) {
    case 'circle':
      return 0;
    case 'square':
      return 4;
    default:
      return assertNever(shape, 'shape');
  }
}

describe('assertNever', () => {
  it('is unreachable while every member has a case', () => {
    expect(corners({ kind: 'square' })).toBe(4);
  });

  it('throws, naming the value, when data bypassed the types', () => {
    expect(() => corners({ kind: 'triangle' } as unknown as Shape)).toThrow('Unhandled shape: {"kind":"triangle"}');
  });
});
