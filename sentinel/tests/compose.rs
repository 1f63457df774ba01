//! `compose/` (the Docker group: 1 master, 2 replicas, 3 sentinels) and
//! `sentinel.conf.example`, checked against each other and against the
//! binaries they are written for.
//!
//! - The compose file, its config files, the Dockerfile and `.dockerignore`
//!   must agree (static checks, no Docker needed): roles, files, static
//!   addresses, ports, announce settings, quorum.
//! - Each compose config loads in picket-server / picket-sentinel and in
//!   Debian's redis-server / redis-sentinel 7.0.15 and reports the settings
//!   it states; `sentinel.conf.example` loads alike in both sentinels, names
//!   every directive picket-sentinel reads, and its commented-out defaults
//!   are the real defaults.
//! - The whole group runs without Docker, once with Picket's binaries and
//!   once with Redis's: every service's command, mounts and healthcheck as
//!   the compose file gives them, in a network namespace whose loopback
//!   carries the services' static addresses, then a failover and the old
//!   master's return.
//! - Where a Docker engine answers (`docker info`), the group is also
//!   brought up with `docker compose`; where none does, that test says on
//!   the terminal that it did not run, and why.
//!
//! Network namespaces: the compose configs name 172.29.76.x addresses and
//! fixed ports (6380-6382, 26380-26382), and the example monitors
//! 127.0.0.1:6380. Every process started from those files (and every
//! `redis-cli` talking to it) runs inside a namespace made here with
//! `unshare -n`: addresses outside its loopback are unreachable, so no
//! packet leaves the machine, and the fixed ports cannot meet anything
//! outside it. Processes on the host's loopback use free ports as usual.
//! Namespaces need root (CI runs as root); without it the tests fail, they
//! do not skip.
//!
//! Needs `redis-server`, `redis-sentinel`, `redis-cli`, `unshare`,
//! `nsenter` and `ip`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{cli, field, free_port, picket_server_bin, require_tool, wait_for, Proc, TempDir};
use picket_sentinel::config::{self as sconf, PersistedState, SystemResolver};
use yaml_rust2::{Yaml, YamlLoader};

const PICKET_SENTINEL: &str = env!("CARGO_BIN_EXE_picket-sentinel");
const MASTER_NAME: &str = "mymaster";
/// Where docker-compose.yml mounts each service's config file.
const CONF_MOUNT: &str = "/etc/picket/picket.conf";
/// The data volume's mount point (also the image's working directory).
const DATA: &str = "/data";

// ---------------------------------------------------------------------------
// The repository's files
// ---------------------------------------------------------------------------

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn compose_dir() -> PathBuf {
    repo().join("compose")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The directives of a redis.conf-style text, each split into words as
/// Redis splits them (quotes honoured); comments and blank lines skipped.
fn directives(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            picket_common::conf::split_args(l.as_bytes())
                .unwrap_or_else(|_| panic!("unbalanced quotes: {l}"))
                .into_iter()
                .map(|w| String::from_utf8_lossy(&w).into_owned())
                .collect()
        })
        .collect()
}

/// The arguments of the last `name` directive (Redis applies the last).
fn directive(dirs: &[Vec<String>], name: &str) -> Option<Vec<String>> {
    dirs.iter()
        .rev()
        .find(|d| d[0].eq_ignore_ascii_case(name))
        .map(|d| d[1..].to_vec())
}

fn sentinel_state(text: &str) -> PersistedState {
    sconf::parse(text, &SystemResolver)
        .unwrap_or_else(|e| panic!("picket-sentinel refuses the config: {e}\n{text}"))
        .1
}

// ---------------------------------------------------------------------------
// docker-compose.yml, read into what the checks need
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Server,
    Sentinel,
}

/// One service of docker-compose.yml.
#[derive(Debug, Clone)]
struct Service {
    name: String,
    /// Server or sentinel, from the binary its command runs.
    kind: Kind,
    /// Its static address on the compose network.
    ip: String,
    /// `command`, as the container runs it.
    command: Vec<String>,
    /// Bind mounts: (host path, container path, read-only).
    binds: Vec<(PathBuf, String, bool)>,
    /// Named volumes: (volume, container path).
    volumes: Vec<(String, String)>,
    /// Published ports: (host address, host port, container port).
    ports: Vec<(String, u16, u16)>,
    /// `healthcheck.test`, `$$` already turned into `$` as compose does.
    healthcheck: Vec<String>,
    /// The host file mounted on [`CONF_MOUNT`].
    conf: PathBuf,
    /// `port` in that file.
    port: u16,
}

impl Service {
    fn addr(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    fn conf_text(&self) -> String {
        read(&self.conf)
    }
}

struct Compose {
    doc: Yaml,
    services: Vec<Service>,
}

impl Compose {
    fn load() -> Compose {
        let text = read(&compose_dir().join("docker-compose.yml"));
        let mut docs = YamlLoader::load_from_str(&text).expect("docker-compose.yml is YAML");
        assert_eq!(docs.len(), 1, "one YAML document");
        let doc = docs.remove(0);
        let services = doc["services"]
            .as_hash()
            .expect("a services mapping")
            .iter()
            .map(|(k, v)| parse_service(k.as_str().expect("service names are strings"), v))
            .collect();
        Compose { doc, services }
    }

    fn service(&self, name: &str) -> &Service {
        self.services
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no service {name}"))
    }

    fn master(&self) -> &Service {
        self.service("master")
    }

    fn replicas(&self) -> Vec<&Service> {
        self.services
            .iter()
            .filter(|s| s.kind == Kind::Server && s.name != "master")
            .collect()
    }

    fn sentinels(&self) -> Vec<&Service> {
        self.services
            .iter()
            .filter(|s| s.kind == Kind::Sentinel)
            .collect()
    }
}

fn strings(y: &Yaml, what: &str) -> Vec<String> {
    y.as_vec()
        .unwrap_or_else(|| panic!("{what} is a list"))
        .iter()
        .map(|v| match v {
            Yaml::String(s) => s.clone(),
            Yaml::Integer(i) => i.to_string(),
            other => panic!("{what}: {other:?} is not a string"),
        })
        .collect()
}

fn parse_service(name: &str, y: &Yaml) -> Service {
    let command = strings(&y["command"], &format!("{name}.command"));
    let kind = match command.last().map(String::as_str) {
        Some(s) if s.contains("exec picket-server ") => Kind::Server,
        Some(s) if s.contains("exec picket-sentinel ") => Kind::Sentinel,
        _ => panic!("{name}: the command runs neither picket-server nor picket-sentinel"),
    };
    let ip = y["networks"]["picket"]["ipv4_address"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: no static address on the picket network"))
        .to_string();
    let mut binds = Vec::new();
    let mut volumes = Vec::new();
    for v in strings(&y["volumes"], &format!("{name}.volumes")) {
        let parts: Vec<&str> = v.split(':').collect();
        assert!(
            (2..=3).contains(&parts.len()),
            "{name}: volume {v} is not source:target[:mode]"
        );
        let ro = parts.get(2) == Some(&"ro");
        if parts[0].starts_with('.') || parts[0].starts_with('/') {
            binds.push((compose_dir().join(parts[0]), parts[1].to_string(), ro));
        } else {
            volumes.push((parts[0].to_string(), parts[1].to_string()));
        }
    }
    let ports = strings(&y["ports"], &format!("{name}.ports"))
        .iter()
        .map(|p| {
            let parts: Vec<&str> = p.split(':').collect();
            assert_eq!(parts.len(), 3, "{name}: port {p} is not host-ip:port:port");
            (
                parts[0].to_string(),
                parts[1].parse().unwrap(),
                parts[2].parse().unwrap(),
            )
        })
        .collect();
    let healthcheck = strings(&y["healthcheck"]["test"], &format!("{name}.healthcheck"))
        .into_iter()
        .map(|s| s.replace("$$", "$"))
        .collect();
    let conf = binds
        .iter()
        .find(|(_, target, _)| target == CONF_MOUNT)
        .unwrap_or_else(|| panic!("{name}: nothing mounted on {CONF_MOUNT}"))
        .0
        .clone();
    let port = directive(&directives(&read(&conf)), "port")
        .unwrap_or_else(|| panic!("{}: no port", conf.display()))[0]
        .parse()
        .unwrap();
    Service {
        name: name.to_string(),
        kind,
        ip,
        command,
        binds,
        volumes,
        ports,
        healthcheck,
        conf,
        port,
    }
}

fn parse_subnet(s: &str) -> (u32, u32) {
    let (net, len) = s.split_once('/').expect("subnet as a.b.c.d/len");
    let len: u32 = len.parse().unwrap();
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    (u32::from(net.parse::<Ipv4Addr>().unwrap()) & mask, mask)
}

// ---------------------------------------------------------------------------
// Static checks
// ---------------------------------------------------------------------------

#[test]
fn compose_file_describes_one_master_two_replicas_three_sentinels() {
    let c = Compose::load();
    let names: Vec<&str> = c.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "master",
            "replica-1",
            "replica-2",
            "sentinel-1",
            "sentinel-2",
            "sentinel-3"
        ]
    );
    assert_eq!(c.master().kind, Kind::Server);
    assert_eq!(c.replicas().len(), 2);
    assert_eq!(c.sentinels().len(), 3);

    // one image, built once (by "master") from the repository root
    let builders: Vec<&str> = c
        .services
        .iter()
        .filter(|s| !c.doc["services"][s.name.as_str()]["build"].is_badvalue())
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(builders, ["master"], "exactly one service builds the image");
    let build = &c.doc["services"]["master"]["build"];
    let context = compose_dir().join(build["context"].as_str().expect("build.context"));
    assert_eq!(
        fs::canonicalize(&context).unwrap(),
        fs::canonicalize(repo()).unwrap(),
        "the build context is the repository root"
    );
    let dockerfile = context.join(build["dockerfile"].as_str().expect("build.dockerfile"));
    assert!(dockerfile.is_file(), "{} is missing", dockerfile.display());
    assert_eq!(
        fs::canonicalize(&dockerfile).unwrap(),
        fs::canonicalize(compose_dir().join("Dockerfile")).unwrap()
    );
    let image = c.doc["services"]["master"]["image"]
        .as_str()
        .expect("image");
    for s in &c.services {
        let y = &c.doc["services"][s.name.as_str()];
        assert_eq!(y["image"].as_str(), Some(image), "{}: same image", s.name);
        if s.name != "master" {
            // built by "master", never pulled from a registry
            assert_eq!(y["pull_policy"].as_str(), Some("never"), "{}", s.name);
            assert_eq!(
                y["depends_on"]["master"]["condition"].as_str(),
                Some("service_healthy"),
                "{} waits for a healthy master",
                s.name
            );
        }
    }

    // the network: a bridge with a fixed subnet, one static address each
    let net = &c.doc["networks"]["picket"];
    assert_eq!(net["driver"].as_str(), Some("bridge"));
    let subnet = net["ipam"]["config"][0]["subnet"]
        .as_str()
        .expect("networks.picket.ipam.config[0].subnet");
    let (base, mask) = parse_subnet(subnet);
    let mut ips = BTreeSet::new();
    for s in &c.services {
        let ip = u32::from(s.ip.parse::<Ipv4Addr>().unwrap());
        assert_eq!(ip & mask, base, "{}: {} is outside {subnet}", s.name, s.ip);
        // not the network address, Docker's gateway (the first host) or
        // the broadcast address
        assert!(
            ip > base + 1 && ip < base | !mask,
            "{}: {} is reserved in {subnet}",
            s.name,
            s.ip
        );
        assert!(ips.insert(s.ip.clone()), "{}: {} is taken", s.name, s.ip);
    }

    // files, volumes, ports, healthchecks, commands
    let declared: BTreeSet<String> = c.doc["volumes"]
        .as_hash()
        .expect("top-level volumes")
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let mut ports = BTreeSet::new();
    let mut vols = BTreeSet::new();
    for s in &c.services {
        for (src, target, ro) in &s.binds {
            assert!(src.is_file(), "{}: {} is missing", s.name, src.display());
            assert!(ro, "{}: {target} should be mounted read-only", s.name);
        }
        assert_eq!(s.binds.len(), 1, "{}: only the config file is bind-mounted (the copy in /data is what the process rewrites)", s.name);
        assert_eq!(s.volumes.len(), 1, "{}: one data volume", s.name);
        let (vol, target) = &s.volumes[0];
        assert_eq!(target, DATA, "{}", s.name);
        assert!(
            declared.contains(vol),
            "{}: volume {vol} is not declared",
            s.name
        );
        assert!(
            vols.insert(vol.clone()),
            "{}: volume {vol} is shared",
            s.name
        );
        // published 1:1 on the host's loopback
        assert_eq!(
            s.ports,
            [("127.0.0.1".to_string(), s.port, s.port)],
            "{}",
            s.name
        );
        assert!(ports.insert(s.port), "{}: port {} is taken", s.name, s.port);
        assert_eq!(s.healthcheck[..3], ["CMD", "bash", "-c"], "{}", s.name);
        assert!(
            s.healthcheck[3].contains(&format!("/dev/tcp/127.0.0.1/{}", s.port)),
            "{}: the healthcheck pings another port",
            s.name
        );
        let binary = match s.kind {
            Kind::Server => "picket-server",
            Kind::Sentinel => "picket-sentinel",
        };
        assert_eq!(s.command[..2], ["bash", "-c"], "{}", s.name);
        assert_eq!(
            s.command[2],
            format!("[ -e {DATA}/picket.conf ] || cp {CONF_MOUNT} {DATA}/picket.conf; exec {binary} {DATA}/picket.conf"),
            "{}: copies its config into the volume once, then runs from the copy",
            s.name
        );
    }
    assert_eq!(vols, declared, "every declared volume is used");
}

#[test]
fn compose_configs_point_at_the_compose_addresses() {
    let c = Compose::load();
    let master = c.master();
    for s in c.services.iter().filter(|s| s.kind == Kind::Server) {
        let d = directives(&s.conf_text());
        let get = |n: &str| directive(&d, n).map(|v| v.join(" "));
        assert_eq!(get("replica-announce-ip"), Some(s.ip.clone()), "{}", s.name);
        assert_eq!(
            get("replica-announce-port"),
            Some(s.port.to_string()),
            "{}",
            s.name
        );
        assert_eq!(get("protected-mode").as_deref(), Some("no"), "{}", s.name);
        assert!(
            get("bind").is_some(),
            "{}: must listen beyond loopback",
            s.name
        );
        assert_eq!(
            get("dir"),
            None,
            "{}: the image's working directory is the data dir",
            s.name
        );
        let replicaof = get("replicaof").or_else(|| get("slaveof"));
        if s.name == "master" {
            assert_eq!(replicaof, None);
        } else {
            assert_eq!(
                replicaof,
                Some(format!("{} {}", master.ip, master.port)),
                "{}",
                s.name
            );
        }
    }
    let sentinels = c.sentinels();
    for s in &sentinels {
        let text = s.conf_text();
        let st = sentinel_state(&text);
        assert_eq!(st.masters.len(), 1, "{}", s.name);
        let m = &st.masters[0];
        assert_eq!(m.name, MASTER_NAME);
        assert_eq!(
            format!("{}:{}", m.addr.ip, m.addr.port),
            master.addr(),
            "{}",
            s.name
        );
        assert_eq!(m.quorum, 2, "{}", s.name);
        assert!(
            m.quorum as usize > sentinels.len() / 2,
            "the quorum is a majority of the sentinels"
        );
        assert_eq!(st.announce_ip.as_deref(), Some(s.ip.as_str()), "{}", s.name);
        assert_eq!(
            st.announce_port, 0,
            "{}: the port is the same inside and out",
            s.name
        );
        assert!(
            !st.resolve_hostnames && !st.announce_hostnames,
            "{}",
            s.name
        );
        assert!(
            st.myid.is_empty(),
            "{}: each sentinel must make its own id",
            s.name
        );
        let d = directives(&text);
        assert_eq!(directive(&d, "dir"), None, "{}", s.name);
        assert!(m.down_after_ms > 0 && m.failover_timeout_ms > 0);
    }
    // the three sentinels watch the master the same way
    let first = sentinel_state(&sentinels[0].conf_text()).masters;
    for s in &sentinels[1..] {
        assert_eq!(sentinel_state(&s.conf_text()).masters, first, "{}", s.name);
    }
}

/// The Dockerfile's logical lines (continuations joined).
fn dockerfile_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('#') || (line.is_empty() && cur.is_empty()) {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
        } else {
            cur.push_str(line);
            out.push(std::mem::take(&mut cur));
        }
    }
    out
}

fn workspace_members() -> Vec<String> {
    let text = read(&repo().join("Cargo.toml"));
    let start = text.find("members").expect("workspace members");
    let list = &text[start..];
    let list = &list[list.find('[').unwrap() + 1..list.find(']').unwrap()];
    list.split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

#[test]
fn dockerfile_builds_both_binaries_from_paths_that_exist() {
    let lines = dockerfile_lines(&read(&compose_dir().join("Dockerfile")));
    let froms: Vec<&String> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(
        froms.len(),
        2,
        "a builder stage and a runtime stage: {froms:?}"
    );
    assert!(
        froms[0].starts_with("FROM rust:")
            && froms[0].contains("bookworm")
            && froms[0].ends_with(" AS builder"),
        "{}",
        froms[0]
    );
    assert_eq!(froms[1], "FROM debian:bookworm-slim");
    let runtime_at = lines.iter().position(|l| l == froms[1]).unwrap();
    let (builder, runtime) = lines.split_at(runtime_at);

    // what the builder copies exists, and it is every workspace member
    let mut copied = BTreeSet::new();
    for l in builder.iter().filter(|l| l.starts_with("COPY ")) {
        let words: Vec<&str> = l.split_whitespace().skip(1).collect();
        assert!(!words[0].starts_with("--from"), "{l}");
        for src in &words[..words.len() - 1] {
            assert!(repo().join(src).exists(), "{l}: {src} does not exist");
            copied.insert(src.trim_end_matches('/').to_string());
        }
    }
    for m in workspace_members() {
        assert!(
            copied.contains(&m),
            "the builder does not copy workspace member {m}"
        );
    }
    for f in ["Cargo.toml", "Cargo.lock"] {
        assert!(copied.contains(f), "the builder does not copy {f}");
    }
    let build = builder
        .iter()
        .find(|l| l.contains("cargo build"))
        .expect("a cargo build step");
    for w in [
        "--release",
        "--locked",
        "-p picket-server",
        "-p picket-sentinel",
    ] {
        assert!(build.contains(w), "cargo build without {w}: {build}");
    }

    // the runtime stage: both binaries, a non-root user, /data
    let bins = runtime
        .iter()
        .find(|l| l.starts_with("COPY --from=builder "))
        .expect("the binaries copied from the builder");
    for b in ["picket-server", "picket-sentinel"] {
        assert!(bins.contains(&format!("/{b} ")), "{bins} lacks {b}");
    }
    assert!(bins.ends_with(" /usr/local/bin/"), "{bins}: onto PATH");
    let user = runtime
        .iter()
        .rfind(|l| l.starts_with("USER "))
        .expect("a USER");
    assert!(!["USER root", "USER 0"].contains(&user.as_str()), "{user}");
    assert!(runtime.iter().any(|l| l == "VOLUME /data"));
    // the configs set no `dir`: the working directory is the data dir
    assert!(runtime.iter().any(|l| l == "WORKDIR /data"));
    assert!(
        !runtime
            .iter()
            .any(|l| l.starts_with("COPY ") && !l.starts_with("COPY --from=builder ")),
        "only the binaries go into the runtime image"
    );

    let ignore = read(&repo().join(".dockerignore"));
    let ignored: BTreeSet<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches('/'))
        .collect();
    for p in ["target", ".git"] {
        assert!(ignored.contains(p), ".dockerignore does not exclude {p}");
    }
}

// ---------------------------------------------------------------------------
// Processes: network namespaces, servers, sentinels
// ---------------------------------------------------------------------------

fn require_root() {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert_eq!(
        uid, "0",
        "these tests make network namespaces (unshare -n) and need root, as CI runs them"
    );
}

/// A network namespace of the test's own: loopback up, carrying `addrs`
/// too. A holder process keeps it alive (killed on drop); processes and
/// `redis-cli` enter it with `nsenter`.
struct NetNs {
    holder: Proc,
}

impl NetNs {
    fn new(addrs: &[&str]) -> NetNs {
        require_root();
        for tool in ["unshare", "nsenter", "ip", "redis-cli"] {
            require_tool(tool);
        }
        let mut script = String::from("set -e; ip link set lo up; ");
        for a in addrs {
            script.push_str(&format!("ip addr add {a}/32 dev lo; "));
        }
        script.push_str("echo ready; exec sleep 3600");
        let mut child = Command::new("unshare")
            .args(["--net", "--", "sh", "-c", &script])
            .stdout(Stdio::piped())
            .spawn()
            .expect("unshare");
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        let holder = Proc { child, port: 0 };
        assert_eq!(line.trim(), "ready", "no network namespace (unshare -n)");
        NetNs { holder }
    }

    fn net_arg(&self) -> String {
        format!("--net=/proc/{}/ns/net", self.holder.child.id())
    }

    /// `program` run inside the namespace (nsenter execs it: the child's
    /// pid is the program's).
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(self.net_arg()).arg("--").arg(program);
        c
    }

    fn cli(&self, ip: &str, port: u16, args: &[&str]) -> String {
        let out = Command::new("timeout")
            .args(["5", "nsenter", &self.net_arg(), "--", "redis-cli", "-h", ip])
            .args(["-p", &port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts a sentinel on `conf` listening on 127.0.0.1:`port` of the
    /// namespace; its output goes to `<conf>.log`.
    fn sentinel(&self, bin: &str, conf: &Path, port: u16) -> Proc {
        let log = fs::File::create(conf.with_extension("log")).unwrap();
        let child = self
            .command(bin)
            .arg(conf)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .current_dir(conf.parent().unwrap())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let p = Proc { child, port };
        wait_for("a sentinel to answer", Duration::from_secs(10), || {
            self.cli("127.0.0.1", port, &["PING"]).trim() == "PONG"
        });
        p
    }
}

/// A server on the host's loopback from a compose config, with overrides
/// for the port, bind address and directory (and `extra`).
fn server_from_conf(bin: &Path, conf: &Path, dir: &Path, extra: &[&str]) -> Proc {
    fs::create_dir_all(dir).unwrap();
    let port = free_port();
    let log = fs::File::create(dir.join("server.log")).unwrap();
    let child = Command::new(bin)
        .arg(conf)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let p = Proc { child, port };
    wait_for(
        &format!("{} on {}", bin.display(), conf.display()),
        Duration::from_secs(10),
        || cli(port, &["PING"]).trim() == "PONG",
    );
    p
}

/// `CONFIG GET name` as one string.
fn config_get(port: u16, name: &str) -> String {
    let out = cli(port, &["CONFIG", "GET", name]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&name), "CONFIG GET {name}: {out}");
    lines.get(1).unwrap_or(&"").to_string()
}

/// A flat `field value ...` reply (redis-cli's output) as a map.
fn fields(reply: &str) -> BTreeMap<String, String> {
    let lines: Vec<&str> = reply.lines().collect();
    lines
        .chunks(2)
        .filter(|kv| kv.len() == 2)
        .map(|kv| (kv[0].to_string(), kv[1].to_string()))
        .collect()
}

/// The records of a SENTINEL REPLICAS/SENTINELS reply (each opens with
/// its `name` field).
fn records(reply: &str) -> Vec<BTreeMap<String, String>> {
    let lines: Vec<&str> = reply.lines().collect();
    let mut out: Vec<BTreeMap<String, String>> = Vec::new();
    for kv in lines.chunks(2).filter(|kv| kv.len() == 2) {
        if kv[0] == "name" {
            out.push(BTreeMap::new());
        }
        if let Some(r) = out.last_mut() {
            r.insert(kv[0].to_string(), kv[1].to_string());
        }
    }
    out
}

/// What two sentinels reading the same config must agree on: SENTINEL
/// MASTER's field names (in order) and the values that do not depend on
/// timing or identity.
type MasterView = (Vec<String>, BTreeMap<String, String>);

/// [`MasterView`] of a SENTINEL MASTER reply.
fn master_view(reply: &str) -> MasterView {
    const VARYING: &[&str] = &[
        "runid",
        "flags",
        "link-pending-commands",
        "link-refcount",
        "last-ping-sent",
        "last-ok-ping-reply",
        "last-ping-reply",
        "info-refresh",
        "role-reported-time",
    ];
    let names = reply
        .lines()
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|kv| kv[0].to_string())
        .collect();
    let mut f = fields(reply);
    f.retain(|k, _| !VARYING.contains(&k.as_str()));
    (names, f)
}

// ---------------------------------------------------------------------------
// The compose configs in the real binaries
// ---------------------------------------------------------------------------

#[test]
fn compose_server_configs_load_in_picket_server_and_redis_server() {
    require_tool("redis-server");
    let c = Compose::load();
    let master = c.master();
    let replicas = c.replicas();
    let picket = picket_server_bin();
    let redis = PathBuf::from("redis-server");
    for (label, bin) in [("picket-server", &picket), ("redis-server", &redis)] {
        let tmp = TempDir::new(&format!("compose-servers-{label}"));
        let check = |s: &Service, port: u16| {
            assert_eq!(
                config_get(port, "replica-announce-ip"),
                s.ip,
                "{label} {}",
                s.name
            );
            assert_eq!(
                config_get(port, "replica-announce-port"),
                s.port.to_string(),
                "{label} {}",
                s.name
            );
            assert_eq!(
                config_get(port, "protected-mode"),
                "no",
                "{label} {}",
                s.name
            );
            assert_eq!(config_get(port, "appendonly"), "yes", "{label} {}", s.name);
        };
        let m = server_from_conf(bin, &master.conf, &tmp.path().join(&master.name), &[]);
        check(master, m.port);
        assert!(cli(m.port, &["ROLE"]).starts_with("master"), "{label}");
        // the replicas replicate a local master instead of the compose
        // address (the override comes after the file's replicaof line)
        let mut procs = Vec::new();
        for r in &replicas {
            let p = server_from_conf(
                bin,
                &r.conf,
                &tmp.path().join(&r.name),
                &["--replicaof", "127.0.0.1", &m.port.to_string()],
            );
            check(r, p.port);
            procs.push(p);
        }
        // the master lists its replicas under their announced addresses
        wait_for(
            &format!("{label}: both replicas online under their announced addresses"),
            Duration::from_secs(20),
            || {
                let info = cli(m.port, &["INFO", "replication"]);
                replicas
                    .iter()
                    .all(|r| info.contains(&format!("ip={},port={},state=online", r.ip, r.port)))
            },
        );
    }
}

#[test]
fn compose_sentinel_configs_load_in_picket_sentinel_and_redis_sentinel() {
    require_tool("redis-sentinel");
    let c = Compose::load();
    let master = c.master();
    let tmp = TempDir::new("compose-sentinels");
    // the sentinels try to reach 172.29.76.10: only inside the namespace
    let ns = NetNs::new(&[]);
    for s in c.sentinels() {
        let st = sentinel_state(&s.conf_text());
        let want = &st.masters[0];
        let mut views = Vec::new();
        for bin in [PICKET_SENTINEL, "redis-sentinel"] {
            let label = Path::new(bin)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let dir = tmp.path().join(format!("{}-{label}", s.name));
            fs::create_dir_all(&dir).unwrap();
            let conf = dir.join("sentinel.conf");
            fs::copy(&s.conf, &conf).unwrap();
            let port = free_port();
            let _p = ns.sentinel(bin, &conf, port);
            let reply = ns.cli("127.0.0.1", port, &["SENTINEL", "MASTER", MASTER_NAME]);
            let f = fields(&reply);
            let at = |k: &str| f.get(k).cloned().unwrap_or_default();
            assert_eq!(at("ip"), master.ip, "{label} {}", s.name);
            assert_eq!(at("port"), master.port.to_string(), "{label} {}", s.name);
            assert_eq!(at("quorum"), "2", "{label} {}", s.name);
            assert_eq!(
                at("down-after-milliseconds"),
                want.down_after_ms.to_string()
            );
            assert_eq!(at("failover-timeout"), want.failover_timeout_ms.to_string());
            assert_eq!(at("parallel-syncs"), want.parallel_syncs.to_string());
            let cfg = fields(&ns.cli("127.0.0.1", port, &["SENTINEL", "CONFIG", "GET", "*"]));
            assert_eq!(cfg.get("announce-ip"), Some(&s.ip), "{label} {}", s.name);
            views.push((master_view(&reply), cfg));
        }
        assert_eq!(
            views[0], views[1],
            "{}: picket-sentinel and redis-sentinel differ",
            s.name
        );
    }
}

// ---------------------------------------------------------------------------
// sentinel.conf.example
// ---------------------------------------------------------------------------

/// The optional directives the example shows commented out, with the
/// values the sentinels use when they are absent.
const EXAMPLE_DEFAULTS: &[&str] = &[
    "bind * -::*",
    "protected-mode no",
    "sentinel announce-ip \"\"",
    "sentinel announce-port 0",
    "sentinel resolve-hostnames no",
    "sentinel announce-hostnames no",
    "daemonize no",
    "pidfile \"\"",
    "logfile \"\"",
    "loglevel notice",
    "dir ./",
    "hz 10",
    "requirepass \"\"",
    "sentinel sentinel-user \"\"",
    "sentinel sentinel-pass \"\"",
    "sentinel deny-scripts-reconfig yes",
    "sentinel down-after-milliseconds mymaster 30000",
    "sentinel failover-timeout mymaster 180000",
    "sentinel parallel-syncs mymaster 1",
    "sentinel master-reboot-down-after-period mymaster 0",
];

/// The directives picket-sentinel reads, from its source: the `sentinel`
/// sub-directives `handle_sentinel_line` matches on (each with its
/// aliases, e.g. `known-slave` / `known-replica`), and the generic
/// directives `ServerOptions` looks up, plus `dir` and `include`.
fn supported_directives() -> Vec<Vec<String>> {
    let src = read(&repo().join("sentinel/src/config.rs"));
    let mut out: Vec<Vec<String>> = Vec::new();
    let start = src
        .find("pub fn handle_sentinel_line")
        .expect("handle_sentinel_line");
    let body = &src[start..];
    let body = &body[..body.find("\n}\n").unwrap()];
    for line in body.lines().map(str::trim) {
        if !(line.starts_with("(\"") && line.contains("=>")) {
            continue;
        }
        let arm = &line[1..line.find(',').unwrap()];
        let names: Vec<String> = arm
            .split('|')
            .map(|n| format!("sentinel {}", n.trim().trim_matches('"')))
            .collect();
        if !out.contains(&names) {
            out.push(names);
        }
    }
    let mut rest = src.as_str();
    while let Some(i) = rest.find("self.value(\"") {
        rest = &rest[i + "self.value(\"".len()..];
        out.push(vec![rest[..rest.find('"').unwrap()].to_string()]);
    }
    out.push(vec!["dir".into()]);
    out.push(vec!["include".into()]);
    assert!(out.len() > 30, "the source scan found too little: {out:?}");
    out
}

#[test]
fn example_names_every_directive_picket_sentinel_reads() {
    let text = read(&repo().join("sentinel.conf.example"));
    // every line that is, or would be once uncommented, a directive
    let mut named = BTreeSet::new();
    for line in text.lines() {
        let l = line.trim_start_matches('#').trim();
        let words: Vec<&str> = l.split_whitespace().collect();
        match words.as_slice() {
            [w, sub, ..] if w.eq_ignore_ascii_case("sentinel") => {
                named.insert(format!("sentinel {}", sub.to_ascii_lowercase()));
            }
            [w, ..] => {
                named.insert(w.to_string());
            }
            [] => {}
        }
    }
    let missing: Vec<Vec<String>> = supported_directives()
        .into_iter()
        .filter(|names| !names.iter().any(|n| named.contains(n)))
        .collect();
    assert!(
        missing.is_empty(),
        "sentinel.conf.example does not show {missing:?}"
    );
    for d in EXAMPLE_DEFAULTS {
        assert!(
            text.lines().any(|l| l == format!("# {d}")),
            "sentinel.conf.example does not show `# {d}`"
        );
    }
    // the only active lines
    let active: Vec<String> = directives(&text).iter().map(|d| d.join(" ")).collect();
    assert_eq!(
        active,
        ["port 26380", "sentinel monitor mymaster 127.0.0.1 6380 2"]
    );
}

/// Starts `bin` on a copy of `text` in the namespace; returns its
/// SENTINEL MASTER view and SENTINEL CONFIG GET * map.
fn example_view(
    ns: &NetNs,
    tmp: &Path,
    tag: &str,
    bin: &str,
    text: &str,
) -> (MasterView, BTreeMap<String, String>) {
    let dir = tmp.join(tag);
    fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("sentinel.conf");
    fs::write(&conf, text).unwrap();
    let port = free_port();
    let _p = ns.sentinel(bin, &conf, port);
    let reply = ns.cli("127.0.0.1", port, &["SENTINEL", "MASTER", MASTER_NAME]);
    let cfg = fields(&ns.cli("127.0.0.1", port, &["SENTINEL", "CONFIG", "GET", "*"]));
    assert_eq!(cfg.len(), 6, "{tag}: {cfg:?}");
    (master_view(&reply), cfg)
}

#[test]
fn example_loads_alike_in_picket_sentinel_and_redis_sentinel() {
    require_tool("redis-sentinel");
    let text = read(&repo().join("sentinel.conf.example"));
    let tmp = TempDir::new("example");
    // the example monitors 127.0.0.1:6380: only inside the namespace
    let ns = NetNs::new(&[]);
    let ours = example_view(&ns, tmp.path(), "picket", PICKET_SENTINEL, &text);
    let real = example_view(&ns, tmp.path(), "redis", "redis-sentinel", &text);
    assert_eq!(
        ours, real,
        "picket-sentinel and redis-sentinel read the example differently"
    );
    let f = &ours.0 .1;
    for (k, v) in [
        ("name", MASTER_NAME),
        ("ip", "127.0.0.1"),
        ("port", "6380"),
        ("quorum", "2"),
        ("down-after-milliseconds", "30000"),
        ("failover-timeout", "180000"),
        ("parallel-syncs", "1"),
    ] {
        assert_eq!(f.get(k).map(String::as_str), Some(v), "{k}");
    }

    // the commented-out lines are the defaults: uncommented, nothing changes
    let mut uncommented = text.clone();
    for d in EXAMPLE_DEFAULTS {
        uncommented = uncommented.replace(&format!("\n# {d}\n"), &format!("\n{d}\n"));
    }
    assert_eq!(directives(&uncommented).len(), 2 + EXAMPLE_DEFAULTS.len());
    assert_eq!(sentinel_state(&uncommented), sentinel_state(&text));
    let ours_d = example_view(
        &ns,
        tmp.path(),
        "picket-defaults",
        PICKET_SENTINEL,
        &uncommented,
    );
    let real_d = example_view(
        &ns,
        tmp.path(),
        "redis-defaults",
        "redis-sentinel",
        &uncommented,
    );
    assert_eq!(
        ours_d, ours,
        "picket-sentinel: a commented default is not the default"
    );
    assert_eq!(
        real_d, real,
        "redis-sentinel: a commented default is not the default"
    );
}

// ---------------------------------------------------------------------------
// The whole group without Docker
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Impl {
    Picket,
    Redis,
}

/// A directory to put first on PATH so that the compose commands'
/// `picket-server` / `picket-sentinel` run `imp`'s binaries.
fn binaries_dir(tmp: &Path, imp: Impl) -> PathBuf {
    let dir = tmp.join("bin");
    fs::create_dir_all(&dir).unwrap();
    match imp {
        Impl::Picket => {
            std::os::unix::fs::symlink(picket_server_bin(), dir.join("picket-server")).unwrap();
            std::os::unix::fs::symlink(PICKET_SENTINEL, dir.join("picket-sentinel")).unwrap();
        }
        Impl::Redis => {
            // redis-sentinel must keep its own name (argv[0] picks the mode)
            for (name, real) in [
                ("picket-server", "redis-server"),
                ("picket-sentinel", "redis-sentinel"),
            ] {
                let p = dir.join(name);
                fs::write(&p, format!("#!/bin/sh\nexec {real} \"$@\"\n")).unwrap();
                let mut perms = fs::metadata(&p).unwrap().permissions();
                std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
                fs::set_permissions(&p, perms).unwrap();
            }
        }
    }
    dir
}

/// One compose service run as its container would run it: its command,
/// with the container's paths mapped to host paths (the config file's
/// bind mount, the data volume as `<tmp>/<volume>`), working in the data
/// directory (the image's WORKDIR), inside the namespace.
struct Runner<'a> {
    ns: &'a NetNs,
    tmp: &'a Path,
    path: String,
}

impl Runner<'_> {
    fn data_dir(&self, s: &Service) -> PathBuf {
        self.tmp.join(&s.volumes[0].0)
    }

    fn start(&self, s: &Service) -> Proc {
        let data = self.data_dir(s);
        fs::create_dir_all(&data).unwrap();
        // map container paths to host paths in one pass (placeholders
        // first, so a host path is never mapped again)
        let mut mounts: Vec<(String, PathBuf)> = s
            .binds
            .iter()
            .map(|(src, target, _)| (target.clone(), src.clone()))
            .collect();
        mounts.push((DATA.to_string(), data.clone()));
        let mut script = s.command[2].clone();
        for (i, (target, _)) in mounts.iter().enumerate() {
            script = script.replace(target.as_str(), &format!("\u{1}{i}\u{1}"));
        }
        for (i, (_, host)) in mounts.iter().enumerate() {
            script = script.replace(&format!("\u{1}{i}\u{1}"), &host.display().to_string());
        }
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.tmp.join(format!("{}.log", s.name)))
            .unwrap();
        let child = self
            .ns
            .command(&s.command[0])
            .arg(&s.command[1])
            .arg(&script)
            .current_dir(&data)
            .env("PATH", &self.path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Proc {
            child,
            port: s.port,
        }
    }

    /// Runs the service's healthcheck (`CMD` form) until it passes.
    fn wait_healthy(&self, s: &Service) {
        wait_for(
            &format!("{} to be healthy", s.name),
            Duration::from_secs(20),
            || {
                self.ns
                    .command(&s.healthcheck[1])
                    .args(&s.healthcheck[2..])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|st| st.success())
            },
        );
    }

    fn cli(&self, s: &Service, args: &[&str]) -> String {
        self.ns.cli(&s.ip, s.port, args)
    }
}

fn run_group_without_docker(imp: Impl, tag: &str) {
    require_tool("redis-server");
    require_tool("redis-sentinel");
    let c = Compose::load();
    let tmp = TempDir::new(tag);
    let ips: Vec<&str> = c.services.iter().map(|s| s.ip.as_str()).collect();
    let ns = NetNs::new(&ips);
    let path = format!(
        "{}:{}",
        binaries_dir(tmp.path(), imp).display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = Runner {
        ns: &ns,
        tmp: tmp.path(),
        path,
    };
    let sources: Vec<(PathBuf, String)> = c
        .services
        .iter()
        .map(|s| (s.conf.clone(), s.conf_text()))
        .collect();

    // up: the master first (the others depend on its health)
    let master = c.master();
    let replicas = c.replicas();
    let sentinels = c.sentinels();
    let mut procs: BTreeMap<String, Proc> = BTreeMap::new();
    procs.insert(master.name.clone(), run.start(master));
    run.wait_healthy(master);
    for s in c.services.iter().filter(|s| s.name != master.name) {
        procs.insert(s.name.clone(), run.start(s));
    }
    for s in &c.services {
        run.wait_healthy(s);
    }

    // every sentinel finds the whole group under the announced addresses
    let replica_addrs: BTreeSet<String> = replicas.iter().map(|r| r.addr()).collect();
    wait_for(
        "every sentinel to know both replicas and the two other sentinels",
        Duration::from_secs(30),
        || {
            sentinels.iter().all(|s| {
                let f = fields(&run.cli(s, &["SENTINEL", "MASTER", MASTER_NAME]));
                f.get("num-slaves").map(String::as_str) == Some("2")
                    && f.get("num-other-sentinels").map(String::as_str) == Some("2")
            })
        },
    );
    for s in &sentinels {
        let addr = run.cli(s, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME]);
        assert_eq!(
            addr.lines().collect::<Vec<_>>().join(":"),
            master.addr(),
            "{}",
            s.name
        );
        let found: BTreeSet<String> = records(&run.cli(s, &["SENTINEL", "REPLICAS", MASTER_NAME]))
            .iter()
            .map(|r| format!("{}:{}", r["ip"], r["port"]))
            .collect();
        assert_eq!(found, replica_addrs, "{}", s.name);
        let peers: BTreeSet<String> = records(&run.cli(s, &["SENTINEL", "SENTINELS", MASTER_NAME]))
            .iter()
            .map(|r| format!("{}:{}", r["ip"], r["port"]))
            .collect();
        let want: BTreeSet<String> = sentinels
            .iter()
            .filter(|o| o.name != s.name)
            .map(|o| o.addr())
            .collect();
        assert_eq!(
            peers, want,
            "{}: the sentinels announce their static addresses",
            s.name
        );
    }

    // docker compose kill master (SIGKILL): one replica is promoted
    procs.get_mut(&master.name).unwrap().kill();
    let mut promoted = String::new();
    wait_for(
        "the sentinels to agree on a promoted replica",
        Duration::from_secs(90),
        || {
            let addrs: BTreeSet<String> = sentinels
                .iter()
                .map(|s| {
                    run.cli(s, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME])
                        .lines()
                        .collect::<Vec<_>>()
                        .join(":")
                })
                .collect();
            let agreed = addrs.len() == 1 && replica_addrs.contains(addrs.first().unwrap());
            if agreed {
                promoted = addrs.into_iter().next().unwrap();
            }
            agreed
        },
    );
    let new_master = *replicas.iter().find(|r| r.addr() == promoted).unwrap();
    let follower = *replicas.iter().find(|r| r.addr() != promoted).unwrap();
    let follows = |s: &Service| {
        let info = run.cli(s, &["INFO", "replication"]);
        info.contains(&format!("master_host:{}\r", new_master.ip))
            && info.contains(&format!("master_port:{}\r", new_master.port))
            && info.contains("master_link_status:up")
    };
    wait_for(
        "the other replica to follow the new master",
        Duration::from_secs(60),
        || follows(follower),
    );
    assert!(run.cli(new_master, &["ROLE"]).starts_with("master"));

    // the rewrites went to the copies in the data volumes
    let active = |s: &Service, name: &str| {
        let text = fs::read_to_string(run.data_dir(s).join("picket.conf")).unwrap_or_default();
        directive(&directives(&text), name).map(|v| v.join(" "))
    };
    let new_addr = format!("{} {}", new_master.ip, new_master.port);
    wait_for(
        "the servers' config files to be rewritten",
        Duration::from_secs(20),
        || {
            active(new_master, "replicaof").is_none()
                && active(follower, "replicaof").as_deref() == Some(new_addr.as_str())
        },
    );
    let monitor = format!("sentinel monitor {MASTER_NAME} {new_addr} 2");
    wait_for(
        "the sentinels' config files to be rewritten",
        Duration::from_secs(20),
        || {
            sentinels.iter().all(|s| {
                let text =
                    fs::read_to_string(run.data_dir(s).join("picket.conf")).unwrap_or_default();
                directives(&text).iter().any(|d| d.join(" ") == monitor)
            })
        },
    );

    // docker compose start master: it runs from its kept copy, comes back
    // as a master, and the sentinels turn it into a replica of the new one
    procs.insert(master.name.clone(), run.start(master));
    run.wait_healthy(master);
    wait_for(
        "the old master to follow the new one",
        Duration::from_secs(60),
        || follows(master),
    );

    // the compose files themselves were never written
    for (path, text) in sources {
        assert_eq!(read(&path), text, "{} changed", path.display());
    }
}

#[test]
fn compose_group_fails_over_without_docker_with_picket_binaries() {
    run_group_without_docker(Impl::Picket, "group-picket");
}

#[test]
fn compose_group_fails_over_without_docker_with_redis_binaries() {
    run_group_without_docker(Impl::Redis, "group-redis");
}

// ---------------------------------------------------------------------------
// With a Docker engine
// ---------------------------------------------------------------------------

/// Writes to the terminal even when the test harness captures output.
fn tell(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

/// `docker compose ... down -v` on drop.
struct ComposeProject {
    name: String,
}

impl ComposeProject {
    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .arg("compose")
            .arg("-f")
            .arg(compose_dir().join("docker-compose.yml"))
            .args(["-p", &self.name])
            .args(args)
            .output()
            .expect("docker")
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        let _ = self.docker(&["down", "-v", "--remove-orphans"]);
    }
}

#[test]
fn compose_group_under_docker_where_an_engine_is_present() {
    let info = Command::new("docker").arg("info").output();
    let engine = match &info {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr);
            tell(&format!(
                "compose_group_under_docker: NOT RUN: no Docker engine answers (`docker info`: {})",
                why.lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("failed")
                    .trim()
            ));
            false
        }
        Err(e) => {
            tell(&format!(
                "compose_group_under_docker: NOT RUN: no docker client ({e}); the group was checked without Docker instead"
            ));
            false
        }
    };
    if !engine {
        return;
    }
    let version = Command::new("docker").args(["compose", "version"]).output();
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "a Docker engine is present but `docker compose` is not: install the compose plugin"
    );
    require_tool("redis-cli");
    let c = Compose::load();
    let project = ComposeProject {
        name: format!("picket-compose-test-{}", std::process::id()),
    };
    let up = project.docker(&["up", "-d", "--build", "--wait"]);
    assert!(
        up.status.success(),
        "docker compose up failed:\n{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let master = c.master();
    // from the host, through the ports published on 127.0.0.1
    let published = |s: &Service| s.ports[0].1;
    assert_eq!(cli(published(master), &["PING"]).trim(), "PONG");
    for s in c.sentinels() {
        wait_for(
            &format!("{} to name the master", s.name),
            Duration::from_secs(60),
            || {
                let addr = cli(
                    published(s),
                    &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
                );
                addr.lines().collect::<Vec<_>>().join(":") == master.addr()
                    && field(
                        &cli(published(s), &["SENTINEL", "MASTER", MASTER_NAME]),
                        "num-other-sentinels",
                    )
                    .as_deref()
                        == Some("2")
            },
        );
    }
    tell("compose_group_under_docker: ran `docker compose up` and checked every sentinel from the host");
}
