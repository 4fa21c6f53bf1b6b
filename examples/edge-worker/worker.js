// shardimpute as a Worker on Cloudflare's runtime (workerd): POST a dataset,
// get back the zip of its imputed shards and artifacts, streamed as shards
// finish (the web app's zip layout: `<split>/<file>`, `model_artifacts/...`,
// then `_shardimpute_manifest.json` and `_SUCCESS` last).
//
//   POST /?jobType=training&LABEL_FIELD=target      body: a zip of the dataset folder
//   POST /   Content-Type: application/json          body: { jobType, env, files, artifacts }
//       files: [{ path: 'train/part-00000.csv', url, size? }]  (fetched when read)
//       artifacts: [{ name: 'impute_dict.pkl', url }]          (validation, testing, calibration)
//       env: the Python step's KEY=VALUE lines (in the query for a zip body)
//   GET /stats  { wasmMemoryBytes }: the engine's memory, its high-water mark
//
// Shards given as URLs are fetched a few at a time and the zip is written
// as the response is read, so a dataset far larger than the isolate's
// memory goes through. A zip body is held whole (its entries are inflated
// one at a time). Errors before the zip starts (layout, settings, pass 1)
// are a 4xx/5xx JSON `{ error, kind }`; an error in pass 2 aborts the
// response stream, so the zip has no `_SUCCESS` entry and the client sees
// a failed transfer.

import { initSync, Job, ZipReader, settingsFromEnv } from './shardimpute_wasm.js';
import wasmModule from './shardimpute_wasm_bg.wasm';

const engine = initSync({ module: wasmModule });
const SPLIT_NAMES = ['train', 'val', 'test', 'validation', 'testing', 'calibration', 'model_artifacts'];
const USAGE = 'POST a zip of a dataset folder (?jobType=...&LABEL_FIELD=...), '
  + 'or JSON { jobType, env, files: [{ path, url }], artifacts: [{ name, url }] }\n';

export default {
  async fetch(request, _env, ctx) {
    const url = new URL(request.url);
    if (request.method === 'GET' && url.pathname === '/stats') {
      return Response.json({ wasmMemoryBytes: engine.memory.buffer.byteLength });
    }
    if (request.method !== 'POST') return new Response(USAGE, { status: request.method === 'GET' ? 200 : 405 });
    let job;
    let zip;
    try {
      const input = (request.headers.get('content-type') ?? '').includes('json')
        ? await fromJson(await request.json(), url)
        : fromZip((zip = new ZipReader(new Uint8Array(await request.arrayBuffer()))), url);
      job = new Job(input.jobType, settingsFromEnv(input.env), input.files);
      await job.addArtifacts(input.artifacts);
      if (input.jobType === 'training') await job.fit();
    } catch (e) {
      job?.free();
      zip?.free();
      return failure(e);
    }
    const { readable, writable } = new TransformStream();
    ctx.waitUntil(job.fill({ zip: writable }).catch(() => {
      // the stream is aborted with the error: the client sees it fail
    }).finally(() => {
      job.free();
      zip?.free();
    }));
    return new Response(readable, {
      headers: { 'Content-Type': 'application/zip', 'Content-Disposition': `attachment; filename="${outputName(url)}"` },
    });
  },
};

function outputName(url) {
  return `${url.searchParams.get('jobType') ?? 'dataset'}-imputed.zip`;
}

/** The query's settings as env lines: every parameter but jobType. */
function queryEnv(url) {
  return [...url.searchParams].filter(([k]) => k !== 'jobType').map(([k, v]) => `${k}=${v}`).join('\n');
}

async function fromJson(body, url) {
  if (!body || !Array.isArray(body.files)) throw Object.assign(new Error('the JSON body needs `files`: [{ path, url }]'), { kind: 'layout' });
  return {
    jobType: body.jobType ?? url.searchParams.get('jobType') ?? 'training',
    env: [queryEnv(url), body.env ?? ''].join('\n'),
    files: body.files.map((f) => ({ path: f.path, url: f.url, size: f.size })),
    artifacts: (body.artifacts ?? []).map((a) => ({ name: a.name, url: a.url })),
  };
}

/**
 * The dataset in a zip: paths relative to the dataset folder (a single top
 * folder holding it is taken off), `model_artifacts/` files as artifacts.
 * Each entry is inflated when the engine reads it.
 */
function fromZip(zip, url) {
  const entries = zip.entries().filter((e) => !e.path.startsWith('__MACOSX/'));
  const top = entries[0]?.path.split('/')[0];
  const strip = top && !SPLIT_NAMES.includes(top) && entries.every((e) => e.path.startsWith(`${top}/`));
  const files = [];
  const artifacts = [];
  for (const e of entries) {
    const rel = strip ? e.path.slice(top.length + 1) : e.path;
    const read = () => zip.read(e.path);
    const parts = rel.split('/');
    if (parts[0] === 'model_artifacts') {
      if (parts.length === 2) artifacts.push({ name: parts[1], file: read });
    } else files.push({ path: rel, file: read, size: e.size });
  }
  return { jobType: url.searchParams.get('jobType') ?? 'training', env: queryEnv(url), files, artifacts };
}

function failure(e) {
  const kind = e?.kind ?? null;
  const status = kind === 'internal' ? 500 : kind === 'io' ? 502 : ['layout', 'settings', 'zip'].includes(kind) || !kind ? 400 : 422;
  return Response.json({ error: e instanceof Error ? e.message : String(e), kind }, { status });
}
