//! Label names: the record of every release lives on its container, nowhere else.

pub const SERVICE: &str = "deploy-action.service";
pub const ROLE: &str = "deploy-action.role";
pub const RELEASE: &str = "deploy-action.release";
pub const REPLICA: &str = "deploy-action.replica";
pub const VERSION: &str = "deploy-action.version";
pub const IMAGE: &str = "deploy-action.image";
pub const IMAGE_DIGEST: &str = "deploy-action.image-digest";
pub const DEPLOYED_AT: &str = "deploy-action.deployed-at";
pub const DEPLOYED_BY: &str = "deploy-action.deployed-by";
pub const RUN_URL: &str = "deploy-action.run-url";
/// Hash of the router's generated setup; a change means the router container is recreated.
pub const ROUTER_SPEC: &str = "deploy-action.router-spec";

pub const ROLE_RELEASE: &str = "release";
pub const ROLE_ROUTER: &str = "router";
