//! The `sealpost` command. Everything happens in [`sealpost::cli`].

fn main() -> std::process::ExitCode {
    sealpost::cli::main()
}
