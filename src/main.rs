//! The `edgeplane` command line.
fn main() {
    println!("edgeplane");
}
