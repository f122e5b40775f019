//! The oracle against the merge-runs bugs that reached users, each as (original, the broken
//! fixed text written by hand, the corrected text): the broken text must be reported in
//! the right mode and scenario, the corrected one accepted. Plus the shell shapes a merge
//! meets (`command cd`, `;`, `||`, pipes, heredocs, CRLF, `# escape=``, comment lines
//! inside a continuation) and the replay's own mechanics (stubs at absolute paths, cd into
//! folders nobody created, exec form, timeouts, odd input).
//!
//! These tests need bubblewrap; without it they fail (they never pass by skipping).

use std::sync::OnceLock;
use std::time::Duration;

use dockopt_trace::{
    Change, Config, Event, INSTALL_BWRAP, Judgement, Limits, Mode, Oracle, Outcome, Scenario,
    Verdict,
};

fn oracle() -> &'static Oracle {
    static ORACLE: OnceLock<Oracle> = OnceLock::new();
    ORACLE.get_or_init(|| {
        Oracle::new(Config::default())
            .unwrap_or_else(|e| panic!("the trace oracle cannot run: {e}; {INSTALL_BWRAP}"))
    })
}

fn verdict(original: &str, fixed: &str, mode: Mode) -> Verdict {
    oracle().compare("test", original, fixed, mode)
}

/// Asserts a difference and returns it.
fn differs(original: &str, fixed: &str, mode: Mode) -> dockopt_trace::Difference {
    let v = verdict(original, fixed, mode);
    match v.judgement {
        Judgement::Different(d) => d,
        other => panic!("expected a difference in {mode:?}, got {other:?}\n{fixed}"),
    }
}

fn same(original: &str, fixed: &str, mode: Mode) -> Verdict {
    let v = verdict(original, fixed, mode);
    assert_eq!(v.judgement, Judgement::Identical, "{v}\n---\n{fixed}");
    v
}

/// The calls of the only stage of `text`, as words.
fn calls(text: &str) -> Vec<String> {
    let stages = oracle().replay_file(text).expect("replayable");
    let replay = stages[0].1.as_ref().expect("traced");
    replay
        .trace
        .calls()
        .map(|c| format!("{} @{}", c.argv.join(" "), c.cwd))
        .collect()
}

#[test]
fn bug1_a_trailing_comment_swallows_the_merged_commands() {
    let original =
        "FROM debian:bookworm\nRUN echo one # first step\nRUN touch /two\nRUN touch /three\n";
    let broken = "FROM debian:bookworm\nRUN echo one # first step && \\\n    touch /two && \\\n    touch /three\n";
    let d = differs(original, broken, Mode::Exact);
    assert_eq!(d.scenario, Scenario::Nominal);
    assert!(
        d.mismatch.original.contains("touch /two"),
        "{:?}",
        d.mismatch
    );
    differs(original, broken, Mode::Additive);
    let fixed = "FROM debian:bookworm\nRUN echo one && \\\n# first step\n    touch /two && \\\n    touch /three\n";
    let v = same(original, fixed, Mode::Exact);
    assert!(v.stats.scenarios_run >= 1, "{:?}", v.stats);
    // The form merge-runs writes today: the comment line indented.
    same(
        original,
        "FROM debian:bookworm\nRUN echo one && \\\n    # first step\n    touch /two && \\\n    touch /three\n",
        Mode::Exact,
    );
}

#[test]
fn bug2_a_closing_parenthesis_inside_a_comment_is_a_syntax_error() {
    let original = "FROM alpine:3.19\nRUN echo a\nRUN set -eux; echo b # note\n";
    let broken = "FROM alpine:3.19\nRUN echo a && \\\n    ( set -eux; echo b # note )\n";
    let d = differs(original, broken, Mode::Exact);
    assert_eq!(d.scenario, Scenario::Nominal);
    assert!(
        d.mismatch.fixed.contains("exit 2") || d.mismatch.what.contains("exit 2"),
        "{d:?}"
    );
    let fixed = "FROM alpine:3.19\nRUN echo a && \\\n    ( set -eux; echo b ) # note\n";
    same(original, fixed, Mode::Exact);
}

#[test]
fn bug3_set_e_on_the_left_of_and_is_ignored() {
    let original = "FROM debian:bookworm\n\
        RUN set -eux; curl -fo /x https://e/x; echo \"abc  /x\" | sha256sum -c -; tar -xf /x\n\
        RUN echo next\n";
    let broken = "FROM debian:bookworm\n\
        RUN ( set -eux; curl -fo /x https://e/x; echo \"abc  /x\" | sha256sum -c -; tar -xf /x ) && \\\n    echo next\n";
    // Nominally nothing differs: only a failing program shows it.
    let d = differs(original, broken, Mode::Exact);
    assert!(matches!(d.scenario, Scenario::Fails(_)), "{d:?}");
    let d = differs(original, broken, Mode::Additive);
    assert!(matches!(d.scenario, Scenario::Fails(_)), "{d:?}");
    // The checksum failing alone is enough to see it.
    let only_checksum = "FROM debian:bookworm\nRUN set -eux; echo \"abc  /x\" | sha256sum -c -; tar -xf /x\nRUN echo next\n";
    let broken_checksum = "FROM debian:bookworm\nRUN ( set -eux; echo \"abc  /x\" | sha256sum -c -; tar -xf /x ) && echo next\n";
    let d = differs(only_checksum, broken_checksum, Mode::Exact);
    assert_eq!(d.scenario, Scenario::Fails("sha256sum".into()), "{d:?}");
    // errexit kept: the next body joins the errexit body with `;`.
    let fixed = "FROM debian:bookworm\n\
        RUN set -eux; curl -fo /x https://e/x; echo \"abc  /x\" | sha256sum -c -; tar -xf /x; \\\n    echo next\n";
    let v = same(original, fixed, Mode::Exact);
    assert!(v.stats.scenarios_run >= 3, "{:?}", v.stats);
}

#[test]
fn bug3_the_official_image_shape() {
    // The postgres/alpine body: download, checksum, build, then another RUN.
    let original = "FROM alpine:3.22\nENV PG_VERSION 16.13\n\
        RUN set -eux; \\\n\twget -O postgresql.tar.bz2 \"https://ftp.postgresql.org/pub/source/v$PG_VERSION/postgresql-$PG_VERSION.tar.bz2\"; \\\n\
        \techo \"abc *postgresql.tar.bz2\" | sha256sum -c -; \\\n\tmkdir -p /usr/src/postgresql; \\\n\
        \ttar --extract --file postgresql.tar.bz2 --directory /usr/src/postgresql --strip-components 1; \\\n\
        \tcd /usr/src/postgresql; \\\n\t./configure --prefix=/usr/local; \\\n\tmake -j \"$(nproc)\"; \\\n\tpostgres --version\n\
        RUN install --directory --mode 3777 /var/run/postgresql\n";
    let broken = original
        .replace("RUN set -eux;", "RUN ( set -eux;")
        .replace(
            "\tpostgres --version\nRUN install",
            "\tpostgres --version ) && \\\n\tinstall",
        );
    let d = differs(original, &broken, Mode::Additive);
    assert!(matches!(d.scenario, Scenario::Fails(_)), "{d:?}");
    // The replay got through the whole chain: cd into the extracted folder, ./configure.
    let seen = calls(original);
    assert!(
        seen.iter()
            .any(|c| c.starts_with("./configure --prefix=/usr/local @/usr/src/postgresql")),
        "{seen:#?}"
    );
    assert!(seen.iter().any(|c| c.starts_with("install ")), "{seen:#?}");
}

#[test]
fn bug4_command_cd_and_builtin_cd_leak_into_the_next_body() {
    let original = "FROM debian:bookworm\nRUN command cd /etc\nRUN touch x\nRUN builtin cd /home\nRUN touch y\n";
    let broken = "FROM debian:bookworm\nRUN command cd /etc && \\\n    touch x && \\\n    builtin cd /home && \\\n    touch y\n";
    let d = differs(original, broken, Mode::Exact);
    assert!(d.mismatch.what.contains("another folder"), "{d:?}");
    let d = differs(original, broken, Mode::Additive);
    assert!(d.mismatch.what.contains("another folder"), "{d:?}");
    let fixed = "FROM debian:bookworm\nRUN ( command cd /etc ) && \\\n    touch x && \\\n    ( builtin cd /home ) && \\\n    touch y\n";
    same(original, fixed, Mode::Exact);
    // cd into a folder a stubbed program was to create.
    let original = "FROM debian\nRUN mkdir -p /src/app && command cd /src/app\nRUN make\n";
    let broken = "FROM debian\nRUN mkdir -p /src/app && command cd /src/app && \\\n    make\n";
    assert!(
        differs(original, broken, Mode::Exact)
            .mismatch
            .what
            .contains("folder")
    );
}

#[test]
fn semicolon_and_or_bodies_keep_their_exit_status() {
    let original = "FROM debian\nRUN touch /a\nRUN curl -f x || echo fallback\nRUN mkdir -p /app\nRUN cd /app; make\n";
    let fixed = "FROM debian\nRUN touch /a && \\\n    ( curl -f x || echo fallback ) && \\\n    mkdir -p /app && \\\n    ( cd /app; make )\n";
    same(original, fixed, Mode::Exact);
    // `a && b || c` runs c when a fails: the build no longer stops at a.
    let broken_or = "FROM debian\nRUN touch /a && \\\n    curl -f x || echo fallback && \\\n    mkdir -p /app && \\\n    ( cd /app; make )\n";
    let d = differs(original, broken_or, Mode::Exact);
    assert!(matches!(d.scenario, Scenario::Fails(_)), "{d:?}");
    // `a && cd x; b` runs b when a fails.
    let broken_semi = "FROM debian\nRUN touch /a && \\\n    ( curl -f x || echo fallback ) && \\\n    mkdir -p /app && \\\n    cd /app; make\n";
    let d = differs(original, broken_semi, Mode::Exact);
    assert!(matches!(d.scenario, Scenario::Fails(_)), "{d:?}");
}

#[test]
fn pipes_follow_the_stage_shell() {
    let original = "FROM debian\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n\
        RUN curl -fsSL https://x | tar -xz -C /opt\nRUN echo done\n";
    let fixed = "FROM debian\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n\
        RUN curl -fsSL https://x | tar -xz -C /opt && \\\n    echo done\n";
    same(original, fixed, Mode::Exact);
    // Without pipefail a failing curl no longer fails the build.
    let broken = "FROM debian\nRUN curl -fsSL https://x | tar -xz -C /opt && \\\n    echo done\n";
    let d = differs(original, broken, Mode::Exact);
    assert_eq!(d.scenario, Scenario::Fails("curl".into()), "{d:?}");
    // The writer of a pipe always records first.
    assert_eq!(
        calls("FROM debian\nRUN curl -fsSL https://x | tar -xz -C /opt | sort\n"),
        ["curl -fsSL https://x @/", "tar -xz -C /opt @/", "sort @/"]
    );
}

#[test]
fn heredocs() {
    let original = "FROM debian\nRUN <<EOF\nset -e\ntouch /a\necho one\nEOF\nRUN echo two\n";
    let fixed = "FROM debian\nRUN set -e; touch /a; echo one; \\\n    echo two\n";
    same(original, fixed, Mode::Exact);
    let broken = "FROM debian\nRUN <<EOF\ntouch /a\necho one\nEOF\nRUN echo two\n";
    let d = differs(original, broken, Mode::Exact);
    assert_eq!(d.scenario, Scenario::Fails("touch".into()), "{d:?}");
    // A heredoc fed to a command: the body is part of the script.
    let original = "FROM debian\nRUN while read -r l; do echo \"got $l\"; done <<EOT\na\nb\nEOT\n";
    let lost_line = "FROM debian\nRUN while read -r l; do echo \"got $l\"; done <<EOT\na\nEOT\n";
    let d = differs(original, lost_line, Mode::Exact);
    assert!(d.mismatch.what.contains("output"), "{d:?}");
}

#[test]
fn crlf_files() {
    let original = "FROM debian\r\nRUN echo one # c\r\nRUN touch /two\r\n";
    let broken = "FROM debian\r\nRUN echo one # c && \\\r\n    touch /two\r\n";
    differs(original, broken, Mode::Exact);
    let fixed = "FROM debian\r\nRUN echo one && \\\r\n    # c\r\n    touch /two\r\n";
    same(original, fixed, Mode::Exact);
}

#[test]
fn backtick_escape_files() {
    let original = "# escape=`\nFROM debian\nRUN echo one # c\nRUN touch /two `\n  /three\n";
    let broken = "# escape=`\nFROM debian\nRUN echo one # c && `\n    touch /two `\n  /three\n";
    differs(original, broken, Mode::Exact);
    let fixed = "# escape=`\nFROM debian\nRUN echo one && `\n    # c\n    touch /two `\n  /three\n";
    same(original, fixed, Mode::Exact);
}

#[test]
fn comment_lines_inside_a_continuation() {
    let original = "FROM debian\nRUN apt-get update \\\n    # refresh\n    && apt-get install -y curl\nRUN touch /x\n";
    let fixed = "FROM debian\nRUN apt-get update \\\n    # refresh\n    && apt-get install -y curl && \\\n    touch /x\n";
    same(original, fixed, Mode::Exact);
    // Joined onto the comment line, the install is dropped with it, and the update gets
    // the next line's words.
    let broken = "FROM debian\nRUN apt-get update \\\n    # refresh && apt-get install -y curl && \\\n    touch /x\n";
    let d = differs(original, broken, Mode::Exact);
    assert!(
        d.mismatch.fixed.contains("apt-get update touch /x"),
        "{d:?}"
    );
}

#[test]
fn additive_accepts_added_flags_and_cleanups_only() {
    let original =
        "FROM debian\nRUN apt-get update && apt-get install curl\nRUN pip install flask\n";
    let fixed = "FROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends curl \\\n    && rm -rf /var/lib/apt/lists/*\nRUN pip install --no-cache-dir flask\n";
    let v = same(original, fixed, Mode::Additive);
    // `rm` is called on one side only: its failure scenario is not compared.
    assert!(v.stats.scenarios_skipped >= 1, "{:?}", v.stats);
    differs(original, fixed, Mode::Exact);
    // A dropped call, a new ENV, reordered calls are not additive.
    let dropped = "FROM debian\nRUN apt-get install -y curl\nRUN pip install flask\n";
    assert!(
        differs(original, dropped, Mode::Additive)
            .mismatch
            .what
            .contains("missing")
    );
    let env = "FROM debian\nENV DEBIAN_FRONTEND=noninteractive\nRUN apt-get update && apt-get install -y curl\nRUN pip install flask\n";
    assert!(
        differs(original, env, Mode::Additive)
            .mismatch
            .what
            .contains("environment")
    );
}

#[test]
fn report_counts_what_changed() {
    let original = "FROM golang:1.22\nWORKDIR /src\nRUN go mod download\nRUN go build -o /app .\nRUN rm -rf /root/.cache\n";
    let fixed = "FROM golang:1.22 AS build\nWORKDIR /src\nRUN go build -o /app .\nRUN go mod download\n\
        FROM gcr.io/distroless/static\nRUN [\"/app\", \"--version\"]\n";
    let v = verdict(original, fixed, Mode::Report);
    let Judgement::Report(r) = &v.judgement else {
        panic!("{v}")
    };
    let n = |c| r.counts.get(&c).copied().unwrap_or(0);
    assert_eq!(n(Change::Reordered), 1, "{r:?}");
    assert_eq!(n(Change::Dropped), 1, "{r:?}");
    assert_eq!(n(Change::StagesAdded), 1, "{r:?}");
    assert_eq!(n(Change::Added), 1, "{r:?}");
    // A different number of stages is a difference in the judging modes.
    differs(original, fixed, Mode::Additive);
}

#[test]
fn programs_named_by_path_are_stubs_too() {
    let seen = calls(
        "FROM php:8\nWORKDIR /var/www\nRUN /usr/bin/apt-get update && /usr/local/bin/docker-php-ext-install gd \\\n && . /etc/os-release && ./bin/setup --x && echo ok\n",
    );
    assert_eq!(
        seen,
        [
            "/usr/bin/apt-get update @/var/www",
            "/usr/local/bin/docker-php-ext-install gd @/var/www",
            "./bin/setup --x @/var/www",
        ]
    );
    // Prefix assignments reach the call's environment and do not stay.
    let stages = oracle()
        .replay_file(
            "FROM debian\nRUN DEBIAN_FRONTEND=noninteractive apt-get install -y x; apt-get clean\n",
        )
        .unwrap();
    let trace = &stages[0].1.as_ref().unwrap().trace;
    let envs: Vec<bool> = trace
        .calls()
        .map(|c| c.env.iter().any(|(k, _)| k == "DEBIAN_FRONTEND"))
        .collect();
    assert_eq!(envs, [true, false]);
    let env_names: Vec<&str> = trace
        .calls()
        .next()
        .unwrap()
        .env
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(env_names, ["DEBIAN_FRONTEND", "HOME", "PATH"]);
}

#[test]
fn exec_form_state_and_output() {
    let stages = oracle()
        .replay_file(
            "FROM debian\nARG V=1\nENV A=$V\nWORKDIR /w\nRUN [\"/bin/echo\", \"$A\"]\n\
             RUN echo \"$A $V\" > /tmp/f; read -r x < /tmp/f; echo \"read $x\"; pwd\n",
        )
        .unwrap();
    let replay = stages[0].1.as_ref().unwrap();
    let Event::Call(call) = &replay.trace.events[0] else {
        panic!("{:?}", replay.trace)
    };
    assert_eq!(call.argv, ["/bin/echo", "$A"]);
    assert_eq!(call.cwd, "/w");
    assert_eq!(
        replay.trace.events[1],
        Event::Output("read 1 1\n/w\n".into())
    );
    assert_eq!(replay.trace.outcome, Outcome::Ok);
}

#[test]
fn endless_loops_are_cut_the_same_on_both_sides() {
    let original = "FROM debian\nRUN touch /a\nRUN until curl -f http://x; do sleep 1; done\n";
    let fixed = "FROM debian\nRUN touch /a && \\\n    until curl -f http://x; do sleep 1; done\n";
    let v = same(original, fixed, Mode::Exact);
    assert!(v.stats.scenarios_run >= 2, "{:?}", v.stats);
    let quick = Oracle::new(Config {
        limits: Limits {
            timeout: Duration::from_millis(1500),
            ..Limits::default()
        },
        ..Config::default()
    })
    .unwrap();
    let stages = quick
        .replay_file("FROM debian\nRUN echo a\nRUN while :; do :; done\n")
        .unwrap();
    let trace = &stages[0].1.as_ref().unwrap().trace;
    assert_eq!(trace.outcome, Outcome::Timeout { step: Some(1) });
}

#[test]
fn odd_input_is_skipped_not_fatal() {
    for (original, why) in [
        ("FROM a\nRUN x\0y\n", "NUL"),
        ("FROM a\nRUN <<EOF\nno end\n", ""),
        ("\u{feff}\u{1}\u{2}binary\u{7f}", ""),
        (
            "FROM mcr.microsoft.com/windows/nanoserver\nRUN dir\nRUN echo x\n",
            "",
        ),
    ] {
        let fixed = format!("{original}RUN more\n");
        let v = verdict(original, &fixed, Mode::Exact);
        assert!(!matches!(v.judgement, Judgement::Failed(_)), "{why}: {v}");
    }
    let huge = format!("FROM debian\nRUN echo {}\n", "x".repeat(2 << 20));
    let v = verdict(&huge, &huge.replace("echo", "echo  "), Mode::Exact);
    assert!(matches!(v.judgement, Judgement::Skipped(_)), "{v}");
    let windows = "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN echo a\nRUN echo b\n";
    let v = verdict(
        windows,
        "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN echo a && echo b\n",
        Mode::Exact,
    );
    assert!(
        matches!(v.judgement, Judgement::Skipped(_)),
        "{v}: {:?}",
        v.stats
    );
}

#[test]
fn background_jobs_finish_inside_their_run() {
    let text = "FROM debian\nRUN some-daemon & echo started\nRUN other\n";
    for _ in 0..3 {
        // A fresh oracle each time: no cached replay.
        let fresh = Oracle::new(Config::default()).unwrap();
        let stages = fresh.replay_file(text).unwrap();
        let trace = &stages[0].1.as_ref().unwrap().trace;
        assert!(!trace.interleaved);
        let steps: Vec<(usize, String)> = trace
            .calls_with_steps()
            .map(|(s, c)| (s, c.argv.join(" ")))
            .collect();
        assert_eq!(steps, [(0, "some-daemon".into()), (1, "other".into())]);
    }
}
