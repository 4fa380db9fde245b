use std::process::ExitCode;

fn main() -> ExitCode {
    infuse::cli::main()
}
