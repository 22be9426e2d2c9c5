//! The `nodepool-operator` command.

fn main() {
    println!("nodepool-operator {}", env!("CARGO_PKG_VERSION"));
}
