use dockopt_fix::Diagnostic;
use dockopt_syntax::InstructionKind;

use crate::knowledge::Secrets;
use crate::{CheckContext, FixAvailability, OptionKind, OptionMeta, Rule, RuleMeta, declare_rule};

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
    /// ## Options
    /// - `extra-names`: more name words that mean "secret" (`["pin", "salt"]`).
    /// - `allow`: names never reported (`["PUBLIC_API_KEY"]`).
    ///
    /// ## References
    /// hadolint has no such rule; BuildKit check SecretsUsedInArgOrEnv.
    pub struct SecretInEnv {
        name: "secret-in-env",
        default_enabled: true,
        fix: FixAvailability::None,
        options: &[
            OptionMeta { name: "extra-names", kind: OptionKind::Strings, doc: "more name words that mean secret" },
            OptionMeta { name: "allow", kind: OptionKind::Strings, doc: "names never reported" },
        ],
    }
}

fn looks_secret(name: &str, secrets: &Secrets, extra_words: &[String]) -> bool {
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
        || lower.split(['_', '-', '.']).any(|word| {
            secrets
                .name_words
                .iter()
                .chain(extra_words)
                .any(|w| w.eq_ignore_ascii_case(word))
        })
}

impl Rule for SecretInEnv {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let secrets = &ctx.knowledge.secrets;
        let extra_words = ctx.options.strings(Self::META.name, "extra-names");
        let allowed = ctx.options.strings(Self::META.name, "allow");
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
                let allowed = allowed.iter().any(|a| a.eq_ignore_ascii_case(name));
                if literal && !allowed && looks_secret(name, secrets, &extra_words) {
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
    fn options_extend_and_allow_names() {
        use crate::{RuleOptions, Selection, check_file};
        let table: toml::Table =
            toml::from_str("extra-names = [\"pin\"]\nallow = [\"PUBLIC_API_KEY\"]").unwrap();
        let options = RuleOptions::new([("secret-in-env".to_string(), table)].into()).unwrap();
        let selection = Selection::only(&["secret-in-env"]).with_options(options);
        let file = dockopt_syntax::parse(
            "FROM a\nENV CARD_PIN=1234 PUBLIC_API_KEY=pk_1 PRIVATE_API_KEY=sk_1\n",
        );
        let names: Vec<String> = check_file(&file, &selection)
            .iter()
            .map(|d| d.message.split('`').nth(1).unwrap().to_string())
            .collect();
        assert_eq!(names, ["CARD_PIN", "PRIVATE_API_KEY"]);
        let bad: toml::Table = toml::from_str("extra-names = \"pin\"").unwrap();
        let err = RuleOptions::new([("secret-in-env".to_string(), bad)].into()).unwrap_err();
        assert!(
            err.contains("`extra-names` must be a list of strings"),
            "{err}"
        );
        let unknown: toml::Table = toml::from_str("extra = []").unwrap();
        assert!(
            RuleOptions::new([("secret-in-env".to_string(), unknown)].into())
                .unwrap_err()
                .contains("unknown option `extra`")
        );
    }

    #[test]
    fn references_files_and_harmless_names_are_not() {
        let text = "FROM a\nARG NPM_TOKEN\nENV PASSWORD_FILE=/run/secrets/pw TOKEN_URL=https://x DB_PASSWORD=$DB_PASSWORD KEYBOARD=us PATH=/bin\n";
        assert!(check(&SecretInEnv, text).is_empty());
    }
}
