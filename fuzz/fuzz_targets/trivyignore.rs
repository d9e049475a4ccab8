//! The `.trivyignore` parser: any bytes give entries or an error, never a panic; every
//! entry can be checked for expiry.
#![no_main]

use deploy_action::scan::IgnoreList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = IgnoreList::parse(".trivyignore", data) {
        for entry in &list.entries {
            let _ = entry.expired(chrono::Utc::now());
        }
    }
});
