"""The launcher that becomes sandboxed code: jail, user, rlimits, then exec.

It runs with the interpreter the code will use (``python3 -I -S -c <this source> CONFIG``),
standard library only, because under gVisor it runs inside the sandbox where the executor's
package is not visible. In order:

1. ``jail`` (netns and gvisor modes, already inside fresh mount/pid/net namespaces): a
   tmpfs root holding read-only binds of /usr and a few /etc files, the work dir (the only
   writable host path), a private /tmp, and, without gVisor, minimal /dev and a fresh /proc.
   Nothing else of the host's filesystem (state dirs, secret files, home dirs) exists in it.
2. ``runsc`` (gvisor mode): exec gVisor on that root instead of chroot; this same launcher
   runs again inside it for steps 3-5.
3. ``uid``: drop to an unprivileged uid (RLIMIT_NPROC is not enforced for uid 0).
4. ``rlimits``: CPU seconds, address space, open files, processes, file size.
5. exec the command with a fixed environment (nothing inherited from the executor); as the
   child of this launcher where the launcher is a namespace's PID 1 (``init``).
"""

import ctypes
import json
import os
import resource
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
# /etc entries programs need to start (the dynamic linker's cache, alternatives symlinks,
# Debian's python config, public CA certificates); nothing that could hold a credential.
ETC_ENTRIES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "ssl/certs",
               "python3", "python3.11", "python3.12", "mime.types", "bash.bashrc", "inputrc")
DEVICES = ("null", "zero", "full", "random", "urandom")
_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    if _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source or fstype} on {target}: {os.strerror(err)}")


def _kept_flags(path):
    # A read-only remount must keep the flags the source is locked with (user namespaces).
    f = os.statvfs(path).f_flag
    return (f & (MS_NOSUID | MS_NODEV | MS_NOEXEC)) | (os.ST_NOATIME if f & os.ST_NOATIME else 0)


def _bind(source, target, read_only):
    _mount(source, target, None, MS_BIND | MS_REC)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | _kept_flags(source)
    if read_only:
        flags |= MS_RDONLY
    if source not in ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"):
        flags |= MS_NODEV
    _mount(None, target, None, flags)


def _touch(path):
    with open(path, "a"):
        pass


def _build_root(jail):
    root = jail["root"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted here shows up on the host
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=755")
    os.mkdir(root + "/usr")
    _bind("/usr", root + "/usr", True)
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = "/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), root + host)
        elif os.path.isdir(host):
            os.mkdir(root + host)
            _bind(host, root + host, True)
    os.makedirs(root + "/etc/ssl")
    for entry in ETC_ENTRIES:
        host, inside = "/etc/" + entry, root + "/etc/" + entry
        if os.path.isdir(host):
            os.mkdir(inside)
            _bind(host, inside, True)
        elif os.path.isfile(host):
            _touch(inside)
            _bind(host, inside, True)
    uid = jail.get("uid") or 0
    with open(root + "/etc/passwd", "w") as fh:
        fh.write(f"root:x:0:0:root:/work:/bin/sh\nsandbox:x:{uid}:{uid}:sandbox:/work:/bin/sh\n")
    with open(root + "/etc/group", "w") as fh:
        fh.write(f"root:x:0:\nsandbox:x:{uid}:\n")
    with open(root + "/etc/hosts", "w") as fh:
        fh.write("127.0.0.1 localhost\n::1 localhost\n")
    os.mkdir(root + "/work")
    _bind(jail["work"], root + "/work", False)
    os.mkdir(root + "/tmp")
    _mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={jail['tmp_mb']}m,mode=1777")
    if jail.get("devices"):
        os.mkdir(root + "/dev")
        _mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID, "size=64k,mode=755")
        for dev in DEVICES:
            _touch(root + "/dev/" + dev)
            _bind("/dev/" + dev, root + "/dev/" + dev, False)
        for i, name in enumerate(("stdin", "stdout", "stderr")):
            os.symlink(f"/proc/self/fd/{i}", root + "/dev/" + name)
        os.symlink("/proc/self/fd", root + "/dev/fd")
        os.mkdir(root + "/proc")
        _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return root


def _drop_user(uid):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def _die_with_parent():
    """A change of uid clears the parent-death signal `unshare --kill-child` set on this
    namespace's PID 1: set it again, so that the namespace still ends with its unshare (which
    itself ends with the executor). Inside gVisor it may be unsupported: then gVisor's own
    end, with its unshare, ends the code."""
    PR_SET_PDEATHSIG = 1
    _libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)


def _apply_limits(limits):
    for name, value in limits.items():
        which = getattr(resource, name)
        # CPU: SIGXCPU at the soft limit, SIGKILL a second later.
        hard = value + 1 if name == "RLIMIT_CPU" else value
        resource.setrlimit(which, (value, hard))


def main():
    cfg = json.loads(sys.argv[1])
    jail = cfg.get("jail")
    if jail:
        root = _build_root(jail)
        if cfg.get("runsc"):
            # runsc's own scratch files (TMPDIR) go in the exec's dir, removed after the exec
            # even when runsc was killed (a timeout): never left in the host's /tmp.
            os.execve(cfg["runsc"][0], cfg["runsc"], {**os.environ, **cfg.get("runsc_env", {})})
        os.chroot(root)
    if cfg.get("uid") is not None and os.getuid() == 0:
        _drop_user(cfg["uid"])
        if cfg.get("init"):
            _die_with_parent()
    _apply_limits(cfg["rlimits"])
    os.chdir(cfg["cwd"])
    if cfg.get("init"):
        _run_as_init(cfg)
    os.execve(cfg["argv"][0], cfg["argv"], cfg["env"])


def _run_as_init(cfg):
    """PID 1 of a namespace gets no default signal actions, so the code runs as its child:
    its exit status (128 + N for a signal) is passed on, and when it ends the namespace
    ends with it, taking anything it left running along."""
    pid = os.fork()
    if pid == 0:
        try:
            os.execve(cfg["argv"][0], cfg["argv"], cfg["env"])
        finally:
            os._exit(127)
    while True:
        done, status = os.wait()
        if done == pid:
            os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


try:
    main()
except OSError as exc:
    sys.stderr.write(f"airlock-sandbox: cannot start the sandboxed process: {exc}\n")
    sys.exit(125)
