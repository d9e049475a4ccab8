//! Image names as Docker reads them: `[registry[:port]/]path`, without a tag or digest
//! (tags come from the version and the commit).

/// Docker Hub, the registry of a name without one.
pub const DOCKER_HUB: &str = "docker.io";

/// An image repository: where it is pushed and what it is called there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageName {
    /// As written (`registry.example.com:5000`, `localhost:5000`); `None` means Docker Hub.
    registry: Option<String>,
    /// The path as written (`team/shop`, `shop`).
    path: String,
}

impl ImageName {
    pub fn parse(name: &str) -> Result<Self, String> {
        if name.contains('@') {
            return Err(format!(
                "image `{name}` has a digest; give the repository only (`registry/team/app`)"
            ));
        }
        let last = name.rsplit('/').next().unwrap_or(name);
        if last.contains(':') {
            return Err(format!(
                "image `{name}` has a tag; give the repository only: tags come from --version \
                 and the commit"
            ));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (Some(first.to_string()), rest.to_string())
            }
            _ => (None, name.to_string()),
        };
        if path.is_empty() || !path.split('/').all(is_path_component) {
            return Err(format!(
                "image `{name}` is not a valid repository name: each part is lowercase letters \
                 and digits, separated by `.`, `_`, `__` or dashes"
            ));
        }
        if let Some(r) = &registry
            && (r.is_empty() || r.contains(char::is_whitespace))
        {
            return Err(format!("image `{name}` has an invalid registry `{r}`"));
        }
        Ok(Self { registry, path })
    }

    /// The registry, `docker.io` for Docker Hub.
    pub fn registry(&self) -> &str {
        self.registry.as_deref().unwrap_or(DOCKER_HUB)
    }

    /// The host the registry API answers at (Docker Hub's differs from its name).
    pub fn api_host(&self) -> &str {
        match self.registry() {
            DOCKER_HUB => "registry-1.docker.io",
            other => other,
        }
    }

    /// The repository's path inside its registry (`library/redis` for Hub's `redis`).
    pub fn remote_path(&self) -> String {
        if self.registry.is_none() && !self.path.contains('/') {
            format!("library/{}", self.path)
        } else {
            self.path.clone()
        }
    }

    /// The repository as the engine names it: as written.
    pub fn repository(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// `repository:tag`.
    pub fn tagged(&self, tag: &str) -> String {
        format!("{}:{tag}", self.repository())
    }

    /// The last part of the path: the image's title.
    pub fn title(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// True for a registry on this machine (`localhost`, `127.0.0.0/8`, `::1`): Docker talks
    /// plain HTTP to those when they do not speak TLS.
    pub fn is_loopback_registry(&self) -> bool {
        let Some(r) = &self.registry else {
            return false;
        };
        let host = match r.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => r.rsplit_once(':').map_or(r.as_str(), |(h, _)| h),
        };
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl std::fmt::Display for ImageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.repository())
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(part: &str) -> bool {
    let bytes = part.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &part[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_part_with_a_dot_colon_or_localhost_is_the_registry() {
        let n = ImageName::parse("127.0.0.1:5000/team/shop").unwrap();
        assert_eq!(n.registry(), "127.0.0.1:5000");
        assert_eq!(n.remote_path(), "team/shop");
        assert_eq!(n.tagged("1.2"), "127.0.0.1:5000/team/shop:1.2");
        assert!(n.is_loopback_registry());
        assert_eq!(n.title(), "shop");
        let n = ImageName::parse("localhost/shop").unwrap();
        assert_eq!(n.registry(), "localhost");
        let n = ImageName::parse("team/shop").unwrap();
        assert_eq!(n.registry(), DOCKER_HUB);
        assert_eq!(n.api_host(), "registry-1.docker.io");
        assert_eq!(n.remote_path(), "team/shop");
        assert_eq!(
            ImageName::parse("redis").unwrap().remote_path(),
            "library/redis"
        );
    }

    #[test]
    fn a_tag_digest_or_bad_name_is_refused() {
        assert!(
            ImageName::parse("shop:1.0")
                .unwrap_err()
                .contains("has a tag")
        );
        assert!(
            ImageName::parse("shop@sha256:00")
                .unwrap_err()
                .contains("digest")
        );
        assert!(ImageName::parse("Shop").is_err());
        assert!(ImageName::parse("team//shop").is_err());
        assert!(ImageName::parse("shop-").is_err());
        assert!(ImageName::parse("a__b.c--d").is_ok());
        assert!(ImageName::parse("a___b").is_err());
    }
}
