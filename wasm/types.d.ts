/** Settings of a run; every field is optional (see `defaultSettings()`). */
export interface Settings {
  labelField?: string;
  excludeColumns?: string[];
  defaultNumericalStrategy?: "mean" | "median" | "constant";
  defaultCategoricalStrategy?: "mode" | "most_frequent" | "constant";
  defaultTextStrategy?: "mode" | "most_frequent" | "constant" | "empty";
  numericalConstantValue?: number | string;
  categoricalConstantValue?: string;
  textConstantValue?: string;
  autoDetectCategorical?: boolean;
  categoricalUniqueRatioThreshold?: number;
  validateFillValues?: boolean;
  /** `[column, strategy]` pairs, as `COLUMN_STRATEGY_<column>`. */
  columnStrategies?: [string, string][];
  /** Field texts that mean "missing" in CSV/TSV. */
  naValues?: string[];
  renameDots?: boolean;
  /** What `settingsFromEnv` could not take as given (unknown strategy names). */
  warnings?: string[];
}
export type JobType = "training" | "validation" | "testing" | "calibration";
/** Bytes in one piece, or in chunks. */
export type Bytes = Uint8Array | ArrayBuffer | ArrayBufferView;
export type ByteSource = Blob | Bytes | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;
/**
 * One input file: its path in the dataset folder (`train/part-00000.csv`)
 * and its content: a `Blob`/`File`, bytes, a stream or async iterable of
 * bytes, or a function returning one of those (called at each read: pass 1
 * and pass 2 both read training shards, and a stream can be read once);
 * or a URL, fetched at each read (`init`: fetch options, such as headers).
 * `size` (bytes) feeds progress where the content does not tell it.
 */
export type ShardFile =
  | { path: string; file: ByteSource | ((path: string) => ByteSource | Promise<ByteSource>); size?: number }
  | { path: string; url: string | URL; init?: RequestInit; size?: number };
export interface DatasetShard { path: string; name: string; format: string; size: number; }
export interface Dataset { splits: { name: string; shards: DatasetShard[] }[]; ignored: string[]; }
export type FillValue = number | string | boolean;
export interface ColumnPlan {
  name: string;
  type: "numerical" | "categorical" | "text";
  strategy: string | null;
  fillValue: FillValue | null;
  missingCount: number;
  missingPct: number;
  distinct: number | null;
  skipped: string | null;
}
export interface Plan { columns: ColumnPlan[]; warnings: string[]; }
export interface Progress {
  pass: "fit" | "fill";
  /** The last shard finished. */
  shard: string;
  shardsDone: number;
  shardsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  rowsDone: number;
}
export interface PassOptions {
  onProgress?: (p: Progress) => void;
  /** Aborting rejects the pass with a "cancelled" error. */
  signal?: AbortSignal;
}
export interface FitOptions extends PassOptions {
  /**
   * Bytes of training shards to keep in memory, as pass 1 reads them, for
   * the next pass 2 to use instead of reading them again (default 0).
   * Up to as many bytes again (64 MiB at most) keep where the CSV/TSV
   * training shards' missing cells are, so every pass 2 until the next
   * pass 1 fills them without reading their records again.
   * The web app keeps up to 256 MiB.
   */
  keepForFill?: number;
}
export interface FillOptions extends PassOptions {
  /** Each output shard, in shard order; awaited when it returns a promise. */
  onShard?: (path: string, bytes: Uint8Array) => void | Promise<void>;
  /**
   * The zip of every output shard and artifact (`model_artifacts/...`),
   * ending with `_shardimpute_manifest.json` and `_SUCCESS`, written as
   * shards finish (each write awaited), then closed; aborted on an error.
   * Chunks are of up to 512 KiB; one may start up to 7 bytes into its
   * buffer (`byteOffset`).
   */
  zip?: WritableStream<Uint8Array>;
  /**
   * Chunks of the zip the reader is done with, pushed back here by it while
   * the pass runs: the engine writes the next chunks into them (the last
   * one first, the list emptied as it goes) instead of making new ones. A
   * chunk pushed here must not be read or kept any more. The web app gives
   * back each chunk once it is in the file: fresh memory for every chunk
   * cost the browser a page fault every 4 KiB.
   */
  spareChunks?: Uint8Array[];
}
/** Every artifact by file name: carried files, then ours. */
export type Artifacts = Record<string, Uint8Array> & {
  "impute_dict.pkl": Uint8Array;
  "impute_dict.json": Uint8Array;
  "imputation_summary.json": Uint8Array;
  "imputation_report.json": Uint8Array;
  "imputation_summary.txt": Uint8Array;
};
/** A file of a saved artifacts folder: its content as a shard's, or a URL. */
export type ArtifactFile =
  | { name: string; file: ByteSource | ((name: string) => ByteSource | Promise<ByteSource>) }
  | { name: string; url: string | URL; init?: RequestInit };
/** Errors thrown or rejected by the engine carry a kind. */
export interface ShardImputeError extends Error {
  kind: "io" | "layout" | "csv" | "parquet" | "gzip" | "zip" | "schema" | "artifact" | "settings"
    | "fill_value" | "row_count" | "state" | "memory" | "internal" | "cancelled";
}
