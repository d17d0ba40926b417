/**
 * Notices a Linux guest's panic on its console, so a panicked VM ends with
 * {kind: 'panic'} (exit status 5) instead of hanging or looking like an
 * ordinary reset: both engines and every console device feed it the bytes
 * the guest prints. The kernel prints "Kernel panic - not syncing: <reason>"
 * and, once it has given up, "---[ end Kernel panic - not syncing: <reason> ]---".
 * A guest that prints that text itself only ends its own VM.
 */
const START = 'Kernel panic - not syncing: ';
const END = '---[ end Kernel panic - not syncing: ';
const MAX_LINE = 1024;

export class PanicWatch {
  private line = '';
  private reason: string | undefined;
  private fired = false;

  constructor(private readonly onPanic: (reason: string) => void) {}

  feed(bytes: Uint8Array): void {
    if (this.fired) return;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b === 0x0a) {
        this.endLine();
      } else if (this.line.length < MAX_LINE) {
        this.line += String.fromCharCode(b);
      }
    }
  }

  private endLine(): void {
    const l = this.line.replace(/\r$/, '');
    this.line = '';
    const end = l.indexOf(END);
    if (end >= 0) {
      this.fired = true;
      this.onPanic(this.reason ?? l.slice(end + END.length).replace(/ \]---$/, ''));
      return;
    }
    const start = l.indexOf(START);
    if (start >= 0 && this.reason === undefined) this.reason = l.slice(start + START.length).trim();
  }
}
