//! HA scenarios on real processes through the harness: failures, cuts and
//! heals of a monitored group (a master, 2 replicas, 3 sentinels, quorum 2,
//! down-after 1 s unless a test says otherwise), with the write load and
//! the lost-write checker. Each test is bounded in time and its processes
//! die with it; the tests of this file run one at a time.

mod common;

use std::time::{Duration, Instant};

use common::{serial, start, topology, TempDir};
use picket_common::resp::Frame;
use picket_ha::client::{field, text};
use picket_ha::drill::{self, FailoverOpts, Fault, SplitBrainOpts};
use picket_ha::events::Events;
use picket_ha::group::Group;
use picket_ha::proc::Impl;
use picket_ha::writer::{check, Target, Writer};

fn quiet(_: &str) {}

/// One failover drill trial (`settle_ms` of writing before the fault and
/// after the switch).
async fn one_trial(g: &mut Group, fault: Fault, settle_ms: u64) -> drill::FailoverTrial {
    let opts = FailoverOpts {
        fault,
        trials: 1,
        settle: Duration::from_millis(settle_ms),
    };
    drill::failover(g, &opts, &mut quiet)
        .await
        .unwrap()
        .remove(0)
}

const NAME: &str = "mymaster";

async fn watch(g: &Group) -> Events {
    g.events().await
}

/// Which sentinels published `name` for the master since `t0`.
fn who(ev: &Events, name: &str, prefix: &str, t0: Instant) -> Vec<usize> {
    ev.named(name, t0)
        .into_iter()
        .filter(|e| e.payload.starts_with(prefix))
        .map(|e| e.sentinel)
        .collect()
}

fn one_failover(ev: &Events, g: &Group, t0: Instant) {
    let mut switched = who(ev, "+switch-master", &format!("{NAME} "), t0);
    switched.sort_unstable();
    let live: Vec<usize> = (0..g.sentinels.len()).collect();
    assert_eq!(
        switched,
        live,
        "one +switch-master from each sentinel: {:?}",
        ev.all()
    );
    assert_eq!(
        who(ev, "+failover-end", &format!("master {NAME} "), t0).len(),
        1,
        "{:?}",
        ev.all()
    );
}

async fn reply_text(f: Frame) -> String {
    text(&f).unwrap_or_else(|| format!("{f:?}"))
}

/// The drill's kill trial end to end: exactly one failover (one
/// +switch-master per sentinel, one +failover-end), every sentinel and
/// replica on the new master, no write acknowledged through the sentinels
/// lost, and the killed master back as a replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_master_one_failover_everyone_converges_nothing_acked_lost() {
    let _s = serial();
    let dir = TempDir::new("kill");
    let mut g = start(&topology(dir.path()), Impl::Picket).await;
    let ev = watch(&g).await;
    let t0 = Instant::now();
    let t = one_trial(&mut g, Fault::Kill, 500).await;
    assert_ne!(t.old_master, t.new_master);
    assert!(t.switch > 1.0 && t.switch < 10.0, "{t:?}");
    assert_eq!(t.lost, 0, "{t:?}");
    assert!(t.acked > 100, "{t:?}");
    one_failover(&ev, &g, t0);
    let views = g.sentinel_views().await;
    assert!(
        views.iter().all(|v| *v == views[0] && v.is_some()),
        "{views:?}"
    );
}

/// SIGSTOP past down-after: a failover; SIGCONT: the old master comes back
/// as a replica of the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_master_is_failed_over_and_rejoins_as_replica() {
    let _s = serial();
    let dir = TempDir::new("pause");
    let mut g = start(&topology(dir.path()), Impl::Picket).await;
    let t = one_trial(&mut g, Fault::Pause, 500).await;
    assert!(t.rejoin.is_some(), "{t:?}");
    assert_eq!(t.lost, 0, "{t:?}");
    let info = g.node_info(0).await.unwrap();
    assert!(info.contains("role:slave"), "{info}");
}

/// SENTINEL FAILOVER (no agreement needed) moves the master.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_failover_drill() {
    let _s = serial();
    let dir = TempDir::new("manual");
    let mut g = start(&topology(dir.path()), Impl::Picket).await;
    let ev = watch(&g).await;
    let t0 = Instant::now();
    let t = one_trial(&mut g, Fault::Manual, 500).await;
    assert_ne!(t.old_master, t.new_master);
    assert!(
        t.sdown.is_none() && t.odown.is_none(),
        "a manual failover needs no SDOWN: {t:?}"
    );
    one_failover(&ev, &g, t0);
}

/// One sentinel of three down: the other two still fail over. Then two of
/// three down: the last one sees +sdown but never +odown, and nothing moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sentinel_down_fails_over_two_down_does_not() {
    let _s = serial();
    let dir = TempDir::new("quorum");
    let mut g = start(&topology(dir.path()), Impl::Picket).await;
    let ev = watch(&g).await;
    g.sentinels[2].proc.kill();
    let t0 = Instant::now();
    let mi = g.current_master().await.unwrap();
    g.nodes[mi].proc.kill();
    assert!(
        ev.wait_from(
            2,
            "+switch-master",
            &format!("{NAME} "),
            t0,
            Duration::from_secs(35)
        )
        .await,
        "{:?}",
        ev.all()
    );
    g.restart_node(mi).await.unwrap();
    let ni = g.wait_converged(Duration::from_secs(60)).await.unwrap();
    assert_ne!(ni, mi);

    g.sentinels[1].proc.kill();
    let t1 = Instant::now();
    g.nodes[ni].proc.kill();
    assert!(ev
        .wait(
            "+sdown",
            &format!("master {NAME} "),
            t1,
            Duration::from_secs(10)
        )
        .await
        .is_some());
    tokio::time::sleep(Duration::from_secs(5)).await;
    for name in ["+odown", "+try-failover", "+switch-master"] {
        assert!(
            ev.named(name, t1).is_empty(),
            "{name} with 1 of 3 sentinels: {:?}",
            ev.named(name, t1)
        );
    }
    assert_eq!(g.sentinel_views().await[0], Some(g.nodes[ni].addr()));
}

/// replica-priority 0 is never promoted: the other replica is, and once it
/// is gone too the failover aborts for want of a good replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_zero_replica_is_never_promoted() {
    let _s = serial();
    let dir = TempDir::new("prio");
    let mut t = topology(dir.path());
    t.nodes[1].priority = 0;
    let mut g = start(&t, Impl::Picket).await;
    let ev = watch(&g).await;
    let t0 = Instant::now();
    g.nodes[0].proc.kill();
    let e = ev
        .wait(
            "+switch-master",
            &format!("{NAME} "),
            t0,
            Duration::from_secs(35),
        )
        .await
        .expect("switch");
    assert!(
        e.payload
            .ends_with(&format!(" {} {}", g.nodes[2].ip, g.nodes[2].port)),
        "{}",
        e.payload
    );
    g.wait_converged(Duration::from_secs(30)).await.unwrap();
    let t1 = Instant::now();
    g.nodes[2].proc.kill();
    assert!(
        ev.wait(
            "-failover-abort-no-good-slave",
            &format!("master {NAME} "),
            t1,
            Duration::from_secs(35)
        )
        .await
        .is_some(),
        "{:?}",
        ev.all()
    );
    assert!(ev.named("+switch-master", t1).is_empty());
}

/// A restarted sentinel resumes from its rewritten config: it names the new
/// master at once and knows the replicas and the other sentinels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_sentinel_resumes_from_its_config() {
    let _s = serial();
    let dir = TempDir::new("restart");
    let mut g = start(&topology(dir.path()), Impl::Picket).await;
    one_trial(&mut g, Fault::Kill, 200).await;
    let mi = g.current_master().await.unwrap();
    g.sentinels[0].proc.kill();
    g.restart_sentinel(0).await.unwrap();
    assert_eq!(g.sentinel_views().await[0], Some(g.nodes[mi].addr()));
    let m = g.sentinel_master(0).await.unwrap();
    assert_eq!(field(&m, "num-slaves"), Some("2"), "{m:?}");
    assert_eq!(field(&m, "num-other-sentinels"), Some("2"), "{m:?}");
    g.wait_converged(Duration::from_secs(30)).await.unwrap();
}

/// A sentinel configured later with only `sentinel monitor` finds the
/// replicas and the other sentinels by itself, and they find it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_added_later_discovers_the_group() {
    let _s = serial();
    let dir = TempDir::new("added");
    let mut g = start(&topology(dir.path()), Impl::Picket).await;
    let j = g.add_sentinel().await.unwrap();
    g.wait_converged(Duration::from_secs(30)).await.unwrap();
    let m = g.sentinel_master(j).await.unwrap();
    assert_eq!(field(&m, "num-other-sentinels"), Some("3"), "{m:?}");
    assert_eq!(field(&m, "num-slaves"), Some("2"), "{m:?}");
    for k in 0..j {
        let m = g.sentinel_master(k).await.unwrap();
        assert_eq!(
            field(&m, "num-other-sentinels"),
            Some("3"),
            "sentinel{}: {m:?}",
            k + 1
        );
    }
}

/// SENTINEL RESET forgets a dead replica; SENTINEL SET changes are applied
/// and persisted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_reset_and_set() {
    let _s = serial();
    let dir = TempDir::new("reset");
    let mut g = start(&topology(dir.path()), Impl::Picket).await;
    g.nodes[2].proc.kill();
    for j in 0..3 {
        let n = g
            .sentinel_call(j, &["SENTINEL", "RESET", NAME])
            .await
            .unwrap();
        assert_eq!(n, Frame::Integer(1));
    }
    g.wait_converged(Duration::from_secs(30)).await.unwrap();
    let m = g.sentinel_master(0).await.unwrap();
    assert_eq!(field(&m, "num-slaves"), Some("1"), "{m:?}");

    let ok = g
        .sentinel_call(
            1,
            &[
                "SENTINEL",
                "SET",
                NAME,
                "down-after-milliseconds",
                "1500",
                "quorum",
                "3",
            ],
        )
        .await
        .unwrap();
    assert_eq!(ok, Frame::Simple("OK".into()));
    let m = g.sentinel_master(1).await.unwrap();
    assert_eq!(
        (field(&m, "down-after-milliseconds"), field(&m, "quorum")),
        (Some("1500"), Some("3"))
    );
    let conf = std::fs::read_to_string(g.sentinels[1].dir.join("sentinel.conf")).unwrap();
    assert!(
        conf.contains(&format!("sentinel down-after-milliseconds {NAME} 1500")),
        "{conf}"
    );
    assert!(
        conf.contains(&format!("sentinel monitor {NAME} ")) && conf.contains(" 3\n"),
        "{conf}"
    );
}

/// Split-brain with a client on the old master's side, min-replicas-to-write
/// 1 and min-replicas-max-lag 10: the old master stops acknowledging about
/// 10 s after it lost its replicas (their ACKs stop at the cut; Redis checks
/// once a second), for picket and for Redis alike; every write it
/// acknowledged after the cut is lost, and the checker counts them exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_brain_min_replicas_bounds_the_loss() {
    let _s = serial();
    let dir = TempDir::new("split");
    let mut reports = Vec::new();
    for imp in [Impl::Picket, Impl::Redis] {
        let mut t = topology(&dir.path().join(imp.name()));
        t.dir = dir.path().join(imp.name());
        let mut g = start(&t, imp).await;
        let opts = SplitBrainOpts {
            min_replicas_to_write: 1,
            min_replicas_max_lag: 10,
            cut_for: Duration::from_secs(14),
        };
        let r = drill::split_brain(&mut g, &opts, &mut quiet).await.unwrap();
        eprintln!("{}: {r:?}", imp.name());
        let last = r.last_ack_after_cut.expect("acks after the cut");
        assert!(
            (9.0..13.0).contains(&last),
            "{}: last ack {last:.2} s after the cut",
            imp.name()
        );
        assert!(
            r.refusals.iter().any(|(w, n)| w == "NOREPLICAS" && *n > 0),
            "{r:?}"
        );
        assert!(r.lost <= r.acked_after_cut && r.lost > 0, "{r:?}");
        assert!(
            r.rejoin.is_some(),
            "the old master was not converted: {r:?}"
        );
        reports.push((imp.name().to_string(), r));
    }
    eprintln!("{}", picket_ha::report::split_brain_table(&reports));
}

/// The same cut without min-replicas: the old master acknowledges for the
/// whole cut, and all of it is lost when it rejoins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_brain_without_min_replicas_loses_the_whole_cut() {
    let _s = serial();
    let dir = TempDir::new("split0");
    let mut g = start(&topology(dir.path()), Impl::Picket).await;
    let opts = SplitBrainOpts {
        min_replicas_to_write: 0,
        min_replicas_max_lag: 10,
        cut_for: Duration::from_secs(6),
    };
    let r = drill::split_brain(&mut g, &opts, &mut quiet).await.unwrap();
    eprintln!("{r:?}");
    let last = r.last_ack_after_cut.unwrap();
    assert!(last > 5.0, "acks stopped {last:.2} s into a 6 s cut: {r:?}");
    assert!(r.refusals.is_empty(), "{r:?}");
    // Everything acknowledged after the cut is gone (the writes of the
    // moment of the cut may have reached a replica first).
    assert!(
        r.lost + 50 >= r.acked_after_cut && r.lost <= r.acked_after_cut,
        "{r:?}"
    );
}

/// A sentinel partitioned away alone sees the master down (+sdown) but can
/// never reach ODOWN or fail over; the majority sees nothing wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_sentinel_minority_causes_no_failover() {
    let _s = serial();
    let dir = TempDir::new("minority");
    let mut g = start(&topology(dir.path()), Impl::Picket).await;
    let ev = watch(&g).await;
    let mi = g.current_master().await.unwrap();
    let t0 = Instant::now();
    g.isolate_sentinel(2);
    assert!(ev
        .wait(
            "+sdown",
            &format!("master {NAME} "),
            t0,
            Duration::from_secs(10)
        )
        .await
        .is_some());
    tokio::time::sleep(Duration::from_secs(5)).await;
    for name in [
        "+odown",
        "+try-failover",
        "+switch-master",
        "+elected-leader",
    ] {
        assert!(ev.named(name, t0).is_empty(), "{name}: {:?}", ev.all());
    }
    let sd = ev.named("+sdown", t0);
    assert!(
        sd.iter()
            .filter(|e| e.payload.starts_with("master "))
            .all(|e| e.sentinel == 2),
        "{sd:?}"
    );
    g.heal();
    assert_eq!(g.wait_converged(Duration::from_secs(30)).await.unwrap(), mi);
}

/// Links that drop for less than down-after, again and again, never cause a
/// failover; one cut that outlasts it causes exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_links_cause_no_repeated_failovers() {
    let _s = serial();
    let dir = TempDir::new("flap");
    let mut t = topology(dir.path());
    t.sentinel.down_after = Duration::from_secs(2);
    let mut g = start(&t, Impl::Picket).await;
    let ev = watch(&g).await;
    let mi = g.current_master().await.unwrap();
    let t0 = Instant::now();
    for _ in 0..8 {
        g.isolate_node(mi);
        tokio::time::sleep(Duration::from_millis(800)).await;
        g.heal();
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    for name in ["+odown", "+try-failover", "+switch-master"] {
        assert!(
            ev.named(name, t0).is_empty(),
            "{name} while flapping: {:?}",
            ev.all()
        );
    }
    assert_eq!(g.wait_converged(Duration::from_secs(30)).await.unwrap(), mi);

    let t1 = Instant::now();
    g.isolate_node(mi);
    assert!(
        ev.wait_from(
            3,
            "+switch-master",
            &format!("{NAME} "),
            t1,
            Duration::from_secs(30)
        )
        .await
    );
    // keep flapping the old master's links while it is demoted
    for _ in 0..4 {
        g.heal();
        tokio::time::sleep(Duration::from_millis(700)).await;
        g.isolate_node(mi);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    g.heal();
    g.wait_converged(Duration::from_secs(60)).await.unwrap();
    one_failover(&ev, &g, t1);
}

/// The old master rejoins as a replica and its divergent writes are
/// replaced, never merged: afterwards every node holds exactly the new
/// master's data (equal DEBUG DIGESTs), the keys written only on the old
/// master are gone, and the new master's are everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_master_rejoins_and_its_divergent_writes_are_replaced() {
    let _s = serial();
    let dir = TempDir::new("diverge");
    let mut g = start(&topology(dir.path()), Impl::Picket).await;
    let ev = watch(&g).await;
    let mi = g.current_master().await.unwrap();
    assert_eq!(
        g.node_call(mi, &["SET", "common", "before"]).await.unwrap(),
        Frame::Simple("OK".into())
    );
    let t0 = Instant::now();
    g.isolate_node(mi);
    let sw = ev
        .wait(
            "+switch-master",
            &format!("{NAME} "),
            t0,
            Duration::from_secs(35),
        )
        .await
        .expect("switch");
    let ni = g
        .node_at(
            format!(
                "{}:{}",
                sw.payload.split(' ').nth(3).unwrap(),
                sw.payload.split(' ').nth(4).unwrap()
            )
            .parse()
            .unwrap(),
        )
        .unwrap();
    // each side writes its own history
    for (node, tag) in [(mi, "old"), (ni, "new")] {
        for k in 0..100 {
            let r = g
                .node_call(node, &["SET", &format!("{tag}:{k}"), tag])
                .await
                .unwrap();
            assert_eq!(r, Frame::Simple("OK".into()), "{tag} side");
        }
        g.node_call(node, &["SET", "common", tag]).await.unwrap();
    }
    let w = Writer::start(
        Target::Sentinels {
            addrs: g.sentinel_addrs(),
            name: NAME.into(),
        },
        "after",
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let healed = Instant::now();
    g.heal();
    let conv = ev
        .wait(
            "+convert-to-slave",
            &format!("slave {}:{} ", g.nodes[mi].ip, g.nodes[mi].port),
            healed,
            Duration::from_secs(30),
        )
        .await;
    assert!(conv.is_some(), "{:?}", ev.all());
    assert_eq!(g.wait_converged(Duration::from_secs(60)).await.unwrap(), ni);
    let log = w.stop();
    // let the replicas apply the tail
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut digests = Vec::new();
    for i in 0..g.nodes.len() {
        digests.push(reply_text(g.node_call(i, &["DEBUG", "DIGEST"]).await.unwrap()).await);
        let common = reply_text(g.node_call(i, &["GET", "common"]).await.unwrap()).await;
        assert_eq!(common, "new", "{}", g.nodes[i].name);
        let old = g
            .node_call(i, &["EXISTS", "old:0", "old:99"])
            .await
            .unwrap();
        assert_eq!(
            old,
            Frame::Integer(0),
            "{} kept the old master's writes",
            g.nodes[i].name
        );
        let new = g
            .node_call(i, &["EXISTS", "new:0", "new:99"])
            .await
            .unwrap();
        assert_eq!(new, Frame::Integer(2), "{}", g.nodes[i].name);
    }
    assert!(digests.iter().all(|d| *d == digests[0]), "{digests:?}");
    let loss = check(g.nodes[ni].real_addr(), "after", &log).await.unwrap();
    assert_eq!(loss.lost, 0, "{loss:?}");
}
