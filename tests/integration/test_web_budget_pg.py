"""The web side's time limit on a PostgreSQL store (issue 19): a store query
over its budget (3 s) is cancelled by the server (statement_timeout) and
answered 503 with a message that says so, /metrics answers at once
meanwhile, and the connection serves the next query."""
import os
import subprocess
import threading
import time

from pgtest import Postgres
from test_web import WIN10, activate, get, get_json, web_kmsd


def hold_clients_table(pg):
    """A psql session holding the clients table: every query of it waits."""
    p = subprocess.Popen([os.path.join(pg.bin, "psql"), "-X", "-q", "-At", "-h", "127.0.0.1",
                          "-p", str(pg.port), "-U", pg.user, "-d", "kmsd"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    p.stdin.write("BEGIN; LOCK TABLE clients IN ACCESS EXCLUSIVE MODE; SELECT 'held';\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_query_over_budget_is_answered_503_while_metrics_stay_fast():
    with Postgres() as pg:
        uri = pg.createdb("kmsd")
        with web_kmsd(f"store={uri}", store=False) as d:
            activate(d, WIN10, "PC-1")
            time.sleep(0.6)
            assert get_json(d.web_port, "/api/v1/clients")[0] == 200
            locker = hold_clients_table(pg)
            try:
                answer = {}

                def query():
                    t0 = time.monotonic()
                    answer["r"] = get_json(d.web_port, "/api/v1/clients?search=pc")
                    answer["s"] = time.monotonic() - t0

                t = threading.Thread(target=query)
                t.start()
                time.sleep(0.5)
                for _ in range(5):
                    t0 = time.monotonic()
                    status, _, _ = get(d.web_port, "/metrics")
                    assert status == 200 and time.monotonic() - t0 < 0.5
                t.join(20)
                status, body = answer["r"]
                assert status == 503, (status, body)
                assert "took longer than 3000 ms and was cancelled" in body["error"], body
                assert 2.5 < answer["s"] < 8, answer["s"]
            finally:
                locker.stdin.write("COMMIT;\n")
                locker.stdin.close()
                locker.wait(10)
            status, body = get_json(d.web_port, "/api/v1/clients")
            assert status == 200 and body["total"] == 1, body
