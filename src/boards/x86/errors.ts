/**
 * Loader errors: one line each, typed so the CLI can print them without a
 * stack trace and tests can assert which rule was broken.
 */
export type X86LoadErrorCode =
  | 'not-a-kernel'
  | 'protocol-too-old'
  | 'no-64bit-entry'
  | 'kernel-too-large'
  | 'initrd-too-large'
  | 'initrd-above-max'
  | 'cmdline-too-long'
  | 'bad-elf'
  | 'no-pvh-note'
  | 'memory-layout';

export class X86LoadError extends Error {
  constructor(readonly code: X86LoadErrorCode, message: string) {
    super(message);
    this.name = 'X86LoadError';
  }
}
