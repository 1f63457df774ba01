//! Replica selection, the failover state machine, manual failover, reset,
//! and configuration enforcement after a failover.

use super::kit::*;
use crate::failover::select_slave;
use crate::instance::{Addr, FailoverState};
use crate::io::{events, Action, Request};
use crate::state::CommandError;

/// A replica for `group`: (port, run id letter, offset, priority).
type Spec = (u16, char, u64, i64);

/// One sentinel (quorum 1, no peers), master alive with replicas alive:
/// (port, run id letter, offset, priority).
fn group(replicas: &[(u16, char, u64, i64)]) -> Fx {
    let mut fx = Fx::new(1);
    let ports: Vec<u16> = replicas.iter().map(|r| r.0).collect();
    fx.add_replicas(&ports);
    fx.tick(100);
    for (p, c, off, prio) in replicas {
        fx.alive(&r(*p), replica_info(*c, &master_addr(), true, *off, *prio));
    }
    fx.alive(&m(), master_info('m', &ports));
    fx.run(1000);
    fx
}

/// Freezes the master and runs until the failover reaches `state`.
/// `FailoverState::None` means "until the failover is over".
fn fail_until(fx: &mut Fx, state: FailoverState) -> Vec<Action> {
    fx.freeze(&m());
    let mut all = Vec::new();
    let mut started = false;
    for _ in 0..2000 {
        all.extend(fx.tick(100));
        started |= fx.master().failover_state != FailoverState::None;
        if started && fx.master().failover_state == state {
            return all;
        }
    }
    panic!("never reached {state:?}: {:?}", events(&all));
}

/// Ticks once with replicas `ports` answering PING/INFO but ignoring
/// SLAVEOF (still replicating from the old master).
fn tick_stuck(fx: &mut Fx, ports: &[u16]) -> Vec<Action> {
    for (k, p) in ports.iter().enumerate() {
        let run = char::from(b'o' + k as u8);
        fx.alive
            .insert(r(*p), replica_info(run, &master_addr(), true, 1, 100));
    }
    fx.tick(100)
}

fn selected(fx: &Fx) -> Option<String> {
    select_slave(fx.now, fx.master(), &Default::default())
}

#[test]
fn priority_zero_is_never_selected() {
    let fx = group(&[(6380, 'n', 500, 0), (6381, 'o', 10, 100)]);
    assert_eq!(selected(&fx).as_deref(), Some("10.0.0.3:6381"));
    let fx = group(&[(6380, 'n', 500, 0)]);
    assert_eq!(selected(&fx), None);
}

#[test]
fn replica_ranking_priority_then_offset_then_runid() {
    // (replicas, expected winner port)
    let table: &[(&[Spec], u16)] = &[
        (&[(6380, 'n', 100, 10), (6381, 'o', 900, 20)], 6380),
        (&[(6380, 'n', 100, 10), (6381, 'o', 900, 10)], 6381),
        (&[(6380, 'p', 100, 10), (6381, 'o', 100, 10)], 6381),
        (&[(6380, 'o', 100, 10), (6381, 'p', 100, 10)], 6380),
    ];
    for (replicas, want) in table {
        let fx = group(replicas);
        assert_eq!(selected(&fx), Some(r_name(*want)), "{replicas:?}");
    }
}

fn r_name(port: u16) -> String {
    raddr(port).name(false)
}

#[test]
fn runid_comparison_is_case_insensitive_and_a_missing_runid_sorts_last() {
    let mut fx = group(&[(6380, 'b', 100, 10), (6381, 'c', 100, 10)]);
    fx.master_mut()
        .replicas
        .get_mut(&r_name(6380))
        .unwrap()
        .runid = Some("Z".repeat(40));
    fx.master_mut()
        .replicas
        .get_mut(&r_name(6381))
        .unwrap()
        .runid = Some("y".repeat(40));
    assert_eq!(selected(&fx), Some(r_name(6381)));
    fx.master_mut()
        .replicas
        .get_mut(&r_name(6381))
        .unwrap()
        .runid = None;
    assert_eq!(selected(&fx), Some(r_name(6380)));
}

#[test]
fn unhealthy_replicas_are_excluded() {
    type Break = fn(&mut Fx);
    let cases: &[(&str, Break)] = &[
        ("sdown", |fx| {
            fx.master_mut()
                .replicas
                .get_mut(&r_name(6380))
                .unwrap()
                .flags
                .s_down = true;
        }),
        ("disconnected", |fx| {
            fx.master_mut()
                .replicas
                .get_mut(&r_name(6380))
                .unwrap()
                .link
                .get()
                .cc = false;
        }),
        ("no valid ping reply for over 5 s", |fx| {
            let now = fx.now;
            fx.master_mut()
                .replicas
                .get_mut(&r_name(6380))
                .unwrap()
                .link
                .get()
                .last_avail_time = now - 5001;
        }),
        ("INFO older than 30 s (master not SDOWN)", |fx| {
            let now = fx.now;
            fx.master_mut()
                .replicas
                .get_mut(&r_name(6380))
                .unwrap()
                .info_refresh = now - 30_001;
        }),
        ("INFO older than 5 s while the master is SDOWN", |fx| {
            let now = fx.now;
            fx.master_mut().inst.flags.s_down = true;
            fx.master_mut().inst.s_down_since_time = now;
            fx.master_mut()
                .replicas
                .get_mut(&r_name(6380))
                .unwrap()
                .info_refresh = now - 5001;
        }),
        ("master link down longer than 10 × down-after", |fx| {
            fx.master_mut()
                .replicas
                .get_mut(&r_name(6380))
                .unwrap()
                .master_link_down_time = 10 * DOWN_AFTER + 1;
        }),
    ];
    for (what, break_it) in cases {
        let mut fx = group(&[(6380, 'n', 900, 100), (6381, 'o', 100, 100)]);
        assert_eq!(selected(&fx), Some(r_name(6380)));
        break_it(&mut fx);
        assert_eq!(selected(&fx), Some(r_name(6381)), "{what}");
    }
}

#[test]
fn link_down_time_allowance_grows_with_the_master_sdown_time() {
    let mut fx = group(&[(6380, 'n', 900, 100)]);
    let now = fx.now;
    fx.master_mut().inst.flags.s_down = true;
    fx.master_mut().inst.s_down_since_time = now - 7000;
    fx.master_mut()
        .replicas
        .get_mut(&r_name(6380))
        .unwrap()
        .master_link_down_time = 10 * DOWN_AFTER + 7000;
    assert_eq!(selected(&fx), Some(r_name(6380)));
    fx.master_mut()
        .replicas
        .get_mut(&r_name(6380))
        .unwrap()
        .master_link_down_time = 10 * DOWN_AFTER + 7001;
    assert_eq!(selected(&fx), None);
}

#[test]
fn replica_announced_no_does_not_exclude() {
    let mut fx = group(&[(6380, 'n', 900, 100)]);
    fx.master_mut()
        .replicas
        .get_mut(&r_name(6380))
        .unwrap()
        .replica_announced = false;
    assert_eq!(selected(&fx), Some(r_name(6380)));
}

#[test]
fn a_whole_failover_emits_redis_events_in_order() {
    let mut fx = group(&[(6380, 'n', 900, 100), (6381, 'o', 100, 100)]);
    let a = fail_until(&mut fx, FailoverState::None);
    let ev: Vec<String> = events(&a)
        .into_iter()
        .filter(|e| !e.starts_with("+sdown slave 10.0.0.1:6370"))
        .collect();
    let s2 = "slave 10.0.0.2:6380 10.0.0.2 6380 @ mymaster 10.0.0.1 6370";
    let s3 = "slave 10.0.0.3:6381 10.0.0.3 6381 @ mymaster 10.0.0.1 6370";
    let mm = "master mymaster 10.0.0.1 6370";
    let want: Vec<String> = vec![
        format!("+sdown {mm}"),
        format!("+odown {mm} #quorum 1/1"),
        "+new-epoch 1".into(),
        format!("+try-failover {mm}"),
        format!("+vote-for-leader {MYID} 1"),
        format!("+elected-leader {mm}"),
        format!("+failover-state-select-slave {mm}"),
        format!("+selected-slave {s2}"),
        format!("+failover-state-send-slaveof-noone {s2}"),
        format!("+failover-state-wait-promotion {s2}"),
        format!("-role-change {s2} new reported role is master"),
        format!("+promoted-slave {s2}"),
        format!("+failover-state-reconf-slaves {mm}"),
        format!("+slave-reconf-sent {s3}"),
        format!("+slave-reconf-inprog {s3}"),
        format!("+slave-reconf-done {s3}"),
        format!("+failover-end {mm}"),
        "+switch-master mymaster 10.0.0.1 6370 10.0.0.2 6380".into(),
        "+slave slave 10.0.0.3:6381 10.0.0.3 6381 @ mymaster 10.0.0.2 6380".into(),
        "+slave slave 10.0.0.1:6370 10.0.0.1 6370 @ mymaster 10.0.0.2 6380".into(),
    ];
    assert_eq!(ev, want);
    assert_eq!(fx.s.master_addr(MASTER), Some(&raddr(6380)));
    assert_eq!(fx.master().config_epoch, 1);
}

#[test]
fn promotion_and_reconfiguration_send_the_exact_transactions() {
    let mut fx = group(&[(6380, 'n', 900, 100), (6381, 'o', 100, 100)]);
    let a = fail_until(&mut fx, FailoverState::None);
    let tx: Vec<(&crate::instance::InstanceId, &Vec<Vec<String>>)> = a
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                instance,
                request: Request::Slaveof { .. },
                argv,
            } => Some((instance, argv)),
            _ => None,
        })
        .collect();
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let expect = |host: &str, port: &str| {
        vec![
            v(&["MULTI"]),
            v(&["SLAVEOF", host, port]),
            v(&["CONFIG", "REWRITE"]),
            v(&["CLIENT", "KILL", "TYPE", "normal"]),
            v(&["CLIENT", "KILL", "TYPE", "pubsub"]),
            v(&["EXEC"]),
        ]
    };
    assert_eq!(tx.len(), 2);
    assert_eq!((tx[0].0, tx[0].1), (&r(6380), &expect("NO", "ONE")));
    assert_eq!((tx[1].0, tx[1].1), (&r(6381), &expect("10.0.0.2", "6380")));
}

#[test]
fn get_master_addr_returns_the_promoted_replica_from_reconf_slaves_on() {
    let mut fx = group(&[(6380, 'n', 900, 100)]);
    fail_until(&mut fx, FailoverState::WaitPromotion);
    assert_eq!(fx.s.master_addr(MASTER), Some(&master_addr()));
    fail_until(&mut fx, FailoverState::ReconfSlaves);
    assert_eq!(fx.s.master_addr(MASTER), Some(&raddr(6380)));
}

#[test]
fn no_good_slave_aborts_the_failover() {
    let mut fx = group(&[(6380, 'n', 900, 0)]);
    fx.freeze(&m());
    let a = fx.run(DOWN_AFTER + 2000);
    assert_eq!(
        named(&a, "-failover-abort-no-good-slave"),
        vec!["-failover-abort-no-good-slave master mymaster 10.0.0.1 6370"]
    );
    assert_eq!(fx.master().failover_state, FailoverState::None);
    assert!(fx.master().inst.flags.o_down, "the master stays ODOWN");
}

#[test]
fn failover_timeout_aborts_while_the_promoted_replica_is_unreachable() {
    let mut fx = group(&[(6380, 'n', 900, 100)]);
    fail_until(&mut fx, FailoverState::SelectSlave);
    fx.freeze(&r(6380));
    fx.input(crate::io::Input::LinkDown {
        instance: r(6380),
        link: crate::io::LinkKind::Command,
    });
    // select_slave still picks it this tick (its data is fresh), then
    // send_slaveof_noone waits for the link.
    fx.master_mut()
        .replicas
        .get_mut(&r_name(6380))
        .unwrap()
        .link
        .get()
        .cc = true;
    let a = fx.tick(100);
    assert!(has_event(&a, "+selected-slave"));
    fx.master_mut()
        .replicas
        .get_mut(&r_name(6380))
        .unwrap()
        .link
        .get()
        .cc = false;
    let entered = fx.master().failover_state_change_time;
    let mut aborted = None;
    for _ in 0..700 {
        let a = fx.tick(100);
        if has_event(&a, "-failover-abort-slave-timeout") {
            aborted = Some(fx.now);
            break;
        }
    }
    assert_eq!(aborted, Some(entered + FAILOVER_TIMEOUT + 100));
    assert!(!fx.master().replicas[&r_name(6380)].flags.promoted);
}

#[test]
fn failover_timeout_aborts_when_the_promotion_is_never_seen() {
    let mut fx = group(&[(6380, 'n', 900, 100)]);
    fail_until(&mut fx, FailoverState::SendSlaveofNoone);
    // The replica ignores SLAVEOF NO ONE: it keeps answering as a replica.
    let info = replica_info('n', &master_addr(), true, 900, 100);
    let a = fx.tick(100);
    assert!(has_event(&a, "+failover-state-wait-promotion"));
    let entered = fx.now;
    let mut aborted = None;
    for _ in 0..700 {
        fx.alive.insert(r(6380), info.clone());
        let a = fx.tick(100);
        if has_event(&a, "-failover-abort-slave-timeout") {
            aborted = Some(fx.now);
            break;
        }
    }
    assert_eq!(aborted, Some(entered + FAILOVER_TIMEOUT + 100));
    // A new attempt waits 2 × failover-timeout from the last start.
    let a = fx.run(FAILOVER_TIMEOUT - 1000);
    assert!(!has_event(&a, "+try-failover"));
}

#[test]
fn parallel_syncs_limits_concurrent_reconfigurations() {
    for parallel in [1u32, 2] {
        let stuck = [6381, 6382, 6383];
        let mut fx = group(&[
            (6380, 'n', 900, 100),
            (6381, 'o', 1, 100),
            (6382, 'p', 1, 100),
            (6383, 'q', 1, 100),
        ]);
        fx.master_mut().cfg.parallel_syncs = parallel;
        fail_until(&mut fx, FailoverState::ReconfSlaves);
        let a = tick_stuck(&mut fx, &stuck);
        assert_eq!(named(&a, "+slave-reconf-sent").len(), parallel as usize);
        for _ in 0..50 {
            let a = tick_stuck(&mut fx, &stuck);
            assert!(named(&a, "+slave-reconf-sent").is_empty());
        }
    }
}

#[test]
fn a_stuck_reconfiguration_times_out_after_10s_when_below_parallel_syncs() {
    let mut fx = group(&[(6380, 'n', 900, 100), (6381, 'o', 1, 100)]);
    fx.master_mut().cfg.parallel_syncs = 2;
    fail_until(&mut fx, FailoverState::ReconfSlaves);
    let a = tick_stuck(&mut fx, &[6381]);
    assert!(has_event(&a, "+slave-reconf-sent"));
    let sent = fx.now;
    let mut t = None;
    for _ in 0..200 {
        let a = tick_stuck(&mut fx, &[6381]);
        if has_event(&a, "-slave-reconf-sent-timeout") {
            t = Some(fx.now);
            break;
        }
    }
    assert_eq!(t, Some(sent + 10_000 + 100));
}

#[test]
fn with_parallel_syncs_reached_a_stuck_reconfiguration_never_times_out() {
    // Redis only walks the replicas while below parallel-syncs, so the
    // 10 s reconf-sent timeout is not checked; failover-timeout ends it.
    let mut fx = group(&[(6380, 'n', 900, 100), (6381, 'o', 1, 100)]);
    fail_until(&mut fx, FailoverState::ReconfSlaves);
    let mut all = Vec::new();
    for _ in 0..300 {
        all.extend(tick_stuck(&mut fx, &[6381]));
    }
    assert!(!has_event(&all, "-slave-reconf-sent-timeout"));
}

#[test]
fn reconf_slaves_ends_for_timeout_with_best_effort_slaveof() {
    let mut fx = group(&[
        (6380, 'n', 900, 100),
        (6381, 'o', 1, 100),
        (6382, 'p', 1, 100),
    ]);
    fail_until(&mut fx, FailoverState::ReconfSlaves);
    // 6381 gets the SLAVEOF and hangs (parallel-syncs 1 blocks 6382).
    let entered = fx.master().failover_state_change_time;
    let mut all = Vec::new();
    while fx.master().failover_state == FailoverState::ReconfSlaves {
        all.extend(tick_stuck(&mut fx, &[6381, 6382]));
    }
    let ev = events(&all);
    let pos = |name: &str| ev.iter().position(|e| e.starts_with(name)).unwrap();
    assert!(pos("+failover-end-for-timeout") < pos("+failover-end "));
    assert_eq!(
        named(&all, "+slave-reconf-sent-be"),
        vec!["+slave-reconf-sent-be slave 10.0.0.4:6382 10.0.0.4 6382 @ mymaster 10.0.0.1 6370"]
    );
    assert!(fx.now > entered + FAILOVER_TIMEOUT);
}

#[test]
fn sentinel_failover_command_errors() {
    let mut fx = group(&[(6380, 'n', 900, 0)]);
    assert_eq!(
        fx.s.failover(fx.now, "nope").0,
        Err(CommandError::NoSuchMaster)
    );
    assert_eq!(
        fx.s.failover(fx.now, MASTER).0,
        Err(CommandError::NoGoodSlave)
    );
    assert_eq!(
        CommandError::NoGoodSlave.to_string(),
        "NOGOODSLAVE No suitable replica to promote"
    );
    fx.master_mut()
        .replicas
        .get_mut(&r_name(6380))
        .unwrap()
        .slave_priority = 1;
    assert_eq!(fx.s.failover(fx.now, MASTER).0, Ok(()));
    assert_eq!(
        fx.s.failover(fx.now, MASTER).0,
        Err(CommandError::InProgress)
    );
    assert_eq!(
        CommandError::InProgress.to_string(),
        "INPROG Failover already in progress"
    );
}

#[test]
fn manual_failover_skips_the_election_and_leaves_the_old_master_alone() {
    let mut fx = Fx::new(2);
    fx.add_sentinels("bc");
    fx.add_replicas(&[6380]);
    fx.tick(100);
    fx.alive(&r(6380), replica_info('n', &master_addr(), true, 100, 100));
    fx.alive(&m(), master_info('m', &[6380]));
    fx.run(1000);
    let (res, a) = fx.s.failover(fx.now, MASTER);
    assert_eq!(res, Ok(()));
    assert_eq!(
        events(&a),
        vec![
            "+new-epoch 1",
            "+try-failover master mymaster 10.0.0.1 6370"
        ]
    );
    let mut all = Vec::new();
    while fx.master().inst.flags.failover_in_progress {
        all.extend(fx.tick(100));
    }
    let ev = events(&all);
    assert_eq!(ev[0], format!("+vote-for-leader {MYID} 1"));
    assert_eq!(ev[1], "+elected-leader master mymaster 10.0.0.1 6370");
    assert!(ev.contains(&"+switch-master mymaster 10.0.0.1 6370 10.0.0.2 6380".to_string()));
    // No command ever went to the old master during the failover.
    assert!(!all.iter().any(|a| matches!(a, Action::Send { instance, request: Request::Slaveof { .. }, .. } if *instance == m())));
}

#[test]
fn reset_forgets_replicas_sentinels_and_failover_state() {
    let mut fx = group(&[(6380, 'n', 900, 100)]);
    fx.add_sentinels("b");
    let (n, a) = fx.s.reset(fx.now, "my*");
    assert_eq!(n, 1);
    assert_eq!(
        named(&a, "+reset-master"),
        vec!["+reset-master master mymaster 10.0.0.1 6370"]
    );
    assert!(fx.master().replicas.is_empty() && fx.master().sentinels.is_empty());
    assert!(a.contains(&Action::PersistConfig));
    assert_eq!(fx.s.reset(fx.now, "other").0, 0);
}

#[test]
fn the_old_master_is_converted_to_a_replica_when_it_returns() {
    let mut fx = group(&[(6380, 'n', 900, 100)]);
    fail_until(&mut fx, FailoverState::None);
    // The master record now points at the promoted replica.
    fx.alive(&m(), master_info('n', &[]));
    // The old master comes back, still claiming to be a master.
    let old = r(6370);
    let a = fx.alive(&old, master_info('m', &[]));
    assert!(has_event(&a, "-role-change"));
    let back = fx.now;
    let mut converted = None;
    for _ in 0..200 {
        let a = fx.tick(100);
        if let Some(e) = named(&a, "+convert-to-slave").first() {
            assert_eq!(
                e,
                "+convert-to-slave slave 10.0.0.1:6370 10.0.0.1 6370 @ mymaster 10.0.0.2 6380"
            );
            let tx = a.iter().find_map(|a| match a {
                Action::Send {
                    request: Request::Slaveof { master },
                    ..
                } => master.clone(),
                _ => None,
            });
            assert_eq!(tx, Some(raddr(6380)));
            converted = Some(fx.now);
            break;
        }
    }
    // Not before its role change is 8 s old (and its last SDOWN episode).
    let t = converted.expect("converted");
    assert!(t - back > 8000, "{}", t - back);
}

#[test]
fn a_replica_pointing_at_the_wrong_master_is_fixed_after_failover_timeout() {
    let mut fx = group(&[(6380, 'n', 900, 100)]);
    let wrong = Addr::new("10.9.9.9", 7000);
    let a = fx.alive(&r(6380), replica_info('n', &wrong, true, 900, 100));
    assert!(!has_event(&a, "+fix-slave-config"));
    let changed = fx.now;
    let mut fixed = None;
    for _ in 0..700 {
        let a = fx.tick(100);
        if has_event(&a, "+fix-slave-config") {
            fixed = Some(fx.now);
            break;
        }
    }
    let t = fixed.expect("fixed");
    assert!(t - changed > FAILOVER_TIMEOUT && t - changed <= FAILOVER_TIMEOUT + 10_100);
}

#[test]
fn nothing_is_fixed_while_the_master_is_down() {
    let mut fx = group(&[(6380, 'n', 900, 100)]);
    fx.master_mut().inst.flags.o_down = true;
    fx.master_mut().failover_start_time = fx.now + 10_000_000;
    fx.freeze(&m());
    fx.alive(
        &r(6380),
        replica_info('n', &Addr::new("10.9.9.9", 7000), true, 900, 100),
    );
    let a = fx.run(FAILOVER_TIMEOUT + 20_000);
    assert!(!has_event(&a, "+fix-slave-config"));
}

#[test]
fn nothing_is_enforced_in_tilt() {
    let mut fx = group(&[(6380, 'n', 900, 100)]);
    let wrong = Addr::new("10.9.9.9", 7000);
    fx.alive(&r(6380), replica_info('n', &wrong, true, 900, 100));
    fx.run(FAILOVER_TIMEOUT - 1000);
    fx.s.g.tilt = true;
    fx.s.g.tilt_start_time = fx.now;
    let a = fx.run(20_000);
    assert!(!has_event(&a, "+fix-slave-config"));
}

/// A peer's hello announcing that `mymaster` moved to 6380 in config
/// epoch 1 (what ends a failover for the sentinels that did not lead it).
fn moved_to_6380(fx: &mut Fx) -> Vec<Action> {
    let payload = format!(
        "10.0.1.1,26380,{},1,mymaster,{},{},1",
        runid('b'),
        raddr(6380).ip,
        raddr(6380).port
    );
    fx.input(crate::io::Input::Hello {
        via: Some(m()),
        payload,
    })
}

#[test]
fn a_switched_master_is_reconnected_at_once_and_not_marked_down() {
    let mut cfg = master_config(2);
    cfg.down_after = 1000;
    let mut fx = Fx::with_config(cfg);
    fx.add_sentinels("b");
    fx.add_replicas(&[6380]);
    fx.tick(100);
    fx.alive(&r(6380), replica_info('n', &master_addr(), true, 900, 100));
    fx.alive(&m(), master_info('m', &[6380]));
    fx.run(1000);
    // the old master dies: reconnection attempts once a second
    fx.freeze(&m());
    let mut last_attempt = false;
    while !last_attempt {
        let a = fx.tick(100);
        last_attempt = a
            .iter()
            .any(|a| matches!(a, Action::Connect { instance, .. } if *instance == m()));
    }
    // the switch comes right after an attempt; the new master answers
    fx.now += 30;
    let a = moved_to_6380(&mut fx);
    assert!(has_event(&a, "+switch-master"));
    fx.alive.insert(m(), master_info('n', &[]));
    // ticks that fall just past one second after the switch
    let a = fx.tick(150);
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::Connect { instance, .. } if *instance == m())),
        "reconnected on the first tick"
    );
    let mut all = a;
    for _ in 0..10 {
        all.extend(fx.tick(150));
    }
    assert!(
        !named(&all, "+sdown")
            .iter()
            .any(|e| e.starts_with("+sdown master")),
        "{:?}",
        events(&all)
    );
}

#[test]
fn a_switch_forgets_the_peers_answers_about_the_old_master() {
    let mut fx = Fx::new(2);
    fx.add_sentinels("bc");
    fx.add_replicas(&[6380]);
    fx.healthy(&s('b'), None);
    fx.healthy(&s('c'), None);
    fx.answer(&s('b'), 1, "*", 0);
    fx.answer(&s('c'), 1, &runid('c'), 1);
    assert!(fx.master().sentinels.values().all(|s| s.flags.master_down));
    moved_to_6380(&mut fx);
    assert_eq!(fx.s.master_addr(MASTER), Some(&raddr(6380)));
    assert_eq!(fx.master().sentinels.len(), 2);
    for s in fx.master().sentinels.values() {
        assert!(!s.flags.master_down && s.leader.is_none());
    }
}
