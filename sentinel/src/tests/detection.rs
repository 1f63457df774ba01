//! Periodic commands, SDOWN, ODOWN, TILT, reboot detection.

use super::kit::*;
use crate::instance::Addr;
use crate::io::{events, Action, Input, LinkKind, Reply, Request};

#[test]
fn connects_to_a_new_master_on_the_first_tick_and_pings_when_the_link_is_up() {
    let mut fx = Fx::new(1);
    let a = fx.tick(100);
    assert_eq!(
        a,
        vec![Action::Connect {
            instance: m(),
            addr: master_addr(),
            cmd: true,
            pubsub: true
        }]
    );
    // No second attempt within a second.
    assert!(fx.tick(500).is_empty());
    let a = fx.up(&m());
    assert_eq!(sends_to(&a, &m()), vec![&Request::Ping]);
}

#[test]
fn reconnection_is_attempted_at_most_once_per_second() {
    let mut fx = Fx::new(1);
    let a = fx.run(3000);
    let connects = a
        .iter()
        .filter(|a| matches!(a, Action::Connect { .. }))
        .count();
    assert_eq!(connects, 3);
}

#[test]
fn info_is_sent_every_10s_and_ping_every_second() {
    let mut fx = Fx::new(1);
    fx.tick(100);
    fx.alive(&m(), master_info('m', &[]));
    let mut infos = 0;
    let mut pings = 0;
    for _ in 0..250 {
        let a = fx.tick(100);
        for r in sends_to(&a, &m()) {
            match r {
                Request::Info => infos += 1,
                Request::Ping => pings += 1,
                _ => {}
            }
        }
    }
    // 25 s: INFO at > 10 s and > 20 s; PING whenever the last reply is
    // older than 1 s (every 1.1 s with 100 ms ticks).
    assert_eq!(infos, 2);
    assert_eq!(pings, 22);
}

#[test]
fn ping_period_is_capped_by_down_after() {
    let mut cfg = master_config(1);
    cfg.down_after = 400;
    let mut fx = Fx::with_config(cfg);
    fx.tick(100);
    fx.healthy(&m(), Some(master_info('m', &[])));
    let a = fx.tick(300);
    assert!(sends_to(&a, &m()).is_empty());
    let a = fx.tick(200);
    assert_eq!(sends_to(&a, &m()), vec![&Request::Ping]);
}

#[test]
fn replicas_get_info_every_second_while_the_master_is_odown() {
    let mut fx = Fx::new(1);
    fx.add_replicas(&[6380]);
    fx.tick(100);
    fx.alive(&r(6380), replica_info('n', &master_addr(), true, 1, 100));
    let info_times = |a: &[Action], fx: &Fx| -> bool {
        sends_to(a, &r(6380)).contains(&&Request::Info) && fx.now > 0
    };
    // Healthy master: INFO every 10 s.
    fx.alive(&m(), master_info('m', &[6380]));
    let mut n = 0;
    for _ in 0..50 {
        let a = fx.tick(100);
        n += usize::from(info_times(&a, &fx));
    }
    assert_eq!(n, 0);
    // Master frozen: SDOWN then (quorum 1) ODOWN; replicas then get INFO
    // every second.
    fx.freeze(&m());
    fx.master_mut().failover_start_time = fx.now + 1_000_000; // no failover here
    let a = fx.run(DOWN_AFTER + 2000);
    assert!(has_event(&a, "+odown"));
    let mut n = 0;
    for _ in 0..110 {
        let a = fx.tick(100);
        n += usize::from(info_times(&a, &fx));
    }
    assert_eq!(n, 10, "every 1.1 s with 100 ms ticks");
}

#[test]
fn replicas_reporting_link_down_get_info_every_second() {
    let mut fx = Fx::new(1);
    fx.add_replicas(&[6380]);
    fx.tick(100);
    let text =
        replica_info('n', &master_addr(), false, 1, 100) + "master_link_down_since_seconds:3\r\n";
    fx.healthy(&r(6380), Some(text));
    let a = fx.tick(1100);
    assert!(sends_to(&a, &r(6380)).contains(&&Request::Info));
    // With the link up again, back to 10 s.
    fx.info(&r(6380), replica_info('n', &master_addr(), true, 1, 100));
    let a = fx.tick(1100);
    assert!(!sends_to(&a, &r(6380)).contains(&&Request::Info));
}

#[test]
fn hello_is_published_every_2s_with_the_exact_payload() {
    let mut fx = Fx::new(2);
    fx.tick(100);
    fx.healthy(&m(), Some(master_info('m', &[])));
    fx.s.g.current_epoch = 7;
    fx.master_mut().config_epoch = 3;
    let a = fx.tick(2000);
    let argv = a
        .iter()
        .find_map(|a| match a {
            Action::Send {
                request: Request::Hello { .. },
                argv,
                ..
            } => Some(argv.clone()),
            _ => None,
        })
        .expect("a hello");
    let payload = format!("10.0.0.100,26370,{MYID},7,mymaster,10.0.0.1,6370,3");
    assert_eq!(
        argv,
        vec![vec![
            "PUBLISH".to_string(),
            "__sentinel__:hello".into(),
            payload
        ]]
    );
    // Not again until acknowledged and 2 s passed.
    fx.input(Input::PublishReply {
        instance: m(),
        reply: Reply::Other,
    });
    let a = fx.tick(1000);
    assert!(!sends_to(&a, &m())
        .iter()
        .any(|r| matches!(r, Request::Hello { .. })));
}

#[test]
fn an_error_reply_to_publish_does_not_count_and_the_hello_is_retried() {
    let mut fx = Fx::new(2);
    fx.tick(100);
    fx.healthy(&m(), Some(master_info('m', &[])));
    fx.tick(2000);
    fx.input(Input::PublishReply {
        instance: m(),
        reply: Reply::Error("ERR nope".into()),
    });
    let a = fx.tick(100);
    assert!(sends_to(&a, &m())
        .iter()
        .any(|r| matches!(r, Request::Hello { .. })));
}

#[test]
fn announce_ip_and_port_replace_the_socket_address_in_hellos() {
    let mut fx = Fx::new(2);
    fx.s.g.announce_ip = Some("192.168.1.5".into());
    fx.s.g.announce_port = 5000;
    fx.tick(100);
    fx.healthy(&m(), Some(master_info('m', &[])));
    let a = fx.tick(2000);
    let hello = sends_to(&a, &m())
        .into_iter()
        .find_map(|r| match r {
            Request::Hello { payload } => Some(payload.clone()),
            _ => None,
        })
        .unwrap();
    assert!(hello.starts_with("192.168.1.5,5000,"), "{hello}");
}

#[test]
fn rename_command_applies_to_every_command_sent() {
    let mut cfg = master_config(1);
    cfg.renamed_commands.insert("ping".into(), "PONGME".into());
    cfg.renamed_commands.insert("config".into(), "CFG".into());
    let mut fx = Fx::with_config(cfg);
    fx.tick(100);
    let a = fx.up(&m());
    let argv = a
        .iter()
        .find_map(|a| match a {
            Action::Send { argv, .. } => Some(argv.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(argv, vec![vec!["PONGME".to_string()]]);
    let tx = crate::failover::slaveof_argv(fx.master(), None, false);
    assert_eq!(tx[2], vec!["CFG".to_string(), "REWRITE".into()]);
}

#[test]
fn periodic_commands_stop_at_100_pending_replies() {
    let mut fx = Fx::new(1);
    fx.tick(100);
    fx.healthy(&m(), Some(master_info('m', &[])));
    fx.master_mut().inst.link.get().pending_commands = 100;
    let a = fx.tick(20_000);
    assert!(sends_to(&a, &m()).is_empty());
}

#[test]
fn sdown_exactly_after_down_after_milliseconds_without_a_valid_reply() {
    let mut fx = Fx::new(1);
    fx.tick(100);
    fx.healthy(&m(), Some(master_info('m', &[])));
    fx.input(Input::PublishReply {
        instance: m(),
        reply: Reply::Other,
    });
    // The last PONG was at T0+100. Pings go unanswered from T0+1200.
    let mut first_ping = None;
    let mut sdown_at = None;
    for _ in 0..100 {
        let a = fx.tick(100);
        if first_ping.is_none() && sends_to(&a, &m()).contains(&&Request::Ping) {
            first_ping = Some(fx.now);
        }
        if has_event(&a, "+sdown") {
            sdown_at = Some(fx.now);
            assert_eq!(
                named(&a, "+sdown"),
                vec!["+sdown master mymaster 10.0.0.1 6370"]
            );
            break;
        }
    }
    let first_ping = first_ping.unwrap();
    // elapsed must be strictly greater than down-after.
    assert_eq!(sdown_at.unwrap(), first_ping + DOWN_AFTER + 100);
}

#[test]
fn loading_and_masterdown_count_as_valid_replies_but_other_errors_do_not() {
    for (reply, valid) in [
        (
            Reply::Error("LOADING Redis is loading the dataset in memory".into()),
            true,
        ),
        (
            Reply::Error("MASTERDOWN Link with MASTER is down".into()),
            true,
        ),
        (Reply::Status("PONG".into()), true),
        (Reply::Error("ERR unknown command".into()), false),
        (Reply::Other, false),
    ] {
        let mut fx = Fx::new(1);
        fx.tick(100);
        fx.healthy(&m(), Some(master_info('m', &[])));
        let mut a = Vec::new();
        for _ in 0..80 {
            let t = fx.tick(100);
            if sends_to(&t, &m()).contains(&&Request::Ping) {
                fx.reply(&m(), reply.clone());
            }
            a.extend(t);
        }
        assert_eq!(has_event(&a, "+sdown"), !valid, "{reply:?}");
    }
}

#[test]
fn an_unreachable_instance_goes_sdown_counting_from_its_creation() {
    let mut fx = Fx::new(1);
    let a = fx.run(DOWN_AFTER);
    assert!(!has_event(&a, "+sdown"));
    let a = fx.tick(100);
    assert!(has_event(&a, "+sdown"));
}

#[test]
fn sdown_ends_with_a_valid_reply_and_emits_minus_sdown() {
    let mut fx = Fx::new(1);
    fx.run(DOWN_AFTER + 100);
    assert!(fx.master().inst.flags.s_down);
    fx.healthy(&m(), Some(master_info('m', &[])));
    let a = fx.tick(100);
    assert_eq!(
        named(&a, "-sdown"),
        vec!["-sdown master mymaster 10.0.0.1 6370"]
    );
}

#[test]
fn a_master_reporting_slave_role_goes_sdown_after_down_after_plus_20s() {
    let mut fx = Fx::new(1);
    fx.tick(100);
    fx.alive(
        &m(),
        replica_info('m', &Addr::new("10.9.9.9", 1), true, 0, 100),
    );
    let t_role = fx.now;
    let mut sdown = None;
    for _ in 0..300 {
        let a = fx.tick(100);
        if has_event(&a, "+sdown") {
            sdown = Some(fx.now);
            break;
        }
    }
    assert_eq!(sdown.unwrap(), t_role + DOWN_AFTER + 20_000 + 100);
}

#[test]
fn busy_reply_while_sdown_sends_one_script_kill() {
    let mut fx = Fx::new(1);
    fx.run(DOWN_AFTER + 100);
    fx.up(&m());
    let a = fx.reply(
        &m(),
        Reply::Error("BUSY Redis is busy running a script".into()),
    );
    let kill = a.iter().find_map(|a| match a {
        Action::Send {
            request: Request::ScriptKill,
            argv,
            ..
        } => Some(argv.clone()),
        _ => None,
    });
    assert_eq!(kill, Some(vec![vec!["SCRIPT".to_string(), "KILL".into()]]));
    let a = fx.reply(&m(), Reply::Error("BUSY again".into()));
    assert!(sends_to(&a, &m()).is_empty());
}

#[test]
fn the_command_link_is_recycled_when_pings_hang_on_an_old_link() {
    let mut fx = Fx::new(1);
    fx.tick(100);
    fx.alive(&m(), master_info('m', &[]));
    fx.run(15_000);
    fx.freeze(&m());
    let a = fx.run(4000);
    let recycled = |a: &Action| {
        *a == Action::Disconnect {
            instance: m(),
            link: Some(LinkKind::Command),
        }
    };
    // The pending PING (sent ~1.1 s after the last reply) must be older
    // than down-after/2 and so must the last reply.
    let at = a.iter().position(recycled).expect("recycled");
    assert!(a[..at].iter().any(|a| matches!(
        a,
        Action::Send {
            request: Request::Ping,
            ..
        }
    )));
}

#[test]
fn a_young_link_is_not_recycled() {
    let mut fx = Fx::new(1);
    fx.tick(100);
    fx.alive(&m(), master_info('m', &[]));
    fx.freeze(&m());
    let a = fx.run(14_000);
    assert!(!a.iter().any(|a| matches!(a, Action::Disconnect { .. })));
}

#[test]
fn odown_needs_the_quorum_of_sdown_opinions() {
    let mut fx = Fx::new(3);
    fx.add_sentinels("bc");
    fx.tick(100);
    fx.up(&s('b'));
    fx.up(&s('c'));
    let a = fx.run(DOWN_AFTER + 100);
    assert!(has_event(&a, "+sdown"));
    // While SDOWN, peers are asked with runid "*" (no failover yet).
    let ask = a.iter().find_map(|a| match a {
        Action::Send {
            request: Request::IsMasterDownByAddr,
            argv,
            ..
        } => Some(argv[0].clone()),
        _ => None,
    });
    assert_eq!(
        ask.unwrap(),
        [
            "SENTINEL",
            "is-master-down-by-addr",
            "10.0.0.1",
            "6370",
            "0",
            "*"
        ]
    );
    fx.answer(&s('b'), 1, "*", 0);
    let a = fx.tick(100);
    assert!(!has_event(&a, "+odown"), "2 of 3 is not quorum 3");
    fx.answer(&s('c'), 1, "*", 0);
    let a = fx.tick(100);
    assert_eq!(
        named(&a, "+odown"),
        vec!["+odown master mymaster 10.0.0.1 6370 #quorum 3/3"]
    );
}

#[test]
fn peer_down_answers_expire_after_5s_and_odown_ends() {
    let mut fx = Fx::new(2);
    fx.add_sentinels("b");
    fx.tick(100);
    fx.up(&s('b'));
    fx.run(DOWN_AFTER + 100);
    fx.answer(&s('b'), 1, "*", 0);
    fx.master_mut().failover_start_time = fx.now; // keep failovers out of this test
    let a = fx.tick(100);
    assert!(has_event(&a, "+odown"));
    let a = fx.run(5000);
    assert!(!has_event(&a, "-odown"));
    // Forgotten when older than 5000 (checked after ODOWN in the same
    // tick, so -odown comes one tick later).
    let a = fx.run(200);
    assert_eq!(
        named(&a, "-odown"),
        vec!["-odown master mymaster 10.0.0.1 6370"]
    );
}

#[test]
fn tilt_is_entered_when_the_clock_jumps_and_freezes_decisions_for_30s() {
    let mut fx = Fx::new(1);
    fx.tick(100);
    let a = fx.tick(2001);
    assert_eq!(events(&a), vec!["+tilt #tilt mode entered"]);
    // No SDOWN evaluation during TILT although the master never answered.
    let a = fx.run(29_900);
    assert!(!has_event(&a, "+sdown") && !has_event(&a, "-tilt"));
    assert!(
        a.iter().any(|a| matches!(a, Action::Connect { .. })),
        "links continue"
    );
    let a = fx.tick(100);
    assert_eq!(events(&a)[0], "-tilt #tilt mode exited");
    assert!(has_event(&a, "+sdown"));
}

#[test]
fn tilt_is_entered_when_the_clock_goes_backwards() {
    let mut fx = Fx::new(1);
    fx.tick(100);
    let a = fx.tick(-1);
    assert_eq!(events(&a), vec!["+tilt #tilt mode entered"]);
    let a = fx.tick(2000);
    assert!(!has_event(&a, "+tilt"), "a 2000 ms delta is not a jump");
}

#[test]
fn a_sentinel_in_tilt_answers_not_down() {
    let mut fx = Fx::new(1);
    fx.run(DOWN_AFTER + 100);
    assert!(fx.master().inst.flags.s_down);
    let (ans, _) =
        fx.s.is_master_down_by_addr(fx.now, "10.0.0.1", 6370, 0, "*");
    assert!(ans.down);
    fx.tick(5000);
    let (ans, _) =
        fx.s.is_master_down_by_addr(fx.now, "10.0.0.1", 6370, 0, "*");
    assert!(!ans.down);
}

#[test]
fn a_new_run_id_is_a_reboot_and_with_a_reboot_period_makes_the_master_sdown() {
    let mut cfg = master_config(1);
    cfg.master_reboot_down_after_period = 3000;
    let mut fx = Fx::with_config(cfg);
    fx.tick(100);
    fx.healthy(&m(), Some(master_info('m', &[])));
    let a = fx.info(&m(), master_info('x', &[]));
    assert_eq!(
        named(&a, "+reboot"),
        vec!["+reboot master mymaster 10.0.0.1 6370"]
    );
    // LOADING does not clear the reboot flag; only PONG does.
    let mut sdown = false;
    for _ in 0..40 {
        let a = fx.tick(100);
        if sends_to(&a, &m()).contains(&&Request::Ping) {
            fx.reply(&m(), Reply::Error("LOADING".into()));
        }
        sdown |= has_event(&a, "+sdown");
    }
    assert!(sdown);
    fx.pong(&m());
    let a = fx.tick(100);
    assert!(has_event(&a, "-sdown"));
}

#[test]
fn without_a_reboot_period_a_restart_is_only_reported() {
    let mut fx = Fx::new(1);
    fx.tick(100);
    fx.healthy(&m(), Some(master_info('m', &[])));
    fx.info(&m(), master_info('x', &[]));
    assert!(!fx.master().inst.flags.master_reboot);
}

#[test]
fn replicas_listed_in_master_info_are_discovered_once() {
    let mut fx = Fx::new(1);
    fx.tick(100);
    let a = fx.healthy(&m(), Some(master_info('m', &[6380, 6381])));
    assert_eq!(
        named(&a, "+slave"),
        vec![
            "+slave slave 10.0.0.2:6380 10.0.0.2 6380 @ mymaster 10.0.0.1 6370",
            "+slave slave 10.0.0.3:6381 10.0.0.3 6381 @ mymaster 10.0.0.1 6370",
        ]
    );
    assert_eq!(a.iter().filter(|a| **a == Action::PersistConfig).count(), 1);
    let a = fx.info(&m(), master_info('m', &[6380, 6381]));
    assert!(!has_event(&a, "+slave"));
}

#[test]
fn role_changes_are_reported_coherent_or_not() {
    let mut fx = Fx::new(1);
    fx.add_replicas(&[6380]);
    fx.tick(100);
    let a = fx.healthy(&r(6380), Some(master_info('n', &[])));
    assert_eq!(
        named(&a, "-role-change"),
        vec!["-role-change slave 10.0.0.2:6380 10.0.0.2 6380 @ mymaster 10.0.0.1 6370 new reported role is master"]
    );
    let a = fx.info(&r(6380), replica_info('n', &master_addr(), true, 0, 100));
    assert_eq!(named(&a, "+role-change").len(), 1);
}
