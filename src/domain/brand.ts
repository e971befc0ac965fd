/** Nominal typing for values that must be parsed once at the edge (STYLE §3). */
export type Brand<T, Name extends string> = T & { readonly __brand: Name };
