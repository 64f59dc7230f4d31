/**
 * `reaper install --host H`: the single-file executable to `~/.local/bin/reaper` on H. The
 * executable's OS and architecture are read from its ELF header, H's from `uname -sm`; a
 * mismatch is refused before a byte is sent. The copy is one ssh call: written to a temporary
 * file beside the target, its size (and sha256 where H has sha256sum) checked there, made
 * executable, then renamed over the old one, so a half copy is never `reaper`.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { ReaperError } from '../../model/errors.js';
import { sanitizeText } from '../../model/sanitize.js';
import type { HostSpec } from '../../remote/hosts.js';
import { classifySshOutcome, runSsh } from '../../remote/ssh.js';
import { describeHostError, EXIT_HOST_FAILED, hostError, type HostTransport } from './fanout.js';

export interface Platform {
  readonly os: string;
  readonly arch: string;
}

// ELF e_machine → `uname -m`.
const MACHINES: Record<number, string> = { 3: 'i686', 40: 'armv7l', 62: 'x86_64', 183: 'aarch64', 243: 'riscv64', 21: 'ppc64le', 22: 's390x' };

/** The OS and architecture an executable is for, from its first 64 bytes; null: not a Linux ELF executable. Pure. */
export function parseElfPlatform(head: Uint8Array): Platform | null {
  if (head.length < 20 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return null;
  const le = head[5] === 1;
  const osabi = head[7];
  // SYSV (0) or GNU/Linux (3); FreeBSD and others have their own.
  if (osabi !== 0 && osabi !== 3) return null;
  const u16 = (o: number): number => (le ? head[o]! | (head[o + 1]! << 8) : (head[o]! << 8) | head[o + 1]!);
  const type = u16(16);
  if (type !== 2 && type !== 3) return null; // EXEC or DYN (a PIE)
  const arch = MACHINES[u16(18)];
  return arch ? { os: 'Linux', arch } : { os: 'Linux', arch: `elf-machine-${u16(18)}` };
}

/** `uname -sm` output → platform, with the names other systems use for the same thing. Pure. */
export function parseUname(text: string): Platform | null {
  const m = /^(\S+)\s+(\S+)\s*$/.exec(text.trim());
  if (!m) return null;
  const alias: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', i386: 'i686', i586: 'i686' };
  return { os: m[1]!, arch: alias[m[2]!] ?? m[2]! };
}

export function samePlatform(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.arch === b.arch;
}

/** The remote script: stdin → temp file, checked, chmod, atomic rename. Pure. */
export function installScript(size: number, sha256: string): string {
  return [
    'set -e',
    'umask 022',
    'd="$HOME/.local/bin"',
    'mkdir -p "$d"',
    't="$d/.reaper.install.$$"',
    `trap 'rm -f "$t"' EXIT`,
    'cat > "$t"',
    'n=$(wc -c < "$t" | tr -d " ")',
    `[ "$n" = ${size} ] || { echo "copy incomplete: $n of ${size} bytes" >&2; exit 3; }`,
    `if command -v sha256sum >/dev/null 2>&1; then s=$(sha256sum "$t" | cut -d" " -f1); [ "$s" = ${sha256} ] || { echo "sha256 differs: $s" >&2; exit 3; }; echo "sha256 checked"; fi`,
    'chmod 755 "$t"',
    'mv -f "$t" "$d/reaper"',
    'trap - EXIT',
    'echo "installed $d/reaper"',
    'case ":$PATH:" in *":$d:"*) echo "on PATH";; *) echo "not on PATH";; esac',
  ].join('\n');
}

/** Where the executable is: --file, the running single-file executable, or <checkout>/build/reaper. */
function findExecutable(file: string | null): string {
  if (file !== null) return file;
  if ((globalThis as { __REAPER_SEA__?: boolean }).__REAPER_SEA__) return process.execPath;
  // dist/src/cli/hosts/install-host.js → <checkout>/build/reaper
  const built = new URL('../../../../build/reaper', import.meta.url).pathname;
  try {
    if (statSync(built).isFile()) return built;
  } catch {
    /* not built */
  }
  throw new ReaperError('NOT_FOUND', `no single-file executable at ${built}: build it with "npm run package" (or give one with --file)`);
}

function readHead(file: string): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(64);
    const n = readSync(fd, b, 0, 64, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export async function runInstallHost(
  host: HostSpec,
  args: { file: string | null; deadlineMs: number },
  t: HostTransport,
  io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream },
): Promise<number> {
  const file = findExecutable(args.file);
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    throw new ReaperError('NOT_FOUND', `--file ${sanitizeText(file)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (!st.isFile()) throw new ReaperError('USAGE', `${sanitizeText(file)}: not a regular file`);
  const mine = parseElfPlatform(readHead(file));
  if (!mine) throw new ReaperError('UNSUPPORTED', `${sanitizeText(file)} is not a Linux executable (no ELF header for Linux): nothing copied`);
  const name = sanitizeText(host.name);

  const u = await runSsh(host, 'uname -sm', { ...t.ssh, deadlineMs: args.deadlineMs });
  const ue = classifySshOutcome(u);
  if (ue) {
    io.err.write(`reaper: ${name}: ${describeHostError(hostError(ue.kind, ue.message), u.ms)}; nothing copied\n`);
    return EXIT_HOST_FAILED;
  }
  const theirs = parseUname(u.stdout);
  if (!theirs) {
    io.err.write(`reaper: ${name}: uname -sm answered "${sanitizeText(u.stdout.trim().slice(0, 80))}"; nothing copied\n`);
    return EXIT_HOST_FAILED;
  }
  if (!samePlatform(mine, theirs)) {
    throw new ReaperError('UNSUPPORTED', `${name} is ${sanitizeText(`${theirs.os} ${theirs.arch}`)}, the executable is for ${mine.os} ${mine.arch}: nothing copied (build one on a ${sanitizeText(theirs.arch)} machine with "npm run package")`);
  }

  const bytes = readFileSync(file);
  const sha = createHash('sha256').update(bytes).digest('hex');
  // A slow link must not be cut short: a minute plus one second per MiB.
  const deadlineMs = args.deadlineMs + Math.ceil(bytes.length / (1024 * 1024)) * 1000;
  const c = await runSsh(host, installScript(bytes.length, sha), { ...t.ssh, deadlineMs, input: bytes, maxStdoutBytes: 64 * 1024 });
  const ce = classifySshOutcome(c);
  if (ce) {
    io.err.write(`reaper: ${name}: copy failed: ${describeHostError(hostError(ce.kind, ce.message), c.ms)}; the old ~/.local/bin/reaper (if any) is unchanged\n`);
    return c.exitCode === 3 ? 1 : EXIT_HOST_FAILED;
  }
  const said = c.stdout.split('\n').map((l) => l.trim());
  const mib = (bytes.length / (1024 * 1024)).toFixed(1);
  io.out.write(`${name}: installed ~/.local/bin/reaper (${mib} MiB, ${mine.os} ${mine.arch}, sha256 ${sha.slice(0, 16)}…${said.includes('sha256 checked') ? ' checked there' : ''}) in ${c.ms} ms\n`);
  if (said.includes('not on PATH')) io.out.write(`${name}: ~/.local/bin is not on the PATH of a non-interactive ssh login there: name the command in your hosts file ("${name} ~/.local/bin/reaper")\n`);
  return 0;
}
