//! One module per simulated cloud API: its state, its handlers and its validation rules.

pub mod cce;
pub mod ens;
pub mod modelarts;

/// CCE's timestamp format (`2020-02-02 08:12:40.672772389 +0000 UTC`), not RFC 3339.
pub fn cce_timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.9f +0000 UTC").to_string()
}
