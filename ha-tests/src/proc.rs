//! The processes of a group: which binaries, and a child that is killed
//! and reaped when its guard drops (also after a panic in a test).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Which implementation runs the data nodes and the sentinels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impl {
    /// picket-server and picket-sentinel from this workspace's build.
    Picket,
    /// Debian's redis-server and redis-sentinel (7.0.15) from PATH.
    Redis,
}

impl Impl {
    pub fn name(self) -> &'static str {
        match self {
            Impl::Picket => "picket",
            Impl::Redis => "redis",
        }
    }
}

impl std::str::FromStr for Impl {
    type Err = String;
    fn from_str(s: &str) -> Result<Impl, String> {
        match s {
            "picket" => Ok(Impl::Picket),
            "redis" => Ok(Impl::Redis),
            _ => Err(format!("'{s}': expected picket or redis")),
        }
    }
}

/// The two programs a group runs.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub kind: Impl,
    pub server: PathBuf,
    pub sentinel: PathBuf,
}

impl Binaries {
    /// picket-server and picket-sentinel are looked for beside the running
    /// executable (target/<profile>/, also from a test in deps/), then on
    /// PATH; redis-server and redis-sentinel on PATH.
    pub fn find(kind: Impl) -> Result<Binaries> {
        let (server, sentinel) = match kind {
            Impl::Picket => ("picket-server", "picket-sentinel"),
            Impl::Redis => ("redis-server", "redis-sentinel"),
        };
        Ok(Binaries {
            kind,
            server: locate(server, kind == Impl::Picket)?,
            sentinel: locate(sentinel, kind == Impl::Picket)?,
        })
    }
}

fn locate(name: &str, beside_us: bool) -> Result<PathBuf> {
    if beside_us {
        if let Ok(exe) = std::env::current_exe() {
            let mut dir = exe.parent().map(Path::to_path_buf);
            if dir.as_ref().is_some_and(|d| d.ends_with("deps")) {
                dir = dir.and_then(|d| d.parent().map(Path::to_path_buf));
            }
            if let Some(p) = dir.map(|d| d.join(name)).filter(|p| p.exists()) {
                return Ok(p);
            }
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.exists() {
            return Ok(p);
        }
    }
    bail!(
        "{name} not found{}",
        if beside_us {
            " (build it: cargo build --release -p picket-server -p picket-sentinel)"
        } else {
            " (apt-get install redis-server redis-sentinel)"
        }
    )
}

/// A child process; SIGKILLed (after SIGCONT if paused) and reaped on drop.
pub struct Process {
    pub name: String,
    program: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
    paused: bool,
}

impl Process {
    /// Starts `program args…` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, program: &Path, args: Vec<String>, log: &Path) -> Result<Process> {
        let mut p = Process {
            name: name.to_string(),
            program: program.to_path_buf(),
            args,
            log: log.to_path_buf(),
            child: None,
            paused: false,
        };
        p.start()?;
        Ok(p)
    }

    fn start(&mut self) -> Result<()> {
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", self.program.display()))?;
        self.child = Some(child);
        self.paused = false;
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Whether the process is running (paused counts as running).
    pub fn alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    fn signal(&self, sig: libc::c_int) -> Result<()> {
        let Some(pid) = self.pid() else {
            bail!("{} is not running", self.name)
        };
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
        if rc != 0 {
            bail!("kill({pid}, {sig}): {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// kill -9, and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.paused = false;
    }

    /// SIGSTOP: the process keeps its sockets and answers nothing.
    pub fn pause(&mut self) -> Result<()> {
        self.signal(libc::SIGSTOP)?;
        self.paused = true;
        Ok(())
    }

    /// SIGCONT after [`Process::pause`].
    pub fn resume(&mut self) -> Result<()> {
        self.signal(libc::SIGCONT)?;
        self.paused = false;
        Ok(())
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if self.paused {
            let _ = self.resume();
        }
        if self.signal(libc::SIGTERM).is_ok() {
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if !self.alive() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
    }

    /// Starts the same command line again (after [`Process::kill`]).
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        self.start()
    }

    pub fn log(&self) -> &Path {
        &self.log
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.paused {
            let _ = self.signal(libc::SIGCONT);
        }
        self.kill();
    }
}
