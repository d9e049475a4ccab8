//! The bridge network the tool manages for a service and its router.

use std::collections::HashMap;

use bollard::models::NetworkCreateRequest;

use super::{Engine, is_not_found, labels};
use crate::error::Result;

impl Engine {
    /// Creates the network if it does not exist yet.
    pub async fn ensure_network(&self, name: &str, service: &str) -> Result<()> {
        match self.api().inspect_network(name, None).await {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(self.fail(format_args!("inspect network {name}"), e)),
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(HashMap::from([(
                labels::SERVICE.to_string(),
                service.to_string(),
            )])),
            ..Default::default()
        };
        match self.api().create_network(request).await {
            Ok(_) => Ok(()),
            // Created concurrently by another run: fine.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(self.fail(format_args!("create network {name}"), e)),
        }
    }
}
