use std::process::ExitCode;

/// The product binary uses mimalloc: the INF model allocates one `String` per key and field, and
/// glibc malloc/free was ~31 % of parse time (see BENCHMARKS.md, "INF parsing").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    infuse::cli::main()
}
