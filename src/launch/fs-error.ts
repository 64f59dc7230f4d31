/** "ENOSPC: no space left on device" from a Node fs error (without the syscall and path). */
export function errText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/, \w+ '.*'$/, '').replace(/, \w+$/, '');
}
