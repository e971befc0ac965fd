import { assertNever } from '../../src/domain/assert-never';

describe('assertNever', () => {
  it('throws, naming the unexpected value', () => {
    // Given a value the type system said could not exist
    const value = 'archived' as never;
    // When / Then
    expect(() => assertNever(value)).toThrow('unexpected value: "archived"');
  });
});
