//! `picket-sentinel`: the Sentinel-compatible monitor (issue 5; not built yet).

fn main() {
    eprintln!("picket-sentinel is not implemented yet (see issue 5)");
    std::process::exit(1);
}
