/**
 * Loads a module with `globalThis.fetch` hidden. yoga-layout (Ink's layout engine) instantiates
 * its inlined WebAssembly by calling `fetch` on a data: URL when fetch exists; in Node that first
 * call loads undici, fetch's implementation. Without fetch it decodes the same bytes itself.
 * Measured on the 2-core VM: yoga's import 33–37 ms → 12 ms, RSS 59.7 → 51.8 MB. reaper never
 * uses fetch; the property is put back as it was (undici still unloaded) once the module is in.
 */
export async function importWithoutFetch<T>(load: () => Promise<T>): Promise<T> {
  const original = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  if (original === undefined || original.configurable !== true) return load();
  Object.defineProperty(globalThis, 'fetch', { value: undefined, writable: true, configurable: true, enumerable: original.enumerable ?? false });
  try {
    return await load();
  } finally {
    Object.defineProperty(globalThis, 'fetch', original);
  }
}
