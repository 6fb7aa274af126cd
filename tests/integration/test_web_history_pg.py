"""The activity log in a shared PostgreSQL store (issue 17): every host's
dashboard, client page and /api/v1/activity show the requests any host of
the fleet answered, and the log is pruned with the clients."""
import time
import uuid

from kmsdtest import kmsc
from pgtest import Postgres
from test_web import SERVER, WIN10, activate, get, get_json, web_kmsd


def test_every_host_shows_the_fleets_activity():
    with Postgres() as pg:
        uri = pg.createdb("kmsd")
        with web_kmsd(f"store={uri}", store=False) as a, web_kmsd(f"store={uri}", store=False) as b:
            cmid = str(uuid.uuid4())
            activate(a, WIN10, "PC-ON-A", cmid)
            activate(b, WIN10, "PC-ON-A", cmid)  # the same machine, then on the other host
            activate(b, SERVER, "SRV-ON-B")
            time.sleep(0.8)
            for host in (a, b):
                _, act = get_json(host.web_port, "/api/v1/activity")
                assert act["source"] == "store", act
                assert act["totals"]["below_threshold"] == 3, act["totals"]
                assert sorted(r["workstation"] for r in act["recent"]) == \
                    ["PC-ON-A", "PC-ON-A", "SRV-ON-B"]
                assert sum(act["per_hour"]["counts"]) == 3
                status, c = get_json(host.web_port, f"/api/v1/clients/{cmid}")
                assert status == 200 and len(c["requests"]) == 2, c
                assert c["entries"][0]["requests"] == 2
                assert get_json(host.web_port, f"/api/v1/clients/{uuid.uuid4()}")[0] == 404
                _, _, page = get(host.web_port, "/")
                assert 'id="activations-total">3<' in page and "SRV-ON-B" in page
            status, body = get_json(a.web_port, "/api/v1/clients?result=below_threshold")
            assert status == 200 and body["total"] == 2, body
        # kmsc prune forgets old requests together with old clients
        pg.psql("UPDATE activity SET time = time - 40 * 86400 WHERE workstation = 'SRV-ON-B'", "kmsd")
        rc, out = kmsc("prune", "--db", uri, "--older-than", "30d")
        assert rc == 0, out
        left = pg.psql("SELECT workstation FROM activity ORDER BY id", "kmsd")
        assert [r[0] for r in left] == ["PC-ON-A", "PC-ON-A"], left
