//! rust-cli: prints integers with their digits grouped in threes.
//!
//!     rust-cli 1234567 -42      prints "1,234,567" and "-42", one a line
//!     rust-cli --sep _ 1000000  prints "1_000_000"
//!     rust-cli --self-test      checks a few known answers and exits (0 on success)

use std::env;
use std::process::ExitCode;

/// Groups the decimal digits of `n` in threes, joined by `sep`.
fn group(n: i64, sep: char) -> String {
    let mut buf = itoa::Buffer::new();
    let text = buf.format(n);
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let mut out = String::with_capacity(text.len() + digits.len() / 3);
    out.push_str(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

fn self_test() -> Result<(), String> {
    let cases: [(i64, &str); 6] = [
        (0, "0"),
        (999, "999"),
        (1000, "1,000"),
        (-1234567, "-1,234,567"),
        (i64::MAX, "9,223,372,036,854,775,807"),
        (i64::MIN, "-9,223,372,036,854,775,808"),
    ];
    for (n, want) in cases {
        let got = group(n, ',');
        if got != want {
            return Err(format!("group({n}) = {got:?}, want {want:?}"));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args = env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--self-test") {
        return match self_test() {
            Ok(()) => {
                println!("self-test ok: {}", group(1234567890, ','));
                ExitCode::SUCCESS
            }
            Err(e) => {
                println!("self-test FAILED: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut sep = ',';
    let mut printed = 0;
    while let Some(arg) = args.next() {
        if arg == "--sep" {
            match args.next().and_then(|s| s.chars().next()) {
                Some(c) => sep = c,
                None => {
                    eprintln!("rust-cli: --sep needs a character");
                    return ExitCode::from(2);
                }
            }
            continue;
        }
        match arg.parse::<i64>() {
            Ok(n) => {
                println!("{}", group(n, sep));
                printed += 1;
            }
            Err(_) => {
                eprintln!("rust-cli: not an integer: {arg:?}");
                return ExitCode::from(2);
            }
        }
    }
    if printed == 0 {
        eprintln!("usage: rust-cli [--sep C] INTEGER... | --self-test");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
