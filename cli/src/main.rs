//! `shardimpute`: the native command line (see the library, `lib.rs`).

fn main() -> std::process::ExitCode {
    shardimpute_cli::main_with(std::env::args_os())
}
