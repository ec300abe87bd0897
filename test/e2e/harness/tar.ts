// The tar format as Go's archive/tar writes it for the provider: ustar headers owned by 0:0, a pax
// header first for a name ustar cannot hold. Used for build contexts and for container uploads.
import * as path from "path";

function octal(h: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`tar field at ${offset} cannot hold ${value}`);
  h.write(`${digits.padStart(width - 1, "0")}\0`, offset, "ascii");
}

/** A pax record ("<length> key=value\n"), whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const size = Buffer.byteLength(body);
  let length = size + 1;
  while (length !== size + String(length).length) length = size + String(length).length;
  return `${length}${body}`;
}

function tarHeader(name: string, type: "0" | "5" | "x", mode: number, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h.write(type, 156, "ascii");
  h.write("ustar\x0000", 257, "ascii");
  h.fill(" ", 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

function padded(data: Buffer): Buffer[] {
  return [data, Buffer.alloc((512 - (data.length % 512)) % 512)];
}

export interface TarEntry {
  name: string;
  directory?: boolean;
  /** Permission bits. */
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  data: Buffer;
}

/** One archive entry's blocks. */
export function tarEntry(e: TarEntry): Buffer[] {
  const blocks: Buffer[] = [];
  // A name with any byte beyond ASCII takes more bytes than characters.
  if (Buffer.byteLength(e.name) > 100 || Buffer.byteLength(e.name) !== e.name.length) {
    const pax = Buffer.from(paxRecord("path", e.name));
    blocks.push(tarHeader(`PaxHeaders.0/${path.posix.basename(e.name)}`.slice(0, 100), "x", 0o644, pax.length, e.mtime), ...padded(pax));
  }
  blocks.push(tarHeader(e.name, e.directory ? "5" : "0", e.mode, e.data.length, e.mtime), ...padded(e.data));
  return blocks;
}

/** Entries' blocks closed with the two zero blocks that end an archive. */
export function tarArchive(blocks: Buffer[]): Buffer {
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}
