//! `picket`: the operator's HA drill tool (issue 6; not built yet).

fn main() {
    eprintln!("picket is not implemented yet (see issue 6)");
    std::process::exit(1);
}
