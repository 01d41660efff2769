// Standard base64 (RFC 4648, with padding), as the file airlocks send file bytes.

function value(c: i32): i32 {
  if (c >= 65 && c <= 90) return c - 65; // A-Z
  if (c >= 97 && c <= 122) return c - 71; // a-z
  if (c >= 48 && c <= 57) return c + 4; // 0-9
  if (c == 43) return 62; // +
  if (c == 47) return 63; // /
  return -1;
}

/** Decodes base64 text; characters outside the alphabet (such as padding) are skipped. */
export function base64Decode(text: string): Uint8Array {
  let n = text.length;
  while (n > 0 && text.charCodeAt(n - 1) == 61) n--;
  const out = new Uint8Array((n * 3) >> 2);
  let acc: u32 = 0;
  let bits = 0;
  let j = 0;
  for (let i = 0; i < n; i++) {
    const v = value(text.charCodeAt(i));
    if (v < 0) continue;
    acc = (acc << 6) | <u32>v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (j < out.length) out[j++] = <u8>((acc >> <u32>bits) & 0xff);
    }
  }
  return j == out.length ? out : out.slice(0, j);
}
