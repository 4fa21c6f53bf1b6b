// The zip writer: a dedicated worker that owns the output file's Origin
// Private File System sync access handle, so writing the zip overlaps with
// the coordinator's next batch of shards instead of following it.
//
// Protocol (from web/worker.js): { type: 'open', name } -> { type: 'opened' };
// { type: 'write', bytes } (transferred) -> { type: 'written', buffer }
// (the chunk's buffer, transferred back for the next chunks);
// { type: 'close' } -> { type: 'closed', file }; { type: 'discard' } ->
// { type: 'discarded' }. Any failure -> { type: 'error', error }.

let root;
let name;
let fileHandle;
let handle;
let at = 0;

self.onmessage = async ({ data }) => {
  try {
    switch (data.type) {
      case 'open':
        name = data.name;
        root = await navigator.storage.getDirectory();
        fileHandle = await root.getFileHandle(name, { create: true });
        handle = await fileHandle.createSyncAccessHandle();
        self.postMessage({ type: 'opened' });
        break;
      case 'write': {
        const n = handle.write(data.bytes, { at });
        if (n !== data.bytes.length) throw new Error('browser storage is full: the output zip does not fit');
        at += n;
        self.postMessage({ type: 'written', buffer: data.bytes.buffer }, [data.bytes.buffer]);
        break;
      }
      case 'close':
        // no flush(): it waits for the disk (50-175 ms for a 100-280 MB
        // zip, in headless Chromium) at the end of every run, and the zip is a
        // download read back at once through the same file, not a record
        // that must survive a crash (one left by a crash is deleted an hour
        // later, as every old output is: removeOldOutputs in worker.js)
        handle.close();
        self.postMessage({ type: 'closed', file: await fileHandle.getFile() });
        break;
      case 'discard':
        try {
          handle?.close();
        } catch {
          // already closed
        }
        if (root && name) await root.removeEntry(name).catch(() => {});
        self.postMessage({ type: 'discarded' });
        break;
      default:
        throw new Error(`unknown request ${data.type}`);
    }
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    self.postMessage({ type: 'error', error: `cannot write the output zip to browser storage (${why}): is the disk full?` });
  }
};
