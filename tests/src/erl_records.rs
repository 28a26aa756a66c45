//! Batches of terms for a one-shot `erl`: helper modules from tests/erl compiled into a
//! temporary directory, `erl -noshell -eval` runs, and record files (a 4-byte big-endian
//! length, then the bytes) that carry thousands of terms each way in one run.

use std::path::Path;
use std::process::Command;

/// A temporary directory with the modules `tests/erl/MODULE.erl` compiled into it.
pub fn compile_erl_modules(modules: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for module in modules {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("erl/{module}.erl"));
        let out = erl(
            dir.path(),
            &format!(
                "{{ok, {module}}} = compile:file(\"{}\", [{{outdir, \"{}\"}}, report]), io:format(\"compiled~n\")",
                src.display(),
                dir.path().display()
            ),
        );
        assert_eq!(out.trim(), "compiled", "compiling {module}");
    }
    dir
}

/// Runs `expr` in a fresh `erl -noshell` with `code_dir` on the code path; returns stdout.
pub fn erl(code_dir: &Path, expr: &str) -> String {
    let out = Command::new("erl")
        .args(["-noshell", "-pa"])
        .arg(code_dir)
        .args(["-eval", &format!("{expr}, halt().")])
        .output()
        .expect("run erl (is Erlang/OTP installed? `make deps`)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "erl failed: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The records of a record file's bytes; panics on a truncated file.
pub fn records(bytes: &[u8]) -> Vec<&[u8]> {
    let mut v = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 4 {
        let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        assert!(rest.len() >= 4 + n, "a truncated record file");
        v.push(&rest[4..4 + n]);
        rest = &rest[4 + n..];
    }
    assert!(rest.is_empty(), "a truncated record file");
    v
}

/// Writes a record file.
pub fn write_records<'a>(path: &Path, recs: impl IntoIterator<Item = &'a [u8]>) {
    let mut out = Vec::new();
    for r in recs {
        out.extend_from_slice(&(r.len() as u32).to_be_bytes());
        out.extend_from_slice(r);
    }
    std::fs::write(path, out).expect("write a record file");
}

/// A path as an Erlang string literal.
pub fn quoted(p: &Path) -> String {
    format!("\"{}\"", p.display())
}
