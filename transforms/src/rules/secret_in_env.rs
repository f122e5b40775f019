use dockopt_fix::Diagnostic;
use dockopt_syntax::InstructionKind;

use crate::knowledge::Secrets;
use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports ENV and ARG names that look like passwords, tokens or keys and are given a
    /// literal value.
    ///
    /// ## Why is this bad?
    /// ENV values are stored in the image config, readable by anyone who can pull the image
    /// (`docker inspect`). ARG values end up in the image history. A secret there is leaked.
    /// Pass it at build time with a secret mount instead, and at run time through the
    /// environment or a mounted file.
    ///
    /// ## Example
    /// ```dockerfile
    /// ENV DB_PASSWORD=hunter2
    /// RUN ./setup.sh
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// RUN --mount=type=secret,id=db_password DB_PASSWORD="$(cat /run/secrets/db_password)" ./setup.sh
    /// ```
    ///
    /// ## Fix safety
    /// No fix: moving a secret changes how the image is built and run.
    ///
    /// ## References
    /// hadolint DL3000-series has none; BuildKit check SecretsUsedInArgOrEnv.
    pub struct SecretInEnv {
        name: "secret-in-env",
        default_enabled: true,
        fix: FixAvailability::None,
    }
}

fn looks_secret(name: &str, secrets: &Secrets) -> bool {
    let lower = name.to_ascii_lowercase();
    if secrets
        .harmless_suffixes
        .iter()
        .any(|s| lower.ends_with(s.as_str()))
    {
        return false;
    }
    secrets.name_exact.contains(&lower)
        || secrets
            .name_suffixes
            .iter()
            .any(|s| lower.ends_with(s.as_str()))
        || lower
            .split(['_', '-', '.'])
            .any(|word| secrets.name_words.iter().any(|w| w == word))
}

impl Rule for SecretInEnv {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let secrets = &ctx.knowledge.secrets;
        let escape = ctx.file.escape_char();
        let mut out = Vec::new();
        for instruction in ctx.file.instructions() {
            let pairs: Vec<(&str, String, dockopt_syntax::TextRange)> = match instruction.kind() {
                InstructionKind::Env => instruction
                    .key_values()
                    .into_iter()
                    .map(|p| {
                        (
                            p.key.value,
                            p.unquoted_value(escape),
                            p.key.range.cover(p.value.range),
                        )
                    })
                    .collect(),
                InstructionKind::Arg => instruction
                    .words()
                    .into_iter()
                    .filter_map(|w| {
                        let (name, value) = w.value.split_once('=')?;
                        Some((name, value.trim_matches(['"', '\'']).to_string(), w.range))
                    })
                    .collect(),
                _ => continue,
            };
            for (name, value, range) in pairs {
                // An empty value or one that only refers to a variable holds no secret itself.
                let literal = !value.is_empty() && !value.starts_with('$');
                if literal && looks_secret(name, secrets) {
                    let kind = instruction.kind().name();
                    out.push(Diagnostic::new(
                        Self::META.name,
                        range,
                        format!("{kind} `{name}` holds what looks like a secret; it stays readable in the image. Use `RUN --mount=type=secret` instead"),
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::SecretInEnv;
    use crate::rules::test_support::check;

    #[test]
    fn literal_secrets_are_reported() {
        let text = "FROM a\nENV DB_PASSWORD=hunter2 GITHUB_TOKEN=ghp_x\nARG AWS_SECRET_ACCESS_KEY=abc\nENV API_KEY x\n";
        assert_eq!(check(&SecretInEnv, text).len(), 4);
    }

    #[test]
    fn references_files_and_harmless_names_are_not() {
        let text = "FROM a\nARG NPM_TOKEN\nENV PASSWORD_FILE=/run/secrets/pw TOKEN_URL=https://x DB_PASSWORD=$DB_PASSWORD KEYBOARD=us PATH=/bin\n";
        assert!(check(&SecretInEnv, text).is_empty());
    }
}
