//! Step 1 of loading: a file that is not TOML. The message quotes the token the parser
//! stopped at, and a bare word where a value belongs gets a hint to quote it.

use toml::de::Error;

use super::problem::Problem;

/// The problem for a TOML syntax `error` in `text`.
pub(super) fn syntax_problem(text: &str, error: &Error) -> Problem {
    let span = error.span().unwrap_or(0..0);
    let start = span.start;
    // The text the parser stopped at, when it is a short token worth quoting back.
    let token = text
        .get(span.clone())
        .filter(|t| !t.trim().is_empty() && t.len() <= 40 && !t.contains('\n'));
    let message = match token {
        Some(token) => format!("invalid TOML at `{token}`: {}", error.message()),
        None => format!("invalid TOML: {}", error.message()),
    };
    Problem::new(span, None, message).maybe_help(unquoted_value_hint(text, start))
}

/// `kind = traefik` or `drain = 5s` are syntax errors in TOML: strings need quotes.
/// When the error is in a value made only of word characters, say so.
fn unquoted_value_hint(text: &str, offset: usize) -> Option<String> {
    let line_start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let (key, value) = line.split_once('=')?;
    let value = value.split('#').next().unwrap_or(value);
    let (key, value) = (key.trim(), value.trim());
    let value_start = line_start + line.find('=')? + 1;
    let is_word = |c: char| c.is_alphanumeric() || " _.:/@+-".contains(c);
    let plausible = !key.is_empty()
        && !key.starts_with('[')
        && offset >= value_start
        && value.chars().all(is_word)
        && value.chars().any(char::is_alphabetic);
    plausible.then(|| format!("strings need quotes: `{key} = \"{value}\"`"))
}
