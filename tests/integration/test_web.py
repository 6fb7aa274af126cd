"""The dashboard, JSON API and /metrics served by the running daemon
(issue 6): every endpoint, bad parameters, the token rule, escaping,
Prometheus parsing with promtool and a real headless Chromium."""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
import uuid

from kmsdtest import BIN, Kmsd, connect, free_port, kmsc, run

WIN10 = "Windows 10/11 Enterprise"
SERVER = "Windows Server 2019 Datacenter"
OFFICE = "Office Professional Plus 2019"
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                    "Referrer-Policy", "Cache-Control")


def get(port, path, token=None, basic=None, method="GET", host="127.0.0.1"):
    """(status, headers, body) of one request; errors are answers too."""
    req = urllib.request.Request(f"http://{host}:{port}{path}", method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if basic:
        req.add_header("Authorization", "Basic " + base64.b64encode(basic.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def get_json(port, path, **kw):
    status, headers, body = get(port, path, **kw)
    assert headers["Content-Type"].startswith("application/json"), headers
    return status, json.loads(body)


def web_kmsd(*options, store=True, env=None):
    port = free_port()
    opts = ["web=yes", f"web-listen=127.0.0.1:{port}", "count=real"] + list(options)
    if store:
        opts.append(f"store=sqlite:{os.path.join(tempfile.mkdtemp(), 'clients.db')}")
    d = Kmsd(*opts, env=env)
    d.web_port = port
    return d


def activate(d, product, workstation=None, cmid=None):
    args = ["activate", "--json", "-p", product, f"127.0.0.1:{d.port}"]
    if workstation:
        args += ["--workstation", workstation]
    args += ["--cmid", cmid or "random"]  # a new machine unless told
    rc, out = kmsc(*args)
    assert rc in (0, 3, 5), out  # 5: a valid answer below the threshold
    return rc


def populate(d):
    """Three Windows 10 machines, a server, an Office one, and one of them
    twice; the store is flushed within its batch interval."""
    cmid = str(uuid.uuid4())
    activate(d, WIN10, "WS-ALPHA", cmid)
    activate(d, WIN10, "WS-ALPHA", cmid)
    activate(d, WIN10, "WS-BRAVO")
    activate(d, WIN10, "WS-CHARLIE")
    activate(d, SERVER, "SRV-DELTA")
    activate(d, OFFICE, "OFFICE-ECHO")
    import time
    time.sleep(0.6)


def test_web_is_off_by_default_and_on_loopback_when_enabled():
    with Kmsd() as d:
        assert "web:" not in d.log()
    with web_kmsd() as d:
        d.wait_log(f"web: dashboard, API and metrics on http://127.0.0.1:{d.web_port}/")


def test_status_endpoint():
    with web_kmsd() as d:
        populate(d)
        status, s = get_json(d.web_port, "/api/v1/status")
        assert status == 200
        assert s["version"] and s["count_mode"] == "real" and s["uptime_seconds"] >= 0
        assert s["listen"] == [f"127.0.0.1:{d.port}"]
        assert s["web_listen"] == [f"127.0.0.1:{d.web_port}"]
        assert len(s["hwid"]) == 16 and s["lcid"] == 1033
        assert set(s["epids"]) == {"windows", "office2010", "office2013"}
        assert all(len(e.split("-")) == 8 for e in s["epids"].values()), s["epids"]
        pools = {p["pool"]: p for p in s["pools"]}
        assert pools["windows"]["clients"] == 4, pools
        assert pools["office2013"]["clients"] == 1 and pools["office2010"]["clients"] == 0
        assert [t["n_policy"] for t in pools["windows"]["thresholds"]] == [5, 25]
        assert [t["reached"] for t in pools["windows"]["thresholds"]] == [False, False]
        assert s["store"]["backend"] == "sqlite" and s["store"]["written"] == 6
        assert s["connections_open"] == 0


def test_clients_endpoint_filters_sorts_and_pages():
    with web_kmsd() as d:
        populate(d)
        _, all_ = get_json(d.web_port, "/api/v1/clients")
        assert all_["total"] == 5 and len(all_["clients"]) == 5
        c = next(c for c in all_["clients"] if c["workstation"] == "WS-ALPHA")
        assert c["requests"] == 2 and c["pool"] == "windows" and c["protocol"] == "6.0"
        assert c["product"] == WIN10 and c["last_result"] == "0x00000000"
        assert c["first_seen"].endswith("Z") and len(c["cmid"]) == 36
        _, office = get_json(d.web_port, "/api/v1/clients?product=office2013")
        assert [c["workstation"] for c in office["clients"]] == ["OFFICE-ECHO"]
        _, server = get_json(d.web_port, "/api/v1/clients?product=Windows%20Server%202019")
        assert [c["workstation"] for c in server["clients"]] == ["SRV-DELTA"]
        _, found = get_json(d.web_port, "/api/v1/clients?search=bravo")
        assert [c["workstation"] for c in found["clients"]] == ["WS-BRAVO"]
        _, by_name = get_json(d.web_port, "/api/v1/clients?sort=workstation&limit=2&offset=1")
        assert by_name["total"] == 5 and by_name["limit"] == 2 and by_name["offset"] == 1
        assert [c["workstation"] for c in by_name["clients"]] == ["SRV-DELTA", "WS-ALPHA"]
        _, busiest = get_json(d.web_port, "/api/v1/clients?sort=requests&limit=1")
        assert busiest["clients"][0]["workstation"] == "WS-ALPHA"
        _, recent = get_json(d.web_port, "/api/v1/clients?since=1h")
        assert recent["total"] == 5
        _, future = get_json(d.web_port, "/api/v1/clients?since=2099-01-01")
        assert future["total"] == 0 and future["clients"] == []


def test_products_and_stats_endpoints():
    with web_kmsd() as d:
        populate(d)
        _, p = get_json(d.web_port, "/api/v1/products?filter=Professional%20Plus%202019")
        assert p["count"] >= 1
        row = next(x for x in p["products"] if x["name"] == OFFICE)
        assert row["pool"] == "office2013" and row["n_policy"] == 5 and row["gvlk"]
        assert row["group_activations"] == 1
        _, everything = get_json(d.web_port, "/api/v1/products")
        assert everything["count"] > 200
        _, st = get_json(d.web_port, "/api/v1/stats?minutes=10")
        assert st["totals"] == {"activated": 0, "below_threshold": 6, "refused": 0, "invalid": 0}
        win = next(x for x in st["by_product"] if x["product_group"].startswith("Windows 10/11"))
        assert win["below_threshold"] == 4 and win["by_version"]["6"] == 4
        assert st["per_minute"]["minutes"] == 10 and len(st["per_minute"]["activations"]) == 10
        assert sum(st["per_minute"]["activations"]) == 6
        assert st["connections"]["accepted"] == 6
        assert sum(c["clients"] for c in st["clients_by_product"]) == 5


def test_refusals_and_rejected_pdus_are_counted():
    with web_kmsd("serve=Windows 10/11 2015") as d:
        assert activate(d, OFFICE) == 3  # not served: 0xC004F042
        s = connect(d.port)
        s.sendall(b"\x05\x00\x0b\x03" + b"\xff" * 12)  # a bind with a broken header
        s.recv(100)
        s.close()
        import time
        time.sleep(0.3)
        _, st = get_json(d.web_port, "/api/v1/stats")
        assert st["totals"]["refused"] == 1
        assert st["refusals"] == [{"hresult": "0xC004F042", "count": 1}]
        assert sum(st["rejected_pdus"].values()) == 1, st["rejected_pdus"]
        _, _, page = get(d.web_port, "/")
        assert "0xC004F042" in page and "product not served" in page


def test_bad_parameters_get_clear_400_json():
    with web_kmsd() as d:
        cases = [
            ("/api/v1/clients?limit=0", "limit"),
            ("/api/v1/clients?limit=abc", "limit"),
            ("/api/v1/clients?limit=1001", "limit"),
            ("/api/v1/clients?offset=-1", "offset"),
            ("/api/v1/clients?sort=cmid", "sort"),
            ("/api/v1/clients?since=yesterday", "since"),
            ("/api/v1/clients?product=Server%202008", "product"),  # more than one group
            ("/api/v1/clients?product=nonesuch", "product"),
            ("/api/v1/clients?search=" + "x" * 65, "search"),
            ("/api/v1/clients?color=red", "color"),
            ("/api/v1/stats?minutes=0", "minutes"),
            ("/api/v1/stats?minutes=1441", "minutes"),
            ("/api/v1/stats?hours=1", "hours"),
            ("/api/v1/products?name=x", "name"),
            ("/api/v1/status?verbose=1", "verbose"),
            ("/metrics?x=1", "x"),
            ("/clients?page=0", "page"),
        ]
        for path, parameter in cases:
            status, body = get_json(d.web_port, path)
            assert status == 400, (path, status, body)
            assert body["parameter"] == parameter and body["error"], (path, body)
        status, body = get_json(d.web_port, "/api/v1/nothing")
        assert status == 404 and "error" in body
        status, headers, _ = get(d.web_port, "/api/v1/status", method="POST")
        assert status == 405 and headers["Allow"] == "GET, HEAD"
        status, headers, _ = get(d.web_port, "/", method="DELETE")
        assert status == 405


def test_security_headers_on_every_answer():
    with web_kmsd() as d:
        for path in ("/", "/clients", "/kmsd.css", "/metrics", "/api/v1/status",
                     "/api/v1/clients?limit=x", "/nope"):
            _, headers, _ = get(d.web_port, path)
            for h in SECURITY_HEADERS:
                assert headers[h], (path, h)
            assert "script-src" not in headers["Content-Security-Policy"]
            assert headers["X-Frame-Options"] == "DENY"


def test_user_input_is_never_reflected_unescaped():
    evil = '<script>alert(1)</script>"\''
    with web_kmsd() as d:
        activate(d, WIN10, evil)
        import time
        time.sleep(0.6)
        for path in ("/", "/clients", "/clients?q=%3Cscript%3E"):
            _, _, page = get(d.web_port, path)
            assert "<script>" not in page, path
            assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;" in page, path
        _, _, body = get(d.web_port, "/api/v1/clients")
        assert "<script>" not in body
        assert json.loads(body)["clients"][0]["workstation"] == evil
        status, _, body = get(d.web_port, "/api/v1/clients?zz%3Cscript%3E=1")
        assert status == 400 and "<script>" not in body


def test_clients_page_search_sort_and_paging():
    with web_kmsd() as d:
        populate(d)
        _, headers, page = get(d.web_port, "/clients?limit=2&sort=workstation")
        assert headers["Content-Type"].startswith("text/html")
        assert '<span id="clients-total">5</span>' in page
        assert "page 1 of 3" in page and 'rel="next"' in page and 'rel="prev"' not in page
        assert "OFFICE-ECHO" in page and "SRV-DELTA" in page and "WS-CHARLIE" not in page
        _, _, page3 = get(d.web_port, "/clients?limit=2&sort=workstation&page=3")
        assert "WS-CHARLIE" in page3 and "page 3 of 3" in page3 and 'rel="next"' not in page3
        _, _, found = get(d.web_port, "/clients?q=charlie")
        assert "WS-CHARLIE" in found and "WS-ALPHA" not in found
        assert 'value="charlie"' in found  # the search box keeps the query


def test_without_store_the_client_views_say_so():
    with web_kmsd(store=False) as d:
        activate(d, WIN10)
        status, body = get_json(d.web_port, "/api/v1/clients")
        assert status == 503 and "store" in body["error"]
        _, _, page = get(d.web_port, "/clients")
        assert "client store is off" in page
        _, s = get_json(d.web_port, "/api/v1/status")
        assert s["store"] == {"backend": "none"}
        assert s["pools"][0]["clients"] == 1


def test_token_rule():
    port = free_port()
    # a non-loopback listener without a token is a configuration error
    conf = os.path.join(tempfile.mkdtemp(), "kmsd.conf")
    with open(conf, "w") as f:
        f.write(f"web = yes\nweb-listen = 0.0.0.0:{port}\n")
    rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", conf)
    assert rc == 1 and "not a loopback address" in out and "web-token" in out, out

    token = "s3cret-token-0123456789"
    with Kmsd("web=yes", f"web-listen=0.0.0.0:{port}", f"web-token={token}") as d:
        for path in ("/", "/metrics", "/api/v1/status"):
            status, headers, body = get(port, path)
            assert status == 401 and "Bearer" in headers["WWW-Authenticate"], path
            assert token not in body
            assert get(port, path, token="wrong-token-0123456789")[0] == 401
            assert get(port, path, token=token)[0] == 200
        # browsers: HTTP Basic with the token as the password
        assert get(port, "/", basic=f"admin:{token}")[0] == 200
        assert get(port, "/", basic="admin:nope")[0] == 401


def test_token_file_must_be_private():
    port = free_port()
    tokdir = tempfile.mkdtemp()
    path = os.path.join(tokdir, "token")
    with open(path, "w") as f:
        f.write("file-token-0123456789abcdef\n")
    os.chmod(path, 0o644)
    d = None
    try:
        try:
            d = Kmsd("web=yes", f"web-listen=0.0.0.0:{port}", f"web-token-file={path}")
        except AssertionError as e:
            assert "group or others may read" in str(e) and "chmod 600" in str(e), e
        else:
            raise AssertionError("kmsd started with a world-readable token file")
        os.chmod(path, 0o600)
        d = Kmsd("web=yes", f"web-listen=0.0.0.0:{port}", f"web-token-file={path}")
        assert get(port, "/api/v1/status")[0] == 401
        assert get(port, "/api/v1/status", token="file-token-0123456789abcdef")[0] == 200
    finally:
        if d:
            d.stop()
        shutil.rmtree(tokdir, ignore_errors=True)


def test_metrics_parse_with_promtool():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run make deps (Debian package prometheus)"
    with web_kmsd() as d:
        populate(d)
        status, headers, text = get(d.web_port, "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        assert p.returncode == 0, p.stdout.decode() + text
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        acts = [v for k, v in samples.items() if k.startswith("kmsd_activations_total{")]
        assert sum(acts) == 6
        assert samples['kmsd_pool_clients{pool="windows"}'] == 4
        assert samples['kmsd_request_duration_seconds_bucket{le="+Inf"}'] == 6
        assert samples["kmsd_request_duration_seconds_count"] == 6
        assert samples["kmsd_connections_open"] == 0
        assert samples['kmsd_rejected_pdus_total{reason="bad_header"}'] == 0
        assert samples['kmsd_store_records_total{outcome="written"}'] == 6
        assert "kmsd_store_queue_depth" in samples and "kmsd_store_batch_seconds_count" in samples


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("chromium is missing: run make deps (Debian package chromium)")


def browser(*args):
    profile = tempfile.mkdtemp(prefix="kmsd-chromium-")
    try:
        return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                               "--hide-scrollbars", f"--user-data-dir={profile}", *args],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_dashboard_renders_in_headless_chromium():
    with web_kmsd() as d:
        populate(d)
        url = f"http://127.0.0.1:{d.web_port}/"
        dom = browser("--dump-dom", url).stdout.decode()
        assert '<span class="big" id="pool-windows-clients">4</span>' in dom, dom[:2000]
        assert 'id="pool-office2013-clients">1<' in dom
        assert 'id="activations-total">6<' in dom
        assert "client OS N=25: 21 more needed" in dom
        assert "WS-CHARLIE" in dom and "<svg" in dom
        artifacts = os.path.join(BIN, "artifacts")
        os.makedirs(artifacts, exist_ok=True)
        for name, size in (("dashboard.png", "1280,1600"), ("dashboard-phone.png", "390,1400")):
            shot = os.path.join(artifacts, name)
            if os.path.exists(shot):
                os.unlink(shot)
            browser(f"--window-size={size}", f"--screenshot={shot}", url)
            with open(shot, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n", shot
        clients = browser("--dump-dom", url + "clients?sort=workstation").stdout.decode()
        assert '<span id="clients-total">5</span>' in clients


def test_reload_keeps_the_web_side_and_updates_identity():
    with web_kmsd() as d:
        _, before = get_json(d.web_port, "/api/v1/status")
        with open(d.config, "w") as f:
            f.write("hwid = 0102030405060708\n")
        import signal
        d.send(signal.SIGHUP)
        d.wait_log("configuration reloaded")
        _, after = get_json(d.web_port, "/api/v1/status")
        assert before["hwid"] != after["hwid"] == "0102030405060708"
