// Image helpers for hovers: the size of a PNG, JPEG or GIF from its first bytes, and how wide to show
// it. vscode-free: unit-tested in test/results.test.mjs.

export interface ImageSize {
  width: number;
  height: number;
}

/** The pixel size of a PNG, GIF or JPEG, or undefined for anything else. */
export function imageSize(bytes: Uint8Array): ImageSize | undefined {
  const u32 = (i: number) => (((bytes[i] ?? 0) << 24) | ((bytes[i + 1] ?? 0) << 16) | ((bytes[i + 2] ?? 0) << 8) | (bytes[i + 3] ?? 0)) >>> 0;
  const u16be = (i: number) => ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  const u16le = (i: number) => (bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8);
  if (bytes.length >= 24 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return { width: u32(16), height: u32(20) };
  }
  if (bytes.length >= 10 && bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) {
    return { width: u16le(6), height: u16le(8) };
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let i = 2;
    while (i + 9 < bytes.length) {
      if (bytes[i] !== 0xff) {
        return undefined;
      }
      const marker = bytes[i + 1] ?? 0;
      // Start-of-frame markers (not DHT 0xc4, JPG 0xc8, DAC 0xcc) carry the size.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { width: u16be(i + 7), height: u16be(i + 5) };
      }
      i += 2 + u16be(i + 2);
    }
  }
  return undefined;
}

/** The width to show an image at in a hover: its own, at most `max` pixels. */
export function hoverWidth(size: ImageSize | undefined, max = 480): number | undefined {
  if (!size || size.width <= 0) {
    return undefined;
  }
  return Math.min(size.width, max);
}
