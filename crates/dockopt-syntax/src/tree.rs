//! `dockopt debug tree`: the CST for humans.

use std::fmt::Write as _;

use crate::{Dockerfile, ItemKind, TokenKind};

pub(crate) fn render(file: &Dockerfile) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Dockerfile {} bytes, {} tokens, escape {:?}{}",
        file.text().len(),
        file.tokens().len(),
        file.escape_char(),
        if file.has_bom() { ", BOM" } else { "" }
    );
    if let Some(bom) = file.tokens().first().filter(|t| t.kind == TokenKind::Bom) {
        let _ = writeln!(out, "  Bom {:?}", bom.range);
    }
    for item in file.items() {
        let at = file.line_col(item.range.start);
        match item.kind {
            ItemKind::Directive(i) => {
                let d = file.directives().nth(i).expect("directive index");
                let _ = writeln!(
                    out,
                    "  Directive {at} {:?} {}={:?}",
                    item.range,
                    d.name(),
                    d.value()
                );
            }
            ItemKind::Comment => {
                let _ = writeln!(out, "  Comment {at} {:?}", item.range);
            }
            ItemKind::Blank => {
                let _ = writeln!(out, "  Blank {at} {:?}", item.range);
            }
            ItemKind::Instruction(i) => {
                let instruction = file.instruction(i).expect("instruction index");
                render_instruction(&mut out, instruction, "    ");
                let _ = writeln!(out, "    tokens");
            }
        }
        for token in &file.tokens()[item.tokens.clone()] {
            let _ = writeln!(
                out,
                "      {:?} {:?} {:?}",
                token.kind,
                token.range,
                token.text(file.text())
            );
        }
    }
    for e in file.errors() {
        let _ = writeln!(
            out,
            "  {:?} {} {}",
            e.severity,
            file.line_col(e.range.start),
            e.message
        );
    }
    out
}

fn render_instruction(out: &mut String, instruction: crate::Instruction<'_>, indent: &str) {
    let file = instruction.file();
    let _ = writeln!(
        out,
        "{}Instruction {} {} {:?}{}",
        &indent[2..],
        instruction.kind().name(),
        file.line_col(instruction.range().start),
        instruction.range(),
        if instruction.is_exec_form() {
            " exec-form"
        } else {
            ""
        }
    );
    for flag in instruction.flags() {
        let _ = writeln!(out, "{indent}Flag {:?} {:?}", flag.range, flag.text);
    }
    if let Some(from) = instruction.from() {
        let _ = writeln!(
            out,
            "{indent}Image {:?} {:?}",
            from.image.range, from.image.value
        );
        if let Some(name) = from.stage_name {
            let _ = writeln!(out, "{indent}StageName {:?} {:?}", name.range, name.value);
        }
    }
    for kv in instruction.key_values() {
        let _ = writeln!(
            out,
            "{indent}KeyValue {:?} {:?} = {:?}{}",
            kv.key.range.cover(kv.value.range),
            kv.key.value,
            kv.value.value,
            if kv.legacy { " (legacy form)" } else { "" }
        );
    }
    if let Some(kind) = instruction.healthcheck_kind() {
        let _ = writeln!(
            out,
            "{indent}HealthcheckType {:?} {:?}",
            kind.range, kind.value
        );
    }
    if instruction.from().is_none() {
        let label = if instruction.is_exec_form() {
            "JsonString"
        } else {
            "Arg"
        };
        for word in instruction.words() {
            let _ = writeln!(out, "{indent}{label} {:?} {:?}", word.range, word.value);
        }
    }
    if let Some(child) = instruction.onbuild_child() {
        render_instruction(out, child, &format!("{indent}  "));
    }
    for h in instruction.heredocs() {
        let _ = writeln!(
            out,
            "{indent}Heredoc {:?} marker {:?} body {:?}{}{}",
            h.name(),
            h.marker_range(),
            h.body_range(),
            if h.chomp() { " chomp" } else { "" },
            if h.expand() { "" } else { " no-expand" }
        );
    }
    for v in instruction.var_refs() {
        let _ = writeln!(out, "{indent}VarRef {:?} {:?}", v.range, v.name);
    }
}
