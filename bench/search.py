#!/usr/bin/env python3
"""make bench-search: full-text search on a large database, on PostgreSQL and on SQLite, and
what keeping the index costs sends. Writes docs/benchmarks-search.{json,md}.

For each engine, a stack on fresh data (auth-service on PostgreSQL; chat-service on the engine
measured; one ws-relay for the sends), started as bench/run.py starts its PostgreSQL stack.
`loadgen setup` makes the users (and their tokens); bulk SQL then makes the rooms, with the
first users members of all of them, and the messages: generate_series on PostgreSQL, batched
inserts on SQLite, with words drawn from a made-up vocabulary of 5,000 words with a
Zipf-like skew (a few very common words, a long tail of rare ones), so that the index has real
work. Then `loadgen search` times representative queries over HTTP as a member of every room,
and `loadgen fanout` (the send mode of `make bench`) sends at fixed rates with the index, and
again with it dropped.

BENCH_SEARCH_MESSAGES / BENCH_SEARCH_ROOMS change the size (default 1,000,000 in 1,000).
"""

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: the stacks and loadgen)

MESSAGES = int(os.environ.get("BENCH_SEARCH_MESSAGES", "100000" if run.QUICK else "1000000"))
ROOMS = int(os.environ.get("BENCH_SEARCH_ROOMS", "1000"))
# Users that are members of every bench room and write its messages.
AUTHORS = 5
SEARCHES = 200
SEND_RATES = [1000, 2500, 5000]
LIFTED = {**run.LIFTED, "CHAT_SEARCHES_PER_MINUTE": "100000000", "CHAT_MAX_ROOMS_PER_USER": "100000"}


def vocabulary(n=5000):
    """Made-up words from syllables (a few with accents), the same every run."""
    rng = random.Random(15)
    onsets = ["b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "ch",
              "st", "tr", "pl", "gr"]
    vowels = ["a", "e", "i", "o", "u", "ou", "ai", "é", "è", "ü"]
    codas = ["", "", "", "n", "r", "s", "l", "x"]
    words, seen = [], set()
    while len(words) < n:
        w = "".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
                    for _ in range(rng.choice([1, 2, 2, 3])))
        if w not in seen and len(w) >= 3:
            seen.add(w)
            words.append(w)
    return words


WORDS = vocabulary()


def queries(authors):
    """Representative searches, as query strings; index i of WORDS is the i-th most common."""
    from urllib.parse import urlencode
    common, medium, rare = WORDS[0], WORDS[60], WORDS[4500]
    q = {
        "commonWord": {"q": common},
        "mediumWord": {"q": medium},
        "rareWord": {"q": rare},
        "twoWords": {"q": f"{medium} {WORDS[5]}"},
        "phrase": {"q": f'"{WORDS[1]} {WORDS[2]}"'},
        "prefix": {"q": WORDS[7][:3]},
        "exclusion": {"q": f"{medium} -{WORDS[0]}"},
        "fromFilter": {"q": f"{medium} from:{authors[1]}"},
        "fromOnly": {"q": f"from:{authors[1]}"},
        "relevanceMedium": {"q": medium, "sort": "relevance"},
        "relevanceCommon": {"q": common, "sort": "relevance"},
    }
    return ";".join(f"{name}={urlencode(params)}" for name, params in q.items())


class SearchBench(run.Bench):
    def stack(self, engine):
        """auth-service (PostgreSQL), chat-service on `engine`, one relay; the population."""
        self.pg_stack_env()
        for env in self.env.values():
            env.update(LIFTED)
        if engine == "sqlite":
            self.sqlite_path = self.work / "chat.db"
            self.env["chat"]["DATABASE_URL"] = f"sqlite://{self.sqlite_path}"
            subprocess.run([str(self.bin / "chat-service"), "migrate"], env=self.env["chat"],
                           check=True, capture_output=True)
        for name in ("auth", "chat", "relay1"):
            self.start_service(name)
        chat = f"http://127.0.0.1:{self.ports['chat']}"
        auth = f"http://127.0.0.1:{self.ports['auth']}"
        pop = self.work / f"search-{engine}.json"
        self.loadgen("setup", base=chat, auth_base=auth, users=100, rooms=10, members=10,
                     prefix=f"s{engine[:2]}", out=pop, concurrency=16)
        return chat, pop

    def fill_postgres(self, authors):
        db = self.databases[1]
        t0 = time.time()
        self.psql("ALTER DATABASE " + db + " SET maintenance_work_mem = '256MB'")
        users = ",".join(f"('{a['userId']}','{a['username']}')" for a in authors)
        vocab = "{" + ",".join(WORDS) + "}"
        now = int(time.time() * 1000)
        self.psql(f"""
            BEGIN;
            DROP INDEX messages_search_idx;
            INSERT INTO rooms (name, owner_user_id, owner_username_snapshot, kind, created_at)
              SELECT 'bench-' || g, '{authors[0]['userId']}', '{authors[0]['username']}', 'group', 0
              FROM generate_series(1, {ROOMS}) g;
            INSERT INTO room_members (room_id, user_id, username_snapshot, joined_at)
              SELECT r.id, u.id, u.name, 0 FROM rooms r, (VALUES {users}) AS u(id, name)
              WHERE r.name LIKE 'bench-%';
            WITH v AS (SELECT '{vocab}'::text[] AS w),
                 rs AS (SELECT array_agg(id ORDER BY id) AS ids FROM rooms WHERE name LIKE 'bench-%'),
                 us AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(name ORDER BY id) AS names
                        FROM (VALUES {users}) AS u(id, name))
            INSERT INTO messages (room_id, seq, rev, user_id, username_snapshot, type, content, created_at)
            SELECT rs.ids[1 + g % {ROOMS}], 1 + g / {ROOMS}, 1 + g / {ROOMS},
                   us.ids[1 + g % {AUTHORS}], us.names[1 + g % {AUTHORS}], 'text',
                   -- `k` in the argument keeps the aggregate in the subquery (it would
                   -- otherwise belong to the outer query, which only `v` is from).
                   (SELECT string_agg(v.w[1 + k * 0 + floor(power(random(), 3) * {len(WORDS)})::int], ' ')
                    FROM generate_series(1, 4 + (g * 7) % 12) k),
                   {now} - ({MESSAGES} - g) * 30000::bigint
            FROM generate_series(0, {MESSAGES - 1}) g, v, rs, us;
            UPDATE rooms SET last_seq = m.n, last_rev = m.n
              FROM (SELECT room_id, max(seq) AS n FROM messages GROUP BY room_id) m
              WHERE rooms.id = m.room_id;
            CREATE INDEX messages_search_idx ON messages USING GIN (search);
            COMMIT;
        """, db)
        self.psql("VACUUM ANALYZE messages", db)
        return round(time.time() - t0, 1)

    def fill_sqlite(self, authors):
        t0 = time.time()
        con = sqlite3.connect(self.sqlite_path, timeout=60)
        con.execute("PRAGMA busy_timeout = 60000")
        rng = random.Random(15)
        cur = con.cursor()
        cur.execute("BEGIN IMMEDIATE")
        owner = authors[0]
        cur.executemany(
            "INSERT INTO rooms (name, owner_user_id, owner_username_snapshot, kind, created_at) "
            "VALUES (?, ?, ?, 'group', 0)",
            [(f"bench-{g}", owner["userId"], owner["username"]) for g in range(1, ROOMS + 1)])
        rooms = [r for (r,) in cur.execute("SELECT id FROM rooms WHERE name LIKE 'bench-%' ORDER BY id")]
        cur.executemany(
            "INSERT INTO room_members (room_id, user_id, username_snapshot, joined_at) VALUES (?, ?, ?, 0)",
            [(r, a["userId"], a["username"]) for r in rooms for a in authors])
        con.commit()
        now = int(time.time() * 1000)
        n = len(WORDS)
        batch = 50_000
        for start in range(0, MESSAGES, batch):
            rows = []
            for g in range(start, min(start + batch, MESSAGES)):
                a = authors[g % AUTHORS]
                words = " ".join(WORDS[int(rng.random() ** 3 * n)] for _ in range(4 + (g * 7) % 12))
                seq = 1 + g // ROOMS
                rows.append((rooms[g % ROOMS], seq, seq, a["userId"], a["username"], words,
                             now - (MESSAGES - g) * 30000))
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany(
                "INSERT INTO messages (room_id, seq, rev, user_id, username_snapshot, type, content, created_at) "
                "VALUES (?, ?, ?, ?, ?, 'text', ?, ?)", rows)
            con.commit()
        cur.execute("BEGIN IMMEDIATE")
        cur.execute("UPDATE rooms SET last_seq = (SELECT max(seq) FROM messages m WHERE m.room_id = rooms.id), "
                    "last_rev = (SELECT max(seq) FROM messages m WHERE m.room_id = rooms.id) "
                    "WHERE name LIKE 'bench-%'")
        con.commit()
        con.execute("ANALYZE")
        # The load went through the WAL: copy it into the database now, not during the sends.
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        return round(time.time() - t0, 1)

    def drop_index(self, engine):
        if engine == "postgres":
            self.psql("DROP INDEX messages_search_idx; ALTER TABLE messages DROP COLUMN search;",
                      self.databases[1])
        else:
            con = sqlite3.connect(self.sqlite_path, timeout=60)
            for t in ("insert", "update", "delete"):
                con.execute(f"DROP TRIGGER messages_fts_{t}")
            con.commit()
            con.close()

    def sends(self, pop):
        ws = f"ws://127.0.0.1:{self.ports['relay1']}/ws"
        r = self.loadgen("fanout", ws=ws, users=pop, rates=SEND_RATES, reps=1, warmup_secs=2,
                         duration_secs=6, origin=run.ORIGIN,
                         watch_pids=self.pids_arg(["chat", "relay1"]), watch_comms="postgres")
        return [{k: x[k] for k in ("targetRate", "sendsPerSec", "ackLatency", "cpuPercent")}
                for x in r["runs"]]

    def engine(self, engine):
        run.log(f"search, {engine}: starting the stack")
        chat, pop = self.stack(engine)
        users = json.loads(Path(pop).read_text())["users"]
        authors = users[:AUTHORS]
        run.log(f"search, {engine}: filling {MESSAGES:,} messages in {ROOMS:,} rooms")
        fill = self.fill_postgres(authors) if engine == "postgres" else self.fill_sqlite(authors)
        run.log(f"search, {engine}: filled in {fill}s")
        out = {"fillSecs": fill}
        if engine == "postgres":
            out["databaseSize"] = self.psql(
                "SELECT pg_size_pretty(pg_total_relation_size('messages')) || ' (messages), ' || "
                "pg_size_pretty(pg_relation_size('messages_search_idx')) || ' (GIN index)'",
                self.databases[1]).strip()
        else:
            out["databaseSize"] = f"{self.sqlite_path.stat().st_size / 2**20:.0f} MiB (file)"
        out["queries"] = self.loadgen("search", base=chat, users=pop,
                                      queries=queries([a["username"] for a in authors]),
                                      n=SEARCHES)
        run.log(f"search, {engine}: sends with the index")
        out["sendsIndexed"] = self.sends(pop)
        self.drop_index(engine)
        self.settle(["chat", "relay1"])
        run.log(f"search, {engine}: sends without the index")
        out["sendsUnindexed"] = self.sends(pop)
        for name in ("relay1", "chat", "auth"):
            self.procs.stop(name)
        for db in self.databases:
            self.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        self.databases = []
        return out


def render(results):
    lines = ["# Search benchmark", "",
             f"`make bench-search` ({results['machine']['date']}, commit {results['machine']['commit']}, "
             f"{results['machine']['cores']} cores, PostgreSQL {results['machine']['postgres']}): "
             f"{results['messages']:,} messages in {results['rooms']:,} rooms, searched over HTTP "
             f"as a member of every room, {SEARCHES} times per query, one at a time. Method: "
             "bench/search.py. The words are made up (a 5,000-word vocabulary, Zipf-like): "
             "the common word is in about 40% of the messages, the medium one in about 1%, the "
             "rare one in about 0.07%; a single bare word is also a prefix. Sends: `loadgen "
             "fanout` (the send mode of `make bench`, 10 rooms of 10, 2 senders per room) at "
             "fixed rates, with the index and then with it dropped (PostgreSQL: the GIN index "
             "and the generated column; SQLite: the FTS5 triggers).", ""]
    for engine in ("postgres", "sqlite"):
        r = results.get(engine)
        if not r:
            continue
        lines += [f"## {engine}", "", f"Filled in {r['fillSecs']} s; {r['databaseSize']}.", "",
                  "| query | q | hits/page | p50 ms | p99 ms |", "|---|---|---:|---:|---:|"]
        for name, q in r["queries"].items():
            lines.append(f"| {name} | `{q['query']}` | {q['hitsPerPage']} | "
                         f"{q['latency']['p50_ms']:.1f} | {q['latency']['p99_ms']:.1f} |")
        lines += ["", "| sends | target/s | achieved/s | ack p50 ms | ack p99 ms |",
                  "|---|---:|---:|---:|---:|"]
        for label, key in (("with the index", "sendsIndexed"), ("index dropped", "sendsUnindexed")):
            for s in r[key]:
                lines.append(f"| {label} | {s['targetRate']:.0f} | {s['sendsPerSec']:.0f} | "
                             f"{s['ackLatency']['p50_ms']:.1f} | {s['ackLatency']['p99_ms']:.1f} |")
        top = {k: max(r[k], key=lambda x: x["targetRate"]) for k in ("sendsIndexed", "sendsUnindexed")}
        slowest = max(r["queries"].items(), key=lambda kv: kv[1]["latency"]["p99_ms"])
        lines += ["", f"Slowest p99: {slowest[1]['latency']['p99_ms']:.1f} ms ({slowest[0]}). At "
                  f"{top['sendsIndexed']['targetRate']:.0f} sends/s asked, "
                  f"{top['sendsIndexed']['sendsPerSec']:.0f}/s were acknowledged with the index "
                  f"and {top['sendsUnindexed']['sendsPerSec']:.0f}/s without it.", ""]
    return "\n".join(lines)


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--pg-host", default="127.0.0.1:5432")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379")
    ap.add_argument("--out-dir", default=str(run.REPO / "docs"))
    ap.add_argument("--engines", default="postgres,sqlite")
    args = ap.parse_args()
    b = SearchBench(args)
    results = {"machine": run.machine(), "messages": MESSAGES, "rooms": ROOMS}
    started = time.time()
    try:
        for engine in args.engines.split(","):
            results[engine] = b.engine(engine)
    finally:
        b.cleanup()
    results["totalSecs"] = round(time.time() - started)
    out = Path(args.out_dir)
    (out / "benchmarks-search.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "benchmarks-search.md").write_text(render(results))
    run.log(f"wrote {out}/benchmarks-search.json and .md in {results['totalSecs']}s")


if __name__ == "__main__":
    main()
