//! Throughput of the CST and the shell layer over the shared corpus, and peak memory.
//!
//! `DOCKOPT_CORPUS=../shared/corpus cargo bench -p dockopt-shell --bench corpus_throughput`
//! Prints figures; asserts nothing about speed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

const MEASURE_FOR: Duration = Duration::from_secs(3);

/// Peak resident memory of this process so far, from /proc (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Runs `work` (which returns bytes processed) until `MEASURE_FOR` has passed; MB/s.
fn throughput(mut work: impl FnMut() -> usize) -> (f64, usize) {
    work(); // warm up
    let start = Instant::now();
    let mut bytes = 0;
    let mut rounds = 0;
    while start.elapsed() < MEASURE_FOR {
        bytes += work();
        rounds += 1;
    }
    (bytes as f64 / 1e6 / start.elapsed().as_secs_f64(), rounds)
}

fn main() {
    let dir = dockopt_testing::corpus().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dockopt-syntax/tests/fixtures")
    });
    let paths = dockopt_testing::dockerfiles(&dir);
    let texts: Vec<String> = paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    let total: usize = texts.iter().map(String::len).sum();
    println!(
        "corpus: {} ({} files, {:.2} MB)",
        dir.display(),
        texts.len(),
        total as f64 / 1e6
    );

    let (cst, rounds) = throughput(|| {
        texts
            .iter()
            .map(|t| std::hint::black_box(dockopt_syntax::parse(t)).text().len())
            .sum()
    });
    println!("CST parse:      {cst:8.1} MB/s  ({rounds} passes over the corpus, one thread)");

    let parsed: Vec<_> = texts.iter().map(|t| dockopt_syntax::parse(t)).collect();
    let shell_bytes: usize = parsed
        .iter()
        .flat_map(dockopt_syntax::Dockerfile::instructions)
        .filter_map(dockopt_shell::parse_instruction)
        .map(|s| s.text().len())
        .sum();
    let (shell, rounds) = throughput(|| {
        parsed
            .iter()
            .flat_map(dockopt_syntax::Dockerfile::instructions)
            .filter_map(dockopt_shell::parse_instruction)
            .map(|s| std::hint::black_box(s).text().len())
            .sum()
    });
    println!(
        "shell layer:    {shell:8.1} MB/s of shell text ({:.2} MB in shell-form instructions, {rounds} passes)",
        shell_bytes as f64 / 1e6
    );
    let (both, _) = throughput(|| {
        texts
            .iter()
            .map(|t| {
                let file = dockopt_syntax::parse(t);
                for i in file.instructions() {
                    std::hint::black_box(dockopt_shell::parse_instruction(i));
                }
                t.len()
            })
            .sum()
    });
    println!("CST + shell:    {both:8.1} MB/s of Dockerfile text");
    drop(parsed);

    // One large file: the whole corpus concatenated until it is about 20 MB.
    let mut big = String::new();
    while big.len() < 20_000_000 {
        for t in &texts {
            big.push_str(t);
            if !big.ends_with('\n') {
                big.push('\n');
            }
        }
    }
    let before = peak_rss_mib();
    let start = Instant::now();
    let file = dockopt_syntax::parse(&big);
    let elapsed = start.elapsed().as_secs_f64();
    let after = peak_rss_mib();
    println!(
        "one {:.1} MB file: parsed in {:.3} s ({:.1} MB/s), {} tokens, {} instructions",
        big.len() as f64 / 1e6,
        elapsed,
        big.len() as f64 / 1e6 / elapsed,
        file.tokens().len(),
        file.instructions().len()
    );
    if let (Some(before), Some(after)) = (before, after) {
        println!(
            "peak memory: {after:.1} MiB for the process; the large file's tree added {:.1} MiB ({:.1}x its size)",
            after - before,
            (after - before) * 1_048_576.0 / big.len() as f64
        );
    }
}
