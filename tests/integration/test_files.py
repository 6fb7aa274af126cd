"""Files kmsd touches as root (issue 20): never through a link planted in
a directory its unprivileged user owns; configuration, token and secret
files that are not regular files are refused at once, never waited on;
`user = root` is refused like no user. The link tests need root."""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

from kmsdtest import BIN, Kmsd, free_port

KMSD = os.path.join(BIN, "kmsd")


def as_root():
    if os.geteuid() != 0:
        print("skipped: needs root")
        return False
    return True


def start(*options, config="/dev/null", timeout=10):
    """kmsd in the foreground, expected to stop by itself: (rc, log)."""
    d = tempfile.mkdtemp(prefix="kmsd-files-")
    log = os.path.join(d, "kmsd.log")
    args = [KMSD, "-f", "-c", config, "-l", f"127.0.0.1:{free_port()}",
            "-o", f"log=file:{log}"]
    for o in options:
        args += ["-o", o]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    text = p.stdout.decode(errors="replace")
    if os.path.exists(log):
        text += open(log).read()
    shutil.rmtree(d, ignore_errors=True)
    return p.returncode, text


def victim(d):
    """A root-owned 0600 file an attacker would like to own."""
    path = os.path.join(d, "victim")
    with open(path, "w") as f:
        f.write("root's secret\n")
    os.chmod(path, 0o600)
    return path


def unchanged(path):
    st = os.stat(path)
    return st.st_uid == 0 and st.st_mode & 0o777 == 0o600 and open(path).read() == "root's secret\n"


def test_state_files_are_never_chowned_through_a_link():
    if not as_root():
        return
    nobody = pwd.getpwnam("nobody")
    d = tempfile.mkdtemp(prefix="kmsd-links-")
    os.chmod(d, 0o755)
    try:
        secret = victim(d)
        state = os.path.join(d, "state")
        os.mkdir(state)
        os.chown(state, nobody.pw_uid, nobody.pw_gid)  # the user's own directory
        db = os.path.join(state, "clients.db")
        for suffix in ("", "-wal", "-shm"):
            for kind in ("symlink", "hardlink"):
                planted = db + suffix
                if kind == "symlink":
                    os.symlink(secret, planted)
                else:
                    os.link(secret, planted)
                rc, out = start("user=nobody", f"store=sqlite:{db}")
                assert rc == 1, out
                assert ("symbolic link" if kind == "symlink" else "one link") in out, out
                assert unchanged(secret), f"{kind} {planted} gave the file away"
                os.unlink(planted)
        # a plain file left by root is still given to the user
        open(db, "w").close()
        with Kmsd("user=nobody", f"store=sqlite:{db}"):
            assert os.stat(db).st_uid == nobody.pw_uid
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_pidfile_is_never_written_through_a_link():
    if not as_root():
        return
    d = tempfile.mkdtemp(prefix="kmsd-links-")
    try:
        secret = victim(d)
        pidfile = os.path.join(d, "kmsd.pid")
        for make in (os.symlink, os.link):
            make(secret, pidfile)
            rc, out = start("store=none", "allow-root=yes", f"pidfile={pidfile}")
            assert rc == 1 and "pidfile" in out, out
            assert unchanged(secret)
            os.unlink(pidfile)
        # a stale plain pidfile (after a crash) is reused
        with open(pidfile, "w") as f:
            f.write("99999999\n")
        with Kmsd("store=none", f"pidfile={pidfile}") as k:
            assert open(pidfile).read().strip() == str(k.proc.pid)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_fifos_are_refused_at_once_as_config_token_or_secret():
    d = tempfile.mkdtemp(prefix="kmsd-fifo-")
    try:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo, 0o600)
        cases = [
            ("-c", []),  # the configuration file itself
            ("web-token-file", ["web=yes", f"web-listen=127.0.0.1:{free_port()}",
                                f"web-token-file={fifo}"]),
            ("dns-tsig-secret-file", ["dns-publish=on", "dns-zone=example.test",
                                      "dns-server=127.0.0.1:53", "dns-host=kms.example.test",
                                      "dns-tsig-name=k", f"dns-tsig-secret-file={fifo}"]),
        ]
        for what, options in cases:
            started = time.monotonic()
            rc, out = start("store=none", "allow-root=yes", *options,
                            config=fifo if what == "-c" else "/dev/null", timeout=5)
            assert rc == 1 and f"{fifo}: not a regular file" in out, (what, out)
            assert time.monotonic() - started < 3, what
            # and kmsd -t says so too
            args = [KMSD, "-t", "-c", fifo if what == "-c" else "/dev/null", "-o", "allow-root=yes"]
            for o in options:
                args += ["-o", o]
            p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=5)
            assert p.returncode == 1 and b"not a regular file" in p.stdout, (what, p.stdout)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_reload_from_a_fifo_fails_and_sigterm_still_stops():
    with Kmsd() as k:
        os.unlink(k.config)
        os.mkfifo(k.config, 0o600)
        k.send(signal.SIGHUP)
        k.wait_log("reload failed, keeping the running configuration")
        assert "not a regular file" in k.log()
        started = time.monotonic()
        assert k.stop(timeout=5) == 0
        assert time.monotonic() - started < 3


def test_user_root_is_refused_like_no_user():
    if not as_root():
        return
    rc, out = start("store=none", "user=root")
    assert rc == 1 and "refusing to run as root" in out, out
    rc, out = start("store=none")
    assert rc == 1 and "refusing to run as root" in out, out
