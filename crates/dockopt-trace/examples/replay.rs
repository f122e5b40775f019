//! Replays Dockerfiles with the oracle, for people.
//!
//! `cargo run -p dockopt-trace --example replay -- FILE` prints each stage's trace;
//! `... -- ORIGINAL FIXED [exact|additive|report]` prints the verdict of the pair.

use dockopt_trace::{Config, Event, Mode, Oracle};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let read = |p: &String| std::fs::read_to_string(p).expect("readable file");
    let oracle = Oracle::new(Config::default()).unwrap_or_else(|e| panic!("{e}"));
    match &args[..] {
        [file] => match oracle.replay_file(&read(file)) {
            Err(why) => println!("not replayed: {why}"),
            Ok(stages) => {
                for (plan, replay) in stages {
                    println!(
                        "== stage {} (FROM {} at line {})",
                        plan.index, plan.base, plan.line
                    );
                    let Some(replay) = replay else {
                        println!("   skipped: {}", plan.skip.unwrap_or_default());
                        continue;
                    };
                    for (event, step) in replay.trace.events.iter().zip(&replay.trace.steps) {
                        match event {
                            Event::Call(c) => println!("  [RUN #{}] {c} {:?}", step + 1, c.env),
                            Event::Output(o) => println!("  [RUN #{}] output {o:?}", step + 1),
                        }
                    }
                    for file in &replay.trace.files {
                        println!("   wrote {file}");
                    }
                    println!("   -> {}", replay.trace.outcome);
                    if !replay.stderr.is_empty() {
                        println!("   stderr of the last RUN:\n{}", replay.stderr);
                    }
                }
            }
        },
        [a, b, rest @ ..] => {
            let mode = rest
                .first()
                .and_then(|m| Mode::parse(m))
                .unwrap_or(Mode::Exact);
            let verdict = oracle.compare(a, &read(a), &read(b), mode);
            println!("{verdict}\n{:?}", verdict.stats);
        }
        [] => {
            eprintln!("usage: replay FILE | replay ORIGINAL FIXED [exact|additive|report]");
            std::process::exit(2);
        }
    }
}
