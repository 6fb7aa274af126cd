"""PostgreSQL statistics from the hourly counters (issue 19): kmsc stats
gives what a count of the rows gives for any window, after rows move to
another hour or result and are deleted, while kmsd folds the triggers'
changes into the counters, and on a database migrated from version 4."""
import json
import time

from kmsdtest import Kmsd, kmsc
from pgtest import Postgres

WIN = "\\x3427c95582d6714d983ed6ec3f16059f"   # the Windows application id
OFFICE = "\\x15ce1c0f89a99d47af46f275c6370663"
GROUPS = ["\\x4f13e258118e174d9cb291069c151148", "\\x1952de7ffafb4a4882c934d1ad53e856"]


def rows_sql(now, n=400):
    """n clients over the last 30 hours, a quarter refused, some with the
    NULL kms_id an old store left."""
    values = []
    for i in range(n):
        app = WIN if i % 3 else OFFICE
        kms = "NULL" if i % 97 == 0 else f"'{GROUPS[i % 2]}'"
        seen = now - (i * 7919) % (30 * 3600)
        result = 3221549122 if i % 4 == 0 else 0
        values.append(f"('\\x{i:032x}', '{app}', {kms}, {seen}, {seen}, {result})")
    return ("INSERT INTO clients (cmid, app_id, kms_id, first_seen, last_seen, last_result)"
            " VALUES " + ", ".join(values))


def counted(pg, since):
    rows = pg.psql("SELECT encode(app_id, 'hex'), coalesce(encode(kms_id, 'hex'), ''), count(*)"
                   f" FROM clients WHERE last_seen >= {since} AND last_result = 0"
                   " GROUP BY 1, 2", "kmsd")
    return sorted((a, k, int(n)) for a, k, n in rows)


def stats(uri, seconds):
    rc, out = kmsc("stats", "--db", uri, "--json", "-w", f"{seconds}s")
    assert rc == 0, out
    return json.loads(out)


def check_windows(pg, uri, now):
    for hours in (0.01, 1, 1.5, 7.25, 12, 29.9, 31):
        seconds = int(hours * 3600)
        want = counted(pg, now - seconds)
        got = stats(uri, seconds)
        # kmsc's clock may be a second on: a client at the edge may differ
        assert abs(sum(g["clients"] for g in got) - sum(n for _, _, n in want)) <= 1, \
            (hours, got, want)
        assert len(got) == len(want), (hours, got, want)


def test_stats_from_counters_match_the_rows_and_survive_a_migration():
    with Postgres() as pg:
        uri = pg.createdb("kmsd")
        with Kmsd("count=real", f"store={uri}") as d:
            d.wait_log("ready")
            now = int(time.time())
            pg.psql(rows_sql(now), "kmsd")
            check_windows(pg, uri, now)
            # rows move: to another hour, answered to refused and back, gone
            pg.psql("UPDATE clients SET last_seen = last_seen + 5000 WHERE get_byte(cmid, 15) % 5 = 1"
                    " AND last_seen + 5000 < extract(epoch FROM now());"
                    "UPDATE clients SET last_result = 0 WHERE get_byte(cmid, 15) % 8 = 0;"
                    "UPDATE clients SET last_result = 7 WHERE get_byte(cmid, 15) % 8 = 3;"
                    f"DELETE FROM clients WHERE last_seen < {now - 20 * 3600}", "kmsd")
            check_windows(pg, uri, now)
            # kmsd's writer folds the changes into the counters
            rc, out = kmsc("activate", "--cmid", "random", f"127.0.0.1:{d.port}")
            deadline = time.monotonic() + 10
            while pg.psql("SELECT count(*) FROM client_hour_changes", "kmsd") != [["0"]]:
                assert time.monotonic() < deadline, "the changes were never folded"
                rc, out = kmsc("activate", "--cmid", "random", f"127.0.0.1:{d.port}")
                time.sleep(0.5)
            check_windows(pg, uri, int(time.time()))
        # back to version 4 (without what 5 and 6 added): the migration
        # builds the counters from the rows
        pg.psql("DROP INDEX clients_address;"
                "DROP TRIGGER client_hours_insert ON clients;"
                "DROP TRIGGER client_hours_update ON clients;"
                "DROP TRIGGER client_hours_delete ON clients;"
                "DROP TABLE client_hours; DROP TABLE client_hour_changes;"
                "UPDATE kmsd_schema SET version = 4", "kmsd")
        with Kmsd("count=real", f"store={uri}") as d:
            d.wait_log("ready")
            assert pg.psql("SELECT version FROM kmsd_schema", "kmsd") == [["7"]]
            check_windows(pg, uri, int(time.time()))


def test_an_idle_host_folds_changes_made_by_others():
    """Rows a bulk load, kmsc prune or another host changed while this host
    answered nobody: its writer folds their changes at start and then every
    few seconds while idle, not at the next client's batch."""
    with Postgres() as pg:
        uri = pg.createdb("kmsd")
        with Kmsd("count=real", f"store={uri}") as d:
            d.wait_log("ready")
        now = int(time.time())
        pg.psql(rows_sql(now), "kmsd")  # changes appended, nobody to fold them
        assert pg.psql("SELECT count(*) > 0 FROM client_hour_changes", "kmsd") == [["t"]]
        with Kmsd("count=real", f"store={uri}") as d:
            d.wait_log("ready")
            deadline = time.monotonic() + 5
            while pg.psql("SELECT count(*) FROM client_hour_changes", "kmsd") != [["0"]]:
                assert time.monotonic() < deadline, "not folded at start"
                time.sleep(0.2)
            rc, out = kmsc("prune", "--db", uri, "--older-than", "10h")
            assert rc == 0, out
            deadline = time.monotonic() + 2 * 2 + 3  # STORE_FOLD_S twice, and slack
            while pg.psql("SELECT count(*) FROM client_hour_changes", "kmsd") != [["0"]]:
                assert time.monotonic() < deadline, "an idle writer did not fold"
                time.sleep(0.2)
            check_windows(pg, uri, now)
        assert "cannot fold" not in d.log(), d.log()
