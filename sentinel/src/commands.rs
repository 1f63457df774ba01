//! The SENTINEL subcommands that change settings: `SET` (per master),
//! `CONFIG SET` (sentinel-wide) and `SIMULATE-FAILURE`, as methods on
//! [`SentinelState`] that return the actions to perform, like the rest of
//! the core. Their replies' shapes (and `CONFIG GET`) are in
//! [`crate::replies`].
//!
//! Mirrors `sentinelSetCommand`, `sentinelConfigSetCommand` and the
//! `simulate-failure` branch of `sentinelCommand` in Redis 7.0.15,
//! including their quirks: SET applies its option/value pairs one by one,
//! so an error half-way keeps (and persists) the pairs before it.

use picket_common::num::parse_i64;

use crate::instance::{Master, Who};
use crate::io::{Action, Level};
use crate::state::{CommandError, SentinelState};

/// The SENTINEL SIMULATE-FAILURE flags (`SENTINEL_SIMFAILURE_*`), stored in
/// [`crate::state::Global::simulate_failure`] and shown by INFO as
/// `sentinel_simulate_failure_flags`.
pub struct SimulateFailure;

impl SimulateFailure {
    /// No simulated failure.
    pub const NONE: u32 = 0;
    /// Exit(99) right after winning a leader election (`+elected-leader`).
    pub const CRASH_AFTER_ELECTION: u32 = 1 << 0;
    /// Exit(99) right after the selected replica was seen promoted
    /// (`+promoted-slave`).
    pub const CRASH_AFTER_PROMOTION: u32 = 1 << 1;
    /// The names `SENTINEL SIMULATE-FAILURE HELP` lists, in its order.
    pub const NAMES: [&'static str; 2] = ["crash-after-election", "crash-after-promotion"];
}

/// What `SENTINEL SIMULATE-FAILURE` answers when it succeeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimulateFailureOutcome {
    /// `+OK`; the flags are set.
    Ok,
    /// `HELP` was among the arguments: the array of flag names
    /// ([`crate::replies::simulate_failure_help`]). Flags named before it
    /// stay set, as in Redis.
    Help,
}

/// `yes`/`no`, case-insensitively (`yesnotoi`).
fn yes_no(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

/// An empty string clears an optional setting.
fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Closes the links to a master and its replicas, so that new credentials
/// are used (`dropInstanceConnections`).
fn drop_instance_connections(m: &mut Master, out: &mut Vec<Action>) {
    let name = m.name().to_string();
    let mut ids = vec![Who::Master.id(&name)];
    ids.extend(m.replicas.keys().map(|r| Who::Replica(r.clone()).id(&name)));
    for i in std::iter::once(&mut m.inst).chain(m.replicas.values_mut()) {
        i.link.get().cc = false;
        i.link.get().pc = false;
        i.link.get().pending_commands = 0;
    }
    out.extend(ids.into_iter().map(|instance| Action::Disconnect {
        instance,
        link: None,
    }));
}

impl SentinelState {
    /// `SENTINEL SET <name> <option> <value> [<option> <value> ...]`; `args`
    /// are the option/value words after the name. Options (case-
    /// insensitive): `down-after-milliseconds`, `failover-timeout`,
    /// `parallel-syncs`, `quorum` (integers > 0),
    /// `master-reboot-down-after-period` (≥ 0), `notification-script`,
    /// `client-reconfig-script` (refused while `deny-scripts-reconfig`;
    /// a non-empty path must pass `is_executable`, Redis's
    /// `access(X_OK)`), `auth-pass`, `auth-user` (both close the links to
    /// the master and its replicas), `rename-command <old> <new>`.
    ///
    /// Each applied option emits `+set <master details> <option> <value…>`
    /// (the auth-pass value as `******`). Options are applied in order; on
    /// an error the earlier ones stay applied. Whenever something changed
    /// the actions include [`Action::PersistConfig`]; the reply is `+OK`
    /// when the result is `Ok` and that flush succeeds, else
    /// `-ERR Failed to save config file. Check server logs.`
    pub fn set<S: AsRef<str>>(
        &mut self,
        name: &str,
        args: &[S],
        is_executable: &dyn Fn(&str) -> bool,
    ) -> (Result<(), CommandError>, Vec<Action>) {
        let deny_scripts = self.g.deny_scripts_reconfig;
        let ah = self.g.announce_hostnames;
        let Some(m) = self.masters.get_mut(name) else {
            return (Err(CommandError::NoSuchMaster), Vec::new());
        };
        let mut actions = Vec::new();
        let mut changes = 0;
        let mut j = 0;
        let result = loop {
            let Some(option) = args.get(j).map(AsRef::as_ref) else {
                break Ok(());
            };
            let more = args.len() - 1 - j;
            let opt = option.to_ascii_lowercase();
            let bad = |value: &str| CommandError::InvalidSetArgument {
                value: value.to_string(),
                option: option.to_string(),
            };
            // A positive (or, with `zero_ok`, non-negative) integer.
            let number = |value: &str, zero_ok: bool| {
                parse_i64(value.as_bytes())
                    .filter(|&v| v > 0 || (zero_ok && v == 0))
                    .ok_or_else(|| bad(value))
            };
            let mut shown: Vec<String> = Vec::new();
            let step: Result<(), CommandError> = match opt.as_str() {
                "down-after-milliseconds"
                | "failover-timeout"
                | "parallel-syncs"
                | "quorum"
                | "master-reboot-down-after-period"
                    if more > 0 =>
                {
                    let value = args[j + 1].as_ref();
                    number(value, opt == "master-reboot-down-after-period").map(|v| {
                        match opt.as_str() {
                            "down-after-milliseconds" => m.cfg.down_after = v,
                            "failover-timeout" => m.cfg.failover_timeout = v,
                            // Redis stores these in C ints: truncation.
                            "parallel-syncs" => m.cfg.parallel_syncs = v as u32,
                            "quorum" => m.cfg.quorum = v as u32,
                            _ => m.cfg.master_reboot_down_after_period = v,
                        }
                        shown.push(value.to_string());
                    })
                }
                "notification-script" | "client-reconfig-script" if more > 0 => {
                    let value = args[j + 1].as_ref();
                    let notification = opt == "notification-script";
                    if deny_scripts {
                        Err(CommandError::ScriptsReconfigDenied)
                    } else if !value.is_empty() && !is_executable(value) {
                        Err(if notification {
                            CommandError::NotificationScriptNotExecutable
                        } else {
                            CommandError::ReconfigScriptNotExecutable
                        })
                    } else {
                        if notification {
                            m.cfg.notification_script = non_empty(value);
                        } else {
                            m.cfg.client_reconfig_script = non_empty(value);
                        }
                        shown.push(value.to_string());
                        Ok(())
                    }
                }
                "auth-pass" | "auth-user" if more > 0 => {
                    let value = args[j + 1].as_ref();
                    if opt == "auth-pass" {
                        m.cfg.auth_pass = non_empty(value);
                        shown.push("******".to_string());
                    } else {
                        m.cfg.auth_user = non_empty(value);
                        shown.push(value.to_string());
                    }
                    drop_instance_connections(m, &mut actions);
                    Ok(())
                }
                "rename-command" if more > 1 => {
                    let (old, new) = (args[j + 1].as_ref(), args[j + 2].as_ref());
                    if old.is_empty() || new.is_empty() {
                        // Redis reports the empty one (the new name when both are).
                        Err(bad(if new.is_empty() { new } else { old }))
                    } else {
                        let key = old.to_ascii_lowercase();
                        m.cfg.renamed_commands.remove(&key);
                        // Renaming a command to itself is no renaming.
                        if !old.eq_ignore_ascii_case(new) {
                            m.cfg.renamed_commands.insert(key, new.to_string());
                        }
                        shown.push(old.to_string());
                        shown.push(new.to_string());
                        Ok(())
                    }
                }
                _ => Err(CommandError::UnknownSetOption(option.to_string())),
            };
            if let Err(e) = step {
                break Err(e);
            }
            changes += 1;
            j += 1 + shown.len();
            let text = format!(
                "{} {} {}",
                m.details(&Who::Master, ah),
                option,
                shown.join(" ")
            );
            self.out.event(
                Level::Warning,
                "+set",
                text,
                m.cfg.notification_script.as_deref(),
            );
            actions.extend(self.out.take());
        };
        if changes > 0 {
            actions.push(Action::PersistConfig);
        }
        (result, actions)
    }

    /// `SENTINEL CONFIG SET <param> <value>` (one pair, as in 7.0):
    /// `resolve-hostnames`, `announce-hostnames` (yes/no),
    /// `announce-ip`, `announce-port` (0–65535), `sentinel-user`,
    /// `sentinel-pass` (the last two close every link to other
    /// sentinels). On success the actions are the flush (the reply is
    /// `+OK` if it succeeds) and then the disconnections.
    pub fn config_set(
        &mut self,
        param: &str,
        value: &str,
    ) -> (Result<(), CommandError>, Vec<Action>) {
        let bad = || CommandError::InvalidConfigValue {
            value: value.to_string(),
            param: param.to_string(),
        };
        let mut drop_sentinel_links = false;
        match param.to_ascii_lowercase().as_str() {
            "resolve-hostnames" | "announce-hostnames" => {
                let Some(v) = yes_no(value) else {
                    return (Err(bad()), Vec::new());
                };
                if param.eq_ignore_ascii_case("resolve-hostnames") {
                    self.g.resolve_hostnames = v;
                } else {
                    self.g.announce_hostnames = v;
                }
            }
            // Redis keeps an empty announce-ip as set (and announces an
            // empty address until a restart drops it); Picket treats it as
            // unset straight away.
            "announce-ip" => self.g.announce_ip = non_empty(value),
            "announce-port" => {
                let Some(port) = parse_i64(value.as_bytes()).and_then(|p| u16::try_from(p).ok())
                else {
                    return (Err(bad()), Vec::new());
                };
                self.g.announce_port = port;
            }
            "sentinel-user" => {
                self.g.sentinel_user = non_empty(value);
                drop_sentinel_links = true;
            }
            "sentinel-pass" => {
                self.g.sentinel_pass = non_empty(value);
                drop_sentinel_links = true;
            }
            _ => {
                return (
                    Err(CommandError::UnknownConfigParameter(param.to_string())),
                    Vec::new(),
                )
            }
        }
        let mut actions = vec![Action::PersistConfig];
        if drop_sentinel_links {
            // `sentinelDropConnections`: every connected sentinel link.
            for m in self.masters.values_mut() {
                let name = m.cfg.name.clone();
                for (runid, s) in m.sentinels.iter_mut() {
                    if s.connected() {
                        s.link.get().cc = false;
                        s.link.get().pc = false;
                        s.link.get().pending_commands = 0;
                        actions.push(Action::Disconnect {
                            instance: Who::Sentinel(runid.clone()).id(&name),
                            link: None,
                        });
                    }
                }
            }
        }
        (Ok(()), actions)
    }

    /// `SENTINEL SIMULATE-FAILURE <flag> ...`: clears the flags, then sets
    /// each named one (`crash-after-election`, `crash-after-promotion`,
    /// case-insensitive). `HELP` stops there and asks for the list of
    /// names; an unknown word is an error. Either way the flags named
    /// before stay set, as in Redis. The failover emits
    /// [`Action::SimulatedCrash`] at the chosen point.
    pub fn simulate_failure<S: AsRef<str>>(
        &mut self,
        flags: &[S],
    ) -> Result<SimulateFailureOutcome, CommandError> {
        self.g.simulate_failure = SimulateFailure::NONE;
        for f in flags {
            let f = f.as_ref();
            if f.eq_ignore_ascii_case("crash-after-election") {
                self.g.simulate_failure |= SimulateFailure::CRASH_AFTER_ELECTION;
            } else if f.eq_ignore_ascii_case("crash-after-promotion") {
                self.g.simulate_failure |= SimulateFailure::CRASH_AFTER_PROMOTION;
            } else if f.eq_ignore_ascii_case("help") {
                return Ok(SimulateFailureOutcome::Help);
            } else {
                return Err(CommandError::UnknownFailureSimulation);
            }
        }
        Ok(SimulateFailureOutcome::Ok)
    }
}
