//! `${NAME}` placeholders in a check's URL, headers and body: `${BASE_URL}` is the deploy's
//! URL, any other name an environment variable. `$${` writes a literal `${`.

use std::fmt;

/// The variable that holds the deploy's URL rather than an environment value.
pub const BASE_URL: &str = "BASE_URL";

/// A text with its placeholders filled in, and the environment values that went into it
/// (secrets until proven otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub text: String,
    pub from_env: Vec<String>,
}

/// Why a text could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    Unclosed,
    BadName(String),
    Unset(String),
    NoBaseUrl,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Unclosed => f.write_str("`${` is not closed by `}`"),
            TemplateError::BadName(name) => write!(
                f,
                "`${{{name}}}` is not a variable name (letters, digits and `_`, not starting with a digit)"
            ),
            TemplateError::Unset(name) => {
                write!(
                    f,
                    "`${{{name}}}`: the environment variable {name} is not set"
                )
            }
            TemplateError::NoBaseUrl => f.write_str(
                "`${BASE_URL}` has no value: pass `--base-url`, or run with a deploy.toml whose \
                 router gives the deploy's URL",
            ),
        }
    }
}

/// One piece of a template.
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

fn pieces(text: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        let after = &rest[i + 1..];
        if let Some(literal) = after.strip_prefix("${") {
            // `$${` is a literal `${`.
            out.push(Piece::Text(&rest[..i]));
            out.push(Piece::Text("${"));
            rest = literal;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or(TemplateError::Unclosed)?;
            let name = &body[..end];
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(TemplateError::BadName(name.to_string()));
            }
            out.push(Piece::Text(&rest[..i]));
            out.push(Piece::Var(name));
            rest = &body[end + 1..];
        } else {
            out.push(Piece::Text(&rest[..=i]));
            rest = after;
        }
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// The names of the placeholders in `text`, or why it is not a template.
pub fn placeholders(text: &str) -> Result<Vec<&str>, TemplateError> {
    Ok(pieces(text)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(name) => Some(name),
            Piece::Text(_) => None,
        })
        .collect())
}

/// Fills in `text`: `${BASE_URL}` from `base_url`, other names from `env`.
pub fn expand(
    text: &str,
    base_url: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, TemplateError> {
    let mut expanded = Expanded {
        text: String::with_capacity(text.len()),
        from_env: Vec::new(),
    };
    for piece in pieces(text)? {
        match piece {
            Piece::Text(t) => expanded.text.push_str(t),
            Piece::Var(BASE_URL) => {
                let base = base_url.ok_or(TemplateError::NoBaseUrl)?;
                expanded.text.push_str(base.trim_end_matches('/'));
            }
            Piece::Var(name) => {
                let value = env(name).ok_or_else(|| TemplateError::Unset(name.to_string()))?;
                expanded.text.push_str(&value);
                expanded.from_env.push(value);
            }
        }
    }
    Ok(expanded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("t0k3n".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn placeholders_expand_from_the_base_url_and_the_environment() {
        let e = expand("${BASE_URL}/a?t=${TOKEN}", Some("http://h:1/"), &env).unwrap();
        assert_eq!(e.text, "http://h:1/a?t=t0k3n");
        assert_eq!(e.from_env, ["t0k3n"]);
        assert_eq!(
            expand("cost: $5, $${HOME}", None, &env).unwrap().text,
            "cost: $5, ${HOME}"
        );
        assert_eq!(expand("${EMPTY}x", None, &env).unwrap().text, "x");
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        assert_eq!(
            expand("${NOPE}", None, &env),
            Err(TemplateError::Unset("NOPE".into()))
        );
        assert_eq!(
            expand("${BASE_URL}", None, &env),
            Err(TemplateError::NoBaseUrl)
        );
        assert_eq!(placeholders("${A"), Err(TemplateError::Unclosed));
        assert_eq!(
            placeholders("${1A}"),
            Err(TemplateError::BadName("1A".into()))
        );
        assert_eq!(placeholders("${A}-${B_2}").unwrap(), ["A", "B_2"]);
    }
}
