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
    // `rm` is called on one side only: it is never made to fail, and the figures say so.
    assert_eq!(v.stats.calls_added_not_failed, 1, "{:?}", v.stats);
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
    // Such stages are flagged, so that a merge there fails the corpus suite; so is a stage
    // with a non-POSIX SHELL (and one built FROM it), but not one the oracle merely cannot
    // expand.
    assert_eq!(v.stats.non_posix_changed.len(), 1, "{:?}", v.stats);
    let pwsh = "FROM debian AS w\nSHELL [\"pwsh\", \"-c\"]\nRUN a\nRUN b\nFROM w\nRUN c\nRUN d\n";
    let v = verdict(
        pwsh,
        &pwsh
            .replace("RUN a\nRUN b", "RUN a; b")
            .replace("RUN c\nRUN d", "RUN c; d"),
        Mode::Exact,
    );
    assert_eq!(v.stats.non_posix_changed.len(), 2, "{:?}", v.stats);
    let unexpandable = "FROM debian\nENV A=${B/x/y}\nRUN a\nRUN b\n";
    let v = verdict(
        unexpandable,
        &unexpandable.replace("RUN a\nRUN b", "RUN a && b"),
        Mode::Exact,
    );
    assert!(matches!(v.judgement, Judgement::Skipped(_)), "{v}");
    assert!(v.stats.non_posix_changed.is_empty(), "{:?}", v.stats);
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

#[test]
fn a_leaked_cd_seen_only_through_a_redirection() {
    // No program runs after the cd: only where the shell writes `out.txt` shows the leak.
    let original = "FROM debian\nRUN cd /opt/app\nRUN echo hi > out.txt\n";
    let broken = "FROM debian\nRUN cd /opt/app && \\\n    echo hi > out.txt\n";
    for mode in [Mode::Exact, Mode::Additive] {
        let d = differs(original, broken, mode);
        assert_eq!(d.scenario, Scenario::Nominal, "{d:?}");
        assert!(
            d.mismatch.what.contains("a file the shell wrote differs"),
            "{d:?}"
        );
        assert!(
            d.mismatch.original.contains("/opt/app/out.txt")
                || d.mismatch.fixed.contains("/opt/app/out.txt"),
            "{d:?}"
        );
    }
    let v = verdict(original, broken, Mode::Report);
    let Judgement::Report(r) = &v.judgement else {
        panic!("{v}")
    };
    let n = |c| r.counts.get(&c).copied().unwrap_or(0);
    assert_eq!(
        (n(Change::FileAdded), n(Change::FileMissing)),
        (1, 1),
        "{r:?}"
    );
    // The same file with what `pwd` printed: same path, other content.
    let original = "FROM debian\nWORKDIR /srv\nRUN cd /opt/app\nRUN pwd > /where\n";
    let broken = "FROM debian\nWORKDIR /srv\nRUN cd /opt/app && \\\n    pwd > /where\n";
    let d = differs(original, broken, Mode::Exact);
    assert!(d.mismatch.what.contains("/where (other content)"), "{d:?}");
    // In a subshell the cd stays in its body: accepted.
    let fixed = "FROM debian\nWORKDIR /srv\nRUN ( cd /opt/app ) && \\\n    pwd > /where\n";
    same(original, fixed, Mode::Exact);
    same(
        "FROM debian\nRUN cd /opt/app\nRUN echo hi > out.txt\n",
        "FROM debian\nRUN ( cd /opt/app ) && \\\n    echo hi > out.txt\n",
        Mode::Exact,
    );
}

#[test]
fn a_leaked_umask() {
    // Seen in the mode of a file the shell writes...
    let original = "FROM debian\nRUN umask 077\nRUN echo key=1 > /etc/app.conf\n";
    let broken = "FROM debian\nRUN umask 077 && \\\n    echo key=1 > /etc/app.conf\n";
    for mode in [Mode::Exact, Mode::Additive] {
        let d = differs(original, broken, mode);
        assert!(d.mismatch.what.contains("another mode"), "{d:?}");
        assert!(d.mismatch.original.contains("0644"), "{d:?}");
        assert!(d.mismatch.fixed.contains("0600"), "{d:?}");
    }
    let fixed = "FROM debian\nRUN ( umask 077 ) && \\\n    echo key=1 > /etc/app.conf\n";
    same(original, fixed, Mode::Exact);
    // ...and in the umask a program runs with (the files it would create).
    let original = "FROM debian\nRUN umask 077\nRUN apt-get install -y curl\n";
    let broken = "FROM debian\nRUN umask 077 && \\\n    apt-get install -y curl\n";
    let d = differs(original, broken, Mode::Exact);
    assert!(d.mismatch.what.contains("another umask"), "{d:?}");
    let d = differs(original, broken, Mode::Additive);
    assert!(d.mismatch.what.contains("another umask"), "{d:?}");
    same(
        original,
        "FROM debian\nRUN ( umask 077 ) && \\\n    apt-get install -y curl\n",
        Mode::Exact,
    );
    // Every RUN starts from BuildKit's 022.
    let stages = oracle()
        .replay_file("FROM debian\nRUN umask 077; echo a > /a\nRUN echo b > /b; true-ish\n")
        .unwrap();
    let trace = &stages[0].1.as_ref().unwrap().trace;
    let modes: Vec<(String, u32)> = trace
        .files
        .iter()
        .map(|f| (f.path.clone(), f.mode))
        .collect();
    assert_eq!(modes, [("/a".into(), 0o600), ("/b".into(), 0o644)]);
    assert_eq!(trace.calls().next().unwrap().umask, "0022");
}

#[test]
fn additive_requires_the_same_files() {
    let original = "FROM debian\nRUN apt-get update\n";
    let extra = "FROM debian\nRUN apt-get update && echo 'x' > /etc/apt/apt.conf.d/99x\n";
    let d = differs(original, extra, Mode::Additive);
    assert!(d.mismatch.what.contains("only the fixed file"), "{d:?}");
    // Under a cache mount of the fixed stage nothing reaches the image: let go.
    let original = "FROM python:3\nRUN echo a > /root/.cache/pip/log; pip install flask\n";
    let fixed = "FROM python:3\nRUN --mount=type=cache,target=/root/.cache/pip echo b > /root/.cache/pip/log; pip install flask\n";
    let v = same(original, fixed, Mode::Additive);
    assert_eq!(v.stats.cache_cleanups_allowed, 1, "{:?}", v.stats);
    differs(original, fixed, Mode::Exact);
}

#[test]
fn one_call_of_a_program_fails_where_the_fix_added_calls() {
    // `npm ci` failing no longer fails the build: `;` lets the cleanup run and succeed.
    let original = "FROM node:20\nWORKDIR /app\nRUN npm ci\n";
    let broken = "FROM node:20\nWORKDIR /app\nRUN npm ci; npm cache clean --force\n";
    let d = differs(original, broken, Mode::Additive);
    assert_eq!(
        d.scenario,
        Scenario::FailsCall {
            program: "npm".into(),
            original: 1,
            fixed: 1
        },
        "{d:?}"
    );
    assert!(d.mismatch.what.contains("ends differently"), "{d:?}");
    let fixed = "FROM node:20\nWORKDIR /app\nRUN npm ci && npm cache clean --force\n";
    let v = same(original, fixed, Mode::Additive);
    assert_eq!(
        (v.stats.scenarios_nth, v.stats.calls_added_not_failed),
        (1, 1),
        "{:?}",
        v.stats
    );
    // The original's call k fails with its counterpart: call 2 of the original is call 3
    // of the fixed file, across RUNs.
    let original = "FROM node:20\nWORKDIR /app\nRUN npm ci\nRUN npm run build\nRUN echo built\n";
    let fixed = "FROM node:20\nWORKDIR /app\nRUN npm ci && npm cache clean --force\nRUN npm run build\nRUN echo built\n";
    let v = same(original, fixed, Mode::Additive);
    assert_eq!(v.stats.scenarios_nth, 2, "{:?}", v.stats);
    let broken = "FROM node:20\nWORKDIR /app\nRUN npm ci && npm cache clean --force\nRUN npm run build || true\nRUN echo built\n";
    let d = differs(original, broken, Mode::Additive);
    assert_eq!(
        d.scenario,
        Scenario::FailsCall {
            program: "npm".into(),
            original: 2,
            fixed: 3
        },
        "{d:?}"
    );
    // The cap on calls made to fail one by one is counted, not hidden.
    let capped = Oracle::new(Config {
        max_nth_calls: 1,
        ..Config::default()
    })
    .unwrap();
    let v = capped.compare("test", original, fixed, Mode::Additive);
    assert_eq!(v.judgement, Judgement::Identical, "{v}");
    assert_eq!(
        (v.stats.scenarios_nth, v.stats.scenarios_capped),
        (1, 1),
        "{:?}",
        v.stats
    );
}

#[test]
fn a_redirection_into_a_missing_folder_writes_a_file_not_a_stub() {
    // The folder comes first; the redirection then writes a plain file with the RUN's
    // umask. A program named by path in a missing folder still gets its stub.
    let stages = oracle()
        .replay_file(
            "FROM debian\nRUN echo x > /opt/conf/app.ini && /opt/tool/bin/run --x && echo done\n",
        )
        .unwrap();
    let replay = stages[0].1.as_ref().unwrap();
    let files: Vec<String> = replay.trace.files.iter().map(ToString::to_string).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].starts_with("/opt/conf/app.ini file 0644, 2 bytes"),
        "{files:?}"
    );
    assert_eq!(
        calls(
            "FROM debian\nRUN echo x > /opt/conf/app.ini && /opt/tool/bin/run --x && echo done\n"
        ),
        ["/opt/tool/bin/run --x @/"]
    );
    assert_eq!(replay.trace.stdout(), "done\n");
}
