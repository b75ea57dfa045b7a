//! The `neuroloop` command; see the library for everything it does.

fn main() -> std::process::ExitCode {
    neuroloop::cli::main()
}
