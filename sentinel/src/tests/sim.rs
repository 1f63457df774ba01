//! Whole groups in the deterministic simulation: several sentinels, a
//! master and replicas exchanging the real commands.

use super::kit::*;

fn count(sim: &Sim, k: usize, prefix: &str) -> usize {
    sim.events(k)
        .iter()
        .filter(|e| e.starts_with(prefix))
        .count()
}

#[test]
fn sentinels_discover_each_other_through_hellos() {
    let mut sim = Sim::new(3, 2, &[6380], 1);
    sim.run(5000);
    for k in 0..3 {
        assert_eq!(
            sim.sentinels[k].masters[MASTER].sentinels.len(),
            2,
            "sentinel {k}"
        );
        assert_eq!(sim.sentinels[k].masters[MASTER].replicas.len(), 1);
    }
}

#[test]
fn three_sentinels_fail_over_once_and_all_agree() {
    for seed in 0..5 {
        let mut sim = Sim::new(3, 2, &[6380, 6381], seed * 10);
        sim.nodes.get_mut(&raddr(6380)).unwrap().offset = 2000;
        sim.run(5000);
        sim.nodes.get_mut(&master_addr()).unwrap().up = false;
        sim.run(40_000);
        let leaders: Vec<usize> = (0..3)
            .filter(|k| count(&sim, *k, "+elected-leader") > 0)
            .collect();
        assert_eq!(
            leaders.len(),
            1,
            "seed {seed}: one leader per epoch, {:?}",
            sim.events(0)
        );
        for k in 0..3 {
            assert_eq!(
                sim.master_addr_seen_by(k),
                raddr(6380),
                "seed {seed} sentinel {k}"
            );
            assert_eq!(count(&sim, k, "+switch-master"), 1);
        }
        // The data nodes follow: 6380 is master, 6381 replicates from it.
        assert_eq!(sim.nodes[&raddr(6380)].master, None);
        assert_eq!(sim.nodes[&raddr(6381)].master, Some(raddr(6380)));
        // The old master returns and is turned into a replica.
        sim.nodes.get_mut(&master_addr()).unwrap().up = true;
        sim.run(30_000);
        assert_eq!(
            sim.nodes[&master_addr()].master,
            Some(raddr(6380)),
            "seed {seed}"
        );
    }
}

#[test]
fn an_isolated_sentinel_cannot_fail_over_alone() {
    let mut sim = Sim::new(3, 2, &[6380], 7);
    sim.run(5000);
    // Sentinel 0 loses the master and both peers; the others still see it.
    sim.cut.insert((0, master_addr()));
    sim.cut.insert((0, sim.sentinel_addrs[1].clone()));
    sim.cut.insert((0, sim.sentinel_addrs[2].clone()));
    sim.run(60_000);
    assert_eq!(count(&sim, 0, "+sdown master"), 1);
    assert_eq!(count(&sim, 0, "+odown"), 0);
    for k in 0..3 {
        assert_eq!(count(&sim, k, "+try-failover"), 0);
        assert_eq!(sim.master_addr_seen_by(k), master_addr());
    }
}

#[test]
fn a_minority_partition_cannot_elect_but_the_majority_can() {
    // Five sentinels, quorum 2: two of them see the master down but
    // cannot reach the other three, so they never get 3 votes.
    let mut sim = Sim::new(5, 2, &[6380], 3);
    sim.run(6000);
    for a in 0..2 {
        sim.cut.insert((a, master_addr()));
        for b in 2..5 {
            let ab = sim.sentinel_addrs[b].clone();
            sim.cut.insert((a, ab));
        }
    }
    sim.run(60_000);
    assert!(count(&sim, 0, "+odown") + count(&sim, 1, "+odown") > 0);
    for k in 0..5 {
        assert_eq!(count(&sim, k, "+elected-leader"), 0, "sentinel {k}");
    }
    assert_eq!(sim.nodes[&raddr(6380)].master, Some(master_addr()));
}
