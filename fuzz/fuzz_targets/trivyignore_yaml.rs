//! The `.trivyignore.yaml` parser (globs and package URLs included): any bytes give
//! entries or an error, never a panic.
#![no_main]

use deploy_action::scan::IgnoreList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = IgnoreList::parse(".trivyignore.yaml", data) {
        for entry in &list.entries {
            let _ = entry.expired(chrono::Utc::now());
            for (_, glob) in &entry.paths {
                let _ = glob.is_match("usr/lib/x");
            }
        }
    }
});
