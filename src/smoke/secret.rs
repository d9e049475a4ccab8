//! What a check must never print: the values of secret headers (`Authorization`, `Cookie`,
//! names that say token, secret, password or key) and every value that came from the
//! environment. Reports only ever see text that went through [`Secrets::mask`].

/// Shown in place of a secret.
pub const MASK: &str = "***";

/// Header names whose values are secret whatever their source.
fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || [
        "token", "secret", "password", "api-key", "apikey", "session",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// The secret values of one check.
#[derive(Debug, Clone, Default)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// Keeps `value` secret (blank values hide nothing and are ignored).
    pub fn add(&mut self, value: &str) {
        let value = value.trim();
        if !value.is_empty() && !self.0.iter().any(|v| v == value) {
            self.0.push(value.to_string());
            // Longest first, so a secret that contains another is masked whole.
            self.0.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    /// Adds a header's value when its name marks it secret.
    pub fn add_header(&mut self, name: &str, value: &str) {
        if is_secret_header(name) {
            self.add(value);
            // `Bearer abc`: the credential alone may be echoed without its scheme.
            if let Some((_, credential)) = value.trim().split_once(' ') {
                self.add(credential);
            }
        }
    }

    /// `text` with every secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.0 {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), MASK);
            }
        }
        text
    }

    /// Each secret, for `::add-mask::`.
    pub fn values(&self) -> &[String] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_headers_and_environment_values_are_masked() {
        let mut s = Secrets::default();
        s.add_header("Authorization", "Bearer abc123");
        s.add_header("Accept", "text/html");
        s.add_header("X-Api-Key", "k-1");
        s.add("from-env");
        let masked = s.mask("Bearer abc123 / abc123 / text/html / k-1 / from-env");
        assert_eq!(masked, "*** / *** / text/html / *** / ***");
        s.add("  ");
        assert_eq!(s.values().len(), 4);
    }
}
