import { InputError } from "./errors.js";

/**
 * Decodes a user file's bytes as UTF-8. A leading UTF-8 byte-order mark is
 * dropped (it is invisible and would otherwise end up in the first field); invalid UTF-8 is refused
 * with the file, line and column of the first bad byte, instead of being turned into U+FFFD silently.
 */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    // ignoreBOM false (default): the decoder strips a leading BOM
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const { line, col, at } = firstInvalid(bytes);
    throw new InputError(
      `${file}:${line}:${col}: invalid UTF-8 (byte 0x${bytes[at]!.toString(16).padStart(2, "0")} at offset ${at}); save the file as UTF-8`,
      file,
      `line ${line}`,
    );
  }
}

/** Position of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalid(b: Uint8Array): { line: number; col: number; at: number } {
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const cont = (k: number) => k < b.length && (b[k]! & 0xc0) === 0x80;
  while (i < b.length) {
    const x = b[i]!;
    let n = 0;
    if (x < 0x80) n = 1;
    else if (x >= 0xc2 && x <= 0xdf) n = 2;
    else if (x >= 0xe0 && x <= 0xef) n = 3;
    else if (x >= 0xf0 && x <= 0xf4) n = 4;
    let ok = n > 0;
    for (let k = 1; ok && k < n; k++) ok = cont(i + k);
    // overlong / surrogate / out-of-range forms the fatal decoder also refuses
    if (ok && n === 3) ok = !(x === 0xe0 && b[i + 1]! < 0xa0) && !(x === 0xed && b[i + 1]! >= 0xa0);
    if (ok && n === 4) ok = !(x === 0xf0 && b[i + 1]! < 0x90) && !(x === 0xf4 && b[i + 1]! >= 0x90);
    if (!ok) {
      // the column counts characters of the valid text before the bad byte
      const col = new TextDecoder().decode(b.subarray(lineStart, i)).length + 1;
      return { line, col, at: i };
    }
    if (x === 0x0a) {
      line++;
      lineStart = i + 1;
    }
    i += n;
  }
  return { line, col: 1, at: 0 };
}

/** FNV-1a 32-bit hash of a string. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** L2-normalised hashed word 1- and 2-gram counts of `text` in `buckets` bins (signed hashing). */
export function hashedNgrams(text: string, buckets: number): Float32Array {
  const f = new Float32Array(buckets);
  const words = text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
  const add = (gram: string) => {
    const h = fnv1a(gram);
    f[h % buckets] += h & 0x80000000 ? -1 : 1;
  };
  for (let i = 0; i < words.length; i++) {
    add(words[i]!);
    if (i + 1 < words.length) add(words[i]! + " " + words[i + 1]!);
  }
  let norm = 0;
  for (let i = 0; i < buckets; i++) norm += f[i]! * f[i]!;
  if (norm > 0) {
    const inv = 1 / Math.sqrt(norm);
    for (let i = 0; i < buckets; i++) f[i]! *= inv;
  }
  return f;
}
