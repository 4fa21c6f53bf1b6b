# workerd configuration of the shardimpute edge worker.
#   workerd serve config.capnp [--socket-addr http=127.0.0.1:8787]
# build/ holds the single-threaded wasm build (make edge-worker copies it
# from dist/st/).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # shard URLs may point anywhere, this machine included (tests, MinIO)
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "shardimpute_wasm.js", esModule = embed "build/shardimpute_wasm.js"),
    (name = "shardimpute_wasm_bg.wasm", wasm = embed "build/shardimpute_wasm_bg.wasm"),
  ],
  compatibilityDate = "2026-11-01",
  globalOutbound = "internet",
);
