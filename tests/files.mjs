// Files on disk for the Node tests (no dependencies): what a folder holds.

import fs from 'node:fs';
import path from 'node:path';

/** Paths of the files under `dir`, relative to it, sorted. */
export function list(dir) {
  const out = [];
  const walk = (d, rel) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** Every file under `dir`: Map of relative path to its bytes, by path. */
export function tree(dir) {
  return new Map(list(dir).map((p) => [p, fs.readFileSync(path.join(dir, p))]));
}
