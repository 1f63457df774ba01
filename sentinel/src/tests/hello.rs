//! Hello processing and config-epoch propagation.

use super::kit::*;
use crate::hello::Hello;
use crate::instance::{Addr, InstanceId};
use crate::io::{events, Action, Input, LinkKind, Request};

fn hello(from: char, port: u16, epoch: u64, master: &Addr, config_epoch: u64) -> String {
    format!(
        "10.0.1.1,{port},{},{epoch},mymaster,{},{},{config_epoch}",
        runid(from),
        master.ip,
        master.port
    )
}

fn recv(fx: &mut Fx, payload: String) -> Vec<Action> {
    fx.input(Input::Hello {
        via: Some(m()),
        payload,
    })
}

#[test]
fn hello_payload_round_trips_and_needs_exactly_eight_fields() {
    let p = "127.0.0.1,27003,a9775e9db91574e8129de5c9a9e9992521adaecc,0,mymaster,127.0.0.1,17001,0";
    let h = Hello::parse(p).unwrap();
    assert_eq!(h.sentinel_port, 27003);
    assert_eq!(h.master_port, 17001);
    assert_eq!(h.to_string(), p);
    assert!(Hello::parse(&format!("{p},x")).is_none());
    assert!(Hello::parse("a,b,c").is_none());
}

#[test]
fn a_new_sentinel_is_discovered_from_its_hello() {
    let mut fx = Fx::new(2);
    let a = recv(&mut fx, hello('b', 26380, 0, &master_addr(), 0));
    assert_eq!(
        events(&a),
        vec![format!(
            "+sentinel sentinel {} 10.0.1.1 26380 @ mymaster 10.0.0.1 6370",
            runid('b')
        )]
    );
    assert!(a.contains(&Action::PersistConfig));
    let a = recv(&mut fx, hello('b', 26380, 0, &master_addr(), 0));
    assert!(a.is_empty(), "known now");
}

#[test]
fn hellos_with_our_own_id_or_for_unknown_masters_are_ignored() {
    let mut fx = Fx::new(2);
    let own = format!("10.0.0.100,26370,{MYID},0,mymaster,10.0.0.1,6370,0");
    assert!(recv(&mut fx, own).is_empty());
    let other = format!(
        "10.0.1.1,26380,{},0,othermaster,10.0.0.1,6370,0",
        runid('b')
    );
    assert!(recv(&mut fx, other).is_empty());
    assert!(fx.master().sentinels.is_empty());
}

#[test]
fn a_sentinel_that_changed_address_is_switched_not_duplicated() {
    let mut fx = Fx::new(2);
    recv(&mut fx, hello('b', 26380, 0, &master_addr(), 0));
    let a = recv(&mut fx, hello('b', 26390, 0, &master_addr(), 0));
    assert_eq!(
        events(&a),
        vec![format!(
            "+sentinel-address-switch master mymaster 10.0.0.1 6370 ip 10.0.1.1 port 26390 for {}",
            runid('b')
        )]
    );
    assert_eq!(fx.master().sentinels.len(), 1);
    assert_eq!(fx.master().sentinels[&runid('b')].addr.port, 26390);
}

#[test]
fn a_new_runid_at_a_known_address_replaces_the_old_sentinel() {
    let mut fx = Fx::new(2);
    recv(&mut fx, hello('b', 26380, 0, &master_addr(), 0));
    let a = recv(&mut fx, hello('c', 26380, 0, &master_addr(), 0));
    let ev = events(&a);
    assert_eq!(
        ev[0],
        format!(
            "+sentinel-invalid-addr sentinel {} 10.0.1.1 26380 @ mymaster 10.0.0.1 6370",
            runid('b')
        )
    );
    assert!(ev[1].starts_with("+sentinel sentinel cccc"));
    assert_eq!(
        fx.master().sentinels.keys().collect::<Vec<_>>(),
        vec![&runid('c')]
    );
}

#[test]
fn a_greater_current_epoch_is_adopted() {
    let mut fx = Fx::new(2);
    recv(&mut fx, hello('b', 26380, 0, &master_addr(), 0));
    let a = recv(&mut fx, hello('b', 26380, 5, &master_addr(), 0));
    assert_eq!(events(&a), vec!["+new-epoch 5"]);
    assert_eq!(fx.s.g.current_epoch, 5);
    let a = recv(&mut fx, hello('b', 26380, 3, &master_addr(), 0));
    assert!(events(&a).is_empty());
}

#[test]
fn a_newer_config_epoch_wins_and_switch_master_is_emitted() {
    let mut fx = Fx::new(2);
    fx.add_replicas(&[6380, 6381]);
    recv(&mut fx, hello('b', 26380, 0, &master_addr(), 0));
    let a = recv(&mut fx, hello('b', 26380, 1, &raddr(6380), 1));
    assert_eq!(
        events(&a),
        vec![
            "+new-epoch 1".to_string(),
            format!(
                "+config-update-from sentinel {} 10.0.1.1 26380 @ mymaster 10.0.0.1 6370",
                runid('b')
            ),
            "+switch-master mymaster 10.0.0.1 6370 10.0.0.2 6380".into(),
            "+slave slave 10.0.0.3:6381 10.0.0.3 6381 @ mymaster 10.0.0.2 6380".into(),
            "+slave slave 10.0.0.1:6370 10.0.0.1 6370 @ mymaster 10.0.0.2 6380".into(),
        ]
    );
    assert_eq!(fx.s.master_addr(MASTER), Some(&raddr(6380)));
    assert_eq!(fx.master().config_epoch, 1);
    assert_eq!(fx.master().sentinels.len(), 1, "sentinels are kept");
    assert!(a.contains(&Action::PersistConfig));
}

#[test]
fn an_equal_or_older_config_epoch_is_ignored() {
    let mut fx = Fx::new(2);
    fx.master_mut().config_epoch = 4;
    recv(&mut fx, hello('b', 26380, 0, &master_addr(), 0));
    for ce in [3, 4] {
        let a = recv(&mut fx, hello('b', 26380, 4, &raddr(6380), ce));
        assert!(!events(&a).iter().any(|e| e.starts_with("+switch-master")));
    }
    assert_eq!(fx.s.master_addr(MASTER), Some(&master_addr()));
}

#[test]
fn a_newer_config_epoch_for_the_same_address_only_updates_the_epoch() {
    let mut fx = Fx::new(2);
    recv(&mut fx, hello('b', 26380, 0, &master_addr(), 0));
    let a = recv(&mut fx, hello('b', 26380, 0, &master_addr(), 2));
    assert!(events(&a).is_empty());
    assert_eq!(fx.master().config_epoch, 2);
}

#[test]
fn an_observer_runs_the_client_reconfig_script_on_switch() {
    let mut cfg = master_config(2);
    cfg.client_reconfig_script = Some("/bin/reconf.sh".into());
    let mut fx = Fx::with_config(cfg);
    recv(&mut fx, hello('b', 26380, 0, &master_addr(), 0));
    let a = recv(&mut fx, hello('b', 26380, 1, &raddr(6380), 1));
    let run = a.iter().find_map(|a| match a {
        Action::RunScript { path, args } => Some((path.clone(), args.clone())),
        _ => None,
    });
    let args: Vec<String> = [
        "mymaster", "observer", "start", "10.0.0.1", "6370", "10.0.0.2", "6380",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(run, Some(("/bin/reconf.sh".to_string(), args)));
}

#[test]
fn warning_events_run_the_notification_script() {
    let mut cfg = master_config(1);
    cfg.notification_script = Some("/bin/notify.sh".into());
    let mut fx = Fx::with_config(cfg);
    let a = fx.run(DOWN_AFTER + 100);
    let runs: Vec<Vec<String>> = a
        .iter()
        .filter_map(|a| match a {
            Action::RunScript { args, .. } => Some(args.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        runs[0],
        vec!["+sdown".to_string(), "master mymaster 10.0.0.1 6370".into()]
    );
    // Notice-level events (here +slave) run nothing.
    let a = fx.alive(&m(), master_info('m', &[6380]));
    assert!(!a
        .iter()
        .any(|a| matches!(a, Action::RunScript { args, .. } if args[0] == "+slave")));
}

#[test]
fn the_hello_carries_the_promoted_address_once_reconf_slaves_is_reached() {
    let mut fx = Fx::new(1);
    fx.add_replicas(&[6380]);
    fx.tick(100);
    fx.alive(&r(6380), replica_info('n', &master_addr(), true, 9, 100));
    fx.alive(&m(), master_info('m', &[6380]));
    fx.freeze(&m());
    let mut payloads = Vec::new();
    for _ in 0..200 {
        let a = fx.tick(100);
        for x in &a {
            if let Action::Send {
                instance,
                request: crate::io::Request::Hello { payload },
                ..
            } = x
            {
                if *instance == r(6380) {
                    payloads.push(payload.clone());
                }
            }
        }
        if fx.master().failover_state == crate::instance::FailoverState::UpdateConfig {
            break;
        }
    }
    // The promotion forces an immediate hello with the new address and
    // the new config epoch.
    let last = payloads.last().unwrap();
    assert!(last.ends_with(",1,mymaster,10.0.0.2,6380,1"), "{last}");
    let _ = InstanceId::Master(MASTER.into());
}

// ---- links to a sentinel shared across masters (sentinelTryConnectionSharing) ----

fn other() -> InstanceId {
    InstanceId::Master("other".into())
}

fn s_of(master: &str, c: char) -> InstanceId {
    InstanceId::Sentinel {
        master: master.into(),
        runid: runid(c),
    }
}

/// `mymaster` and `other`, both watched by sentinel `b`.
fn two_masters_one_peer() -> Fx {
    let mut fx = Fx::new(2);
    let mut cfg = master_config(2);
    cfg.name = "other".into();
    cfg.addr = Addr::new("10.0.0.9", 6371);
    fx.s.add_master(fx.now, cfg).unwrap();
    let peer = Addr::new("10.0.1.1", 26380);
    fx.s.add_known_sentinel(fx.now, MASTER, peer.clone(), &runid('b'));
    fx.s.add_known_sentinel(fx.now, "other", peer, &runid('b'));
    fx
}

fn peer_actions(actions: &[Action], c: char) -> (usize, usize, usize) {
    let is_peer =
        |i: &InstanceId| matches!(i, InstanceId::Sentinel { runid: r, .. } if *r == runid(c));
    let (mut connects, mut pings, mut disconnects) = (0, 0, 0);
    for a in actions {
        match a {
            Action::Connect { instance, .. } if is_peer(instance) => connects += 1,
            Action::Send {
                instance,
                request: Request::Ping,
                ..
            } if is_peer(instance) => pings += 1,
            Action::Disconnect { instance, .. } if is_peer(instance) => disconnects += 1,
            _ => {}
        }
    }
    (connects, pings, disconnects)
}

#[test]
fn one_sentinel_in_two_masters_gets_one_link() {
    let mut fx = two_masters_one_peer();
    let a = &fx.s.masters[MASTER].sentinels[&runid('b')].link;
    let b = &fx.s.masters["other"].sentinels[&runid('b')].link;
    assert!(a.same(b));
    assert_eq!(a.refcount(), 2);
    // one connection attempt, whichever record asks first
    let a = fx.tick(100);
    assert_eq!(peer_actions(&a, 'b').0, 1);
    // up through one record: up for both, and one PING clock
    let a = fx.input(Input::LinkUp {
        instance: s_of("other", 'b'),
        link: LinkKind::Command,
        local_ip: "10.0.0.100".into(),
    });
    assert_eq!(peer_actions(&a, 'b').1, 1);
    assert!(fx.s.masters[MASTER].sentinels[&runid('b')].connected());
    let mut pings = 0;
    for _ in 0..30 {
        let a = fx.tick(100);
        pings += peer_actions(&a, 'b').1;
    }
    // unanswered: a PING every half period at most, not one per record
    assert!((2..=6).contains(&pings), "{pings}");
}

#[test]
fn sentinels_reply_shows_the_link_refcount() {
    let fx = two_masters_one_peer();
    let reply = crate::replies::instance_map(
        &fx.s,
        &fx.s.masters["other"],
        &fx.s.masters["other"].sentinels[&runid('b')],
        fx.now,
    );
    assert!(
        format!("{reply:?}").contains("\"link-refcount\"), Bulk(b\"2\")"),
        "{reply:?}"
    );
}

#[test]
fn the_shared_link_closes_only_with_its_last_record() {
    let mut fx = two_masters_one_peer();
    let (_, a) = fx.s.remove("other");
    assert_eq!(peer_actions(&a, 'b').2, 0, "still used by mymaster");
    assert_eq!(
        fx.s.masters[MASTER].sentinels[&runid('b')].link.refcount(),
        1
    );
    // a late LinkUp under the removed record's id reaches the survivor
    fx.input(Input::LinkUp {
        instance: s_of("other", 'b'),
        link: LinkKind::Command,
        local_ip: "10.0.0.100".into(),
    });
    assert!(fx.s.masters[MASTER].sentinels[&runid('b')].connected());
    let (_, a) = fx.s.remove(MASTER);
    assert_eq!(peer_actions(&a, 'b').2, 1);
}

#[test]
fn a_sentinel_discovered_by_hello_shares_the_link_it_has_elsewhere() {
    let mut fx = Fx::new(2);
    let mut cfg = master_config(2);
    cfg.name = "other".into();
    cfg.addr = Addr::new("10.0.0.9", 6371);
    fx.s.add_master(fx.now, cfg).unwrap();
    for (master, ip, port) in [(MASTER, "10.0.0.1", 6370), ("other", "10.0.0.9", 6371)] {
        let payload = format!("10.0.1.1,26380,{},0,{master},{ip},{port},0", runid('b'));
        let via = if master == MASTER { m() } else { other() };
        fx.input(Input::Hello {
            via: Some(via),
            payload,
        });
    }
    let a = &fx.s.masters[MASTER].sentinels[&runid('b')].link;
    let b = &fx.s.masters["other"].sentinels[&runid('b')].link;
    assert!(a.same(b));
}

#[test]
fn a_peer_that_moves_gets_its_shared_link_recreated_at_the_new_address() {
    let mut fx = two_masters_one_peer();
    fx.input(Input::LinkUp {
        instance: s_of(MASTER, 'b'),
        link: LinkKind::Command,
        local_ip: "10.0.0.100".into(),
    });
    let payload = format!("10.0.1.7,26390,{},0,{MASTER},10.0.0.1,6370,0", runid('b'));
    let a = fx.input(Input::Hello {
        via: Some(m()),
        payload,
    });
    assert!(events(&a)
        .iter()
        .any(|e| e.starts_with("+sentinel-address-switch ")));
    assert_eq!(peer_actions(&a, 'b').2, 1, "the old connection is closed");
    let x = &fx.s.masters[MASTER].sentinels[&runid('b')];
    let y = &fx.s.masters["other"].sentinels[&runid('b')];
    assert!(x.link.same(&y.link) && !x.connected());
    assert_eq!((x.addr.port, y.addr.port), (26390, 26390));
    let a = fx.tick(100);
    assert_eq!(peer_actions(&a, 'b').0, 1);
    assert!(a.iter().any(|a| matches!(a,
        Action::Connect { addr, .. } if addr.port == 26390)));
}
