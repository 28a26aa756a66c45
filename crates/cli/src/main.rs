//! The `beamlink` binary: parses flags and hands each command to its module.
//!
//! `main` is the C entry point (`no_main`): Rust's own start-up would find the main
//! thread's stack bounds (reading /proc/self/maps) and set up a stack-overflow handler,
//! about a tenth of a one-shot command's instructions. What of it matters here is done
//! below: fds 0-2 open, SIGPIPE's default action, panics reported on one line with
//! Rust's exit status 101. (On glibc, `std::env::args` does not need Rust's start-up.)
#![cfg_attr(not(test), no_main)]

mod args;
mod commands;
mod elixir;
mod exit;
mod json;
mod logging;
mod node_setup;
mod reach;
mod signals;
mod sources;

/// The process's entry point, called by the C runtime. (Unit tests have libtest's.)
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    ensure_std_fds();
    // A panic is reported by the hook below; unwinding stops here, with the status Rust
    // gives a panicking program.
    std::panic::catch_unwind(beamlink_main).unwrap_or(101)
}

/// Opens /dev/null on any of fds 0, 1, 2 that is closed, so a socket never becomes
/// stdout.
#[cfg_attr(test, allow(dead_code))]
fn ensure_std_fds() {
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the descriptor; open returns a new descriptor,
        // the lowest free one, which is the closed `fd`.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1 && *libc::__errno_location() == libc::EBADF {
                let flags = if fd == 0 { libc::O_RDONLY } else { libc::O_WRONLY };
                libc::open(c"/dev/null".as_ptr(), flags);
            }
        }
    }
}

#[cfg_attr(test, allow(dead_code))]
fn beamlink_main() -> libc::c_int {
    // Like other Unix tools, end quietly when the reader of stdout goes away
    // (`beamlink list | head -1`) instead of failing to print.
    // SAFETY: setting a signal's disposition to the default before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // A bug must still be one line on stderr, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = exit::one_line(&info.to_string());
        eprintln!("beamlink: internal error, please report it: {msg}");
    }));
    let args = match args::Cli::parse_args() {
        Ok(a) => a,
        Err(e) => {
            // --help and --version print on stdout and succeed; usage errors exit 2.
            let _ = e.print();
            std::process::exit(if e.use_stderr() { exit::USAGE } else { exit::OK });
        }
    };
    // Only the EPMD server logs its work by default; clients print results, not logs.
    let quiet_default = !matches!(args.command, args::Command::Epmd(_));
    let one_shot = !matches!(args.command, args::Command::Epmd(_) | args::Command::Join(_));
    logging::init(args.common.verbose, args.common.quiet, quiet_default, one_shot);
    let code = commands::run(args);
    std::process::exit(code);
}
