//! HA scenarios on real processes through the harness: failures, cuts and
//! heals of a monitored group, with the write load and the lost-write
//! checker. Each test is bounded in time and its processes die with it.

mod common;

use std::time::{Duration, Instant};

use common::{serial, start, topology, TempDir};
use picket_ha::drill::{self, FailoverOpts, Fault};
use picket_ha::proc::Impl;

fn quiet(_: &str) {}

/// The drill's kill trial end to end: exactly one failover, every sentinel
/// and replica on the new master, no acknowledged write lost (the client
/// writes through the sentinels and the killed master's last writes had
/// reached the replicas), and the killed master back as a replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_master_one_failover_everyone_converges_nothing_acked_lost() {
    let _s = serial();
    let dir = TempDir::new("kill");
    let mut g = start(&topology(dir.path()), Impl::Picket).await;
    let opts = FailoverOpts {
        fault: Fault::Kill,
        trials: 1,
        settle: Duration::from_millis(500),
    };
    let t0 = Instant::now();
    let trials = drill::failover(&mut g, &opts, &mut quiet).await.unwrap();
    let t = &trials[0];
    assert_ne!(t.old_master, t.new_master);
    assert!(t.switch > 1.0 && t.switch < 10.0, "{t:?}");
    assert_eq!(t.lost, 0, "{t:?}");
    assert!(t.acked > 100, "{t:?}");
    let views = g.sentinel_views().await;
    assert!(
        views.iter().all(|v| *v == views[0] && v.is_some()),
        "{views:?}"
    );
    let _ = t0;
}
