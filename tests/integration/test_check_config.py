"""kmsd -t (issue 14) checks everything a start checks that needs no
socket, each with its own message; a BOM and repeated keys are handled."""
import os
import shutil
import signal
import subprocess
import tempfile

from kmsdtest import skip, BIN, free_port, run, wait_until

KMSD = os.path.join(BIN, "kmsd")


def check(text, *options):
    d = tempfile.mkdtemp(prefix="kmsd-t-")
    try:
        conf = os.path.join(d, "kmsd.conf")
        with open(conf, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
        return run(KMSD, "-t", "-c", conf, *options)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def secret(d, name, mode=0o600, owner=None):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("0123456789abcdef0123\n")
    os.chmod(path, mode)
    if owner:
        shutil.chown(path, owner)
    return path


def test_users_groups_and_root():
    if os.geteuid() != 0:
        rc, out = check("user = nobody\n")
        assert rc == 1 and "only root can switch to it" in out, out
        return
    rc, out = check("store = none\n")
    assert rc == 1 and "refusing to run as root: set user = NAME" in out, out
    rc, out = check("user = nosuchuser-kmsd\n")
    assert rc == 1 and "user = nosuchuser-kmsd: no such user" in out, out
    rc, out = check("user = nobody\ngroup = nosuchgroup-kmsd\n")
    assert rc == 1 and "group = nosuchgroup-kmsd: no such group" in out, out
    rc, out = check("user = nobody\n")
    assert rc == 0 and "configuration OK" in out, out
    rc, out = check("allow-root = yes\n")
    assert rc == 0, out
    # started as that user already (a unit's User=): accepted, others not
    rc, out = run("runuser", "-u", "nobody", "--", KMSD, "-t", "-c", "/dev/null", "-o",
                  "user=nobody", "-o", "store=none")
    assert rc == 0, out
    rc, out = run("runuser", "-u", "nobody", "--", KMSD, "-t", "-c", "/dev/null", "-o",
                  "user=root", "-o", "store=none")
    assert rc == 1 and "user = root: only root can switch to it" in out, out
    rc, out = run("runuser", "-u", "nobody", "--", KMSD, "-t", "-c", "/dev/null", "-o",
                  "user=nobody", "-o", "group=root", "-o", "store=none")
    assert rc == 1 and "group = root: only root can switch to it" in out, out


def test_secret_files():
    d = tempfile.mkdtemp(prefix="kmsd-t-")
    os.chmod(d, 0o755)
    base = "allow-root = yes\nweb = yes\n" if os.geteuid() == 0 else "web = yes\n"
    try:
        rc, out = check(base + f"web-token-file = {d}/missing\n")
        assert rc == 1 and f"web-token-file {d}/missing: No such file" in out, out
        rc, out = check(base + f"web-token-file = {secret(d, 'loose', 0o644)}\n")
        assert rc == 1 and "group or others may read or write it: chmod 600 it" in out, out
        rc, out = check(base + f"web-token-file = {secret(d, 'good')}\n")
        assert rc == 0, out
        short = secret(d, "short")
        with open(short, "w") as f:
            f.write("too-short\n")
        rc, out = check(base + f"web-token-file = {short}\n")
        assert rc == 1 and "the token needs at least 16 characters" in out, out
        os.mkfifo(os.path.join(d, "fifo"), 0o600)
        rc, out = check(base + f"web-token-file = {d}/fifo\n")
        assert rc == 1 and "not a regular file" in out, out
        if os.geteuid() == 0:
            # read after dropping to nobody: a root-owned secret is refused
            tsig = secret(d, "tsig")
            conf = (f"user = nobody\nstore = none\ndns-publish = on\ndns-zone = example.com\n"
                    f"dns-server = 127.0.0.1\ndns-host = kms.example.com\n"
                    f"dns-tsig-name = k\ndns-tsig-secret-file = {tsig}\n")
            rc, out = check(conf)
            assert rc == 1 and "not owned by the user kmsd reads it as: chown it" in out, out
            shutil.chown(tsig, "nobody")
            with open(tsig, "w") as f:
                f.write("c2VjcmV0c2VjcmV0c2VjcmV0\n")
            rc, out = check(conf)
            assert rc == 0, out
        rc, out = check(base + "web-token-file = credential:web-token\n")
        assert rc == 1 and "no $CREDENTIALS_DIRECTORY" in out, out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_store_uri_syntax():
    root = ["-o", "allow-root=yes"]
    for store, message in (("sqlite:clients.db", "sqlite: needs an absolute path"),
                           ("postgresql://db:70000/kmsd", "the port is not a number"),
                           ("postgresql://db/kmsd?sslmode", "a query parameter is not KEY=VALUE")):
        rc, out = check(f"store = {store}\n", *root)
        assert rc == 1 and f'store: "{store}": {message}' in out, out
    rc, out = check("store = postgresql://kmsd@db.example.com:5432/kmsd?sslmode=require\n", *root)
    assert rc == 0, out
    rc, out = check("store = sqlite:/tmp/x.db\nstore-password-file = /etc/kmsd/pw\n", *root)
    assert rc == 1 and "only a postgresql:// store has a password" in out, out


def test_byte_order_mark_and_repeated_keys():
    root = ["-o", "allow-root=yes"]
    rc, out = check(b"\xef\xbb\xbfcount = real\n", *root)
    assert rc == 0, out
    rc, out = check(b"\xef\xbb\xbfcolour = blue\n", *root)
    assert rc == 1 and "kmsd.conf:1: colour: unknown setting" in out, out
    assert "\ufeff" not in out
    rc, out = check("count = real\nlcid = 1033\ncount = always\n", *root)
    assert rc == 1 and "kmsd.conf:3: count: also set on line 1" in out, out
    rc, out = check("listen = 127.0.0.1:1688\nlisten = 127.0.0.1:1688\n", *root)
    assert rc == 0 and "warning: " in out and "kmsd.conf:2: listen: the same line as line 1" in out, out


def test_reload_after_dropping_root_keeps_a_root_only_token_file():
    """The token file is read at start, as root; a reload as the user kmsd
    dropped to does not need to read it again."""
    if os.geteuid() != 0:
        skip("needs root")
    d = tempfile.mkdtemp(prefix="kmsd-t-")
    os.chmod(d, 0o755)
    log = os.path.join(d, "kmsd.log")
    conf = os.path.join(d, "kmsd.conf")
    with open(conf, "w") as f:  # readable by nobody, who reads it again on reload
        f.write(f"user = nobody\nstore = none\nlisten = 127.0.0.1:{free_port()}\nweb = yes\n"
                f"web-listen = 127.0.0.1:{free_port()}\nweb-token-file = {secret(d, 'token')}\n"
                f"log = file:{log}\n")
    proc = subprocess.Popen([KMSD, "-f", "-c", conf])
    try:
        assert wait_until(lambda: "ready" in read(log)), read(log)
        proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: "configuration reloaded" in read(log)), read(log)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)


def read(path):
    try:
        return open(path).read()
    except OSError:
        return ""


def test_every_setting_is_in_the_sample_and_the_man_page():
    root = os.path.join(os.path.dirname(__file__), "../..")
    sample = open(os.path.join(root, "contrib/kmsd.conf")).read()
    man = open(os.path.join(root, "man/kmsd.conf.5")).read()
    d = tempfile.mkdtemp(prefix="kmsd-t-")
    os.chmod(d, 0o755)
    password = secret(d, "pw", owner="nobody" if os.geteuid() == 0 else None)
    rc, out = run(KMSD, "-t", "-v", "-c", "/dev/null", "-o", "store=postgresql://db/kmsd",
                  "-o", f"store-password-file={password}", "-o", "web-token-file=/etc/kmsd/t",
                  *(["-o", "user=nobody"] if os.geteuid() == 0 else []))
    shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, out
    keys = {l.split(" = ")[0] for l in out.splitlines() if " = " in l and not l.startswith("#")}
    assert {"listen-failure", "listen-freebind", "log-facility", "store-password-file"} <= keys
    for key in keys:
        assert f"\n{key} = " in sample or f"\n#{key} = " in sample, key
        assert f"Ic {key}\n" in man or f"Ic {key} " in man, key


def settings_table():
    """kmsd -S: the table every setting is a row of (src/server/config_table.c)."""
    rc, out = run(KMSD, "-S")
    assert rc == 0, out
    rows = {}
    for line in out.splitlines():
        name, kind, default, reload, help_line = line.split("\t")
        assert reload in ("reload", "restart") and help_line, line
        rows[name] = (kind, default)
    assert len(rows) == len(out.splitlines())  # no name twice
    return rows


def man_settings(man):
    """The settings the man page documents: each .It line's Ic names, in
    the sections before EXAMPLES."""
    body = man.split("\n.Sh EXAMPLES")[0]
    names = set()
    for line in body.splitlines():
        if line.startswith(".It Ic "):
            parts = line.split()
            names |= {parts[i + 1] for i, w in enumerate(parts[:-1]) if w == "Ic"}
    return names


def test_the_settings_table_is_the_sample_and_the_man_page():
    """Adding a setting is one table row: the sample file and the man page
    are held to the table both ways, defaults included."""
    rows = settings_table()
    assert {"listen-freebind", "log-facility", "dns-ttl", "web-token"} <= set(rows)
    root = os.path.join(os.path.dirname(__file__), "../..")
    sample = open(os.path.join(root, "contrib/kmsd.conf")).read()
    man = open(os.path.join(root, "man/kmsd.conf.5")).read()
    # the sample: every setting, with its default where it has one
    for name, (kind, default) in rows.items():
        values = default.split(" ") if ", repeatable" in kind else [default]
        for value in values if default != "-" else [""]:
            line = f"{name} = {value}"
            assert f"\n{line}" in sample or f"\n#{line}" in sample, (name, value)
    sample_keys = {l.lstrip("#").split(" = ")[0] for l in sample.splitlines()
                   if " = " in l and l.lstrip("#")[:1].isalpha() and l.lstrip("#").split(" = ")[0].replace("-", "").isalnum()}
    assert sample_keys <= set(rows), sample_keys - set(rows)
    # the man page: an entry for every setting, and none for what is not one
    documented = man_settings(man)
    assert documented == set(rows), (set(rows) - documented, documented - set(rows))
    # its list of the repeatable settings is the table's
    listed = man.split("except the list\nsettings\n.Pq Ic ")[1].split("\n")[0]
    repeatable = {n for n, (kind, _) in rows.items() if ", repeatable" in kind}
    assert {w.strip() for w in listed.split(",") if w.strip()} == repeatable, listed


def test_reload_names_the_settings_that_need_a_restart():
    """The table says which settings a reload cannot apply: a reload that
    changes them says so, one that changes nothing says nothing."""
    d = tempfile.mkdtemp(prefix="kmsd-t-")
    log = os.path.join(d, "kmsd.log")
    conf = os.path.join(d, "kmsd.conf")
    base = (f"store = none\nlisten = 127.0.0.1:{free_port()}\nlog = file:{log}\n"
            + ("allow-root = yes\n" if os.geteuid() == 0 else ""))
    with open(conf, "w") as f:
        f.write(base + "threads = 2\n")
    proc = subprocess.Popen([KMSD, "-f", "-c", conf])
    try:
        assert wait_until(lambda: "ready" in read(log)), read(log)
        proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: read(log).count("configuration reloaded") == 1), read(log)
        assert "restart kmsd" not in read(log), read(log)
        with open(conf, "w") as f:
            f.write(base + "threads = 3\nlog-level = debug\nactivity-retention = 7d\n")
        proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: read(log).count("configuration reloaded") == 2), read(log)
        assert "reload: activity-retention, threads changed; restart kmsd to use them" in read(log), read(log)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)
