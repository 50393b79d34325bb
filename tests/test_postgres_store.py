"""The results store on a real PostgreSQL server that this module starts (Debian's ``postgresql``, as in
shared/recipes/postgresql-local.md) and stops: the store API, the schema-1 migration, 16 concurrent writer
processes losing nothing, and a `brainalign run` killed twice that resumes to the uninterrupted result.
Skipped, with the reason, where no server can start (not root, no PostgreSQL and no apt-get)."""

from __future__ import annotations

import glob
import math
import multiprocessing
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from brainalign.core.errors import InvalidInputError
from brainalign.store.results import KEY, ResultsStore
from test_run_resume import assert_resumed_equals_fresh

pytestmark = pytest.mark.slow
BASE = {"model": "m", "weights_checksum": "w1", "layer": "a", "benchmark": "B", "benchmark_version": 1,
        "metric_options": "{}", "brainalign_version": "0.1.0"}


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _install() -> Path:
    if os.geteuid() != 0:
        pytest.skip("PostgreSQL tests start a server as the postgres user and need root (not root here)")
    if _bin() is None:
        if shutil.which("apt-get") is None:
            pytest.skip("PostgreSQL is not installed and apt-get is unavailable to install it")
        done = subprocess.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                              "postgresql", shell=True, capture_output=True, text=True)
        if done.returncode != 0 or _bin() is None:
            pytest.skip(f"cannot install PostgreSQL with apt-get: {done.stderr.strip()[-500:]}")
    return _bin()  # type: ignore[return-value]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away cluster on a free port; yields the server URL (trust auth on 127.0.0.1)."""
    pg = _install()
    folder = Path(tempfile.mkdtemp(prefix="brainalign-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    port = _free_port()

    def as_postgres(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["su", "postgres", "-c", command], capture_output=True, text=True)

    init = as_postgres(f"{pg}/initdb -D {folder}/data -A trust -U postgres")
    start = as_postgres(f"{pg}/pg_ctl -D {folder}/data -o '-p {port} -k {folder} -c listen_addresses=127.0.0.1 "
                        f"-c max_connections=200' -l {folder}/log -w start")
    if init.returncode or start.returncode:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {(init.stderr + start.stderr).strip()[-500:]}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        as_postgres(f"{pg}/pg_ctl -D {folder}/data -m fast -w stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database(postgres_server, request) -> str:
    """A new empty database for one test; its URL."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"


def test_rows_persist_are_replaced_by_key_and_keep_nan(database):
    ResultsStore(database).put({**BASE, "score": 0.1, "packages": '{"numpy": "2"}'})
    store = ResultsStore(database)
    store.put({**BASE, "score": 0.2})
    store.put({**BASE, "weights_checksum": "w2", "score": 0.4})
    store.put({**BASE, "brainalign_version": "0.2.0", "score": math.nan})
    table = store.table()
    assert table["score"].tolist()[:2] == [0.2, 0.4] and math.isnan(table["score"].iloc[2])
    assert store.get({**BASE, "weights_checksum": "w2"})["score"] == 0.4
    assert not store.has({**BASE, "layer": "b"}) and store.path is None
    assert store.stored_keys() == {tuple({**BASE, **change}[k] for k in KEY) for change in
                                   ({}, {"weights_checksum": "w2"}, {"brainalign_version": "0.2.0"})}
    assert "secret" not in ResultsStore(database.replace("postgres@", "postgres:secret@")).url


def test_first_schema_table_is_migrated_with_its_rows(database):
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute("CREATE TABLE scores (model TEXT NOT NULL, layer TEXT NOT NULL, benchmark TEXT NOT NULL, "
                           "benchmark_version INTEGER NOT NULL, row TEXT NOT NULL, created REAL NOT NULL, "
                           "PRIMARY KEY (model, layer, benchmark, benchmark_version))")
        connection.execute("""INSERT INTO scores VALUES ('m', 'a', 'B', 1, '{"model": "m", "score": 0.25}', 1.0)""")
    store = ResultsStore(database)
    assert store.table()["score"].tolist() == [0.25] and not store.has(BASE)
    store.put({**BASE, "score": 0.3})
    assert sorted(ResultsStore(database).table()["score"]) == [0.25, 0.3]


def test_unreachable_server_is_named_without_password():
    with pytest.raises(InvalidInputError, match=r"cannot open results store postgresql://u:\*\*\*@127\.0\.0\.1:"):
        ResultsStore(f"postgresql://u:pw@127.0.0.1:{_free_port()}/db")


WRITERS, ROWS_EACH, SHARED = 16, 25, 5


def _writer(url: str, writer: int, start) -> None:
    store = ResultsStore(url)
    start.wait()
    for i in range(ROWS_EACH):
        store.put({**BASE, "model": f"w{writer}", "layer": f"l{i}", "score": writer + i / 100})
        if i < SHARED:  # every writer also writes the same few keys: one row each must survive
            store.put({**BASE, "model": "shared", "layer": f"l{i}", "score": float(i), "writer": writer})


def test_sixteen_concurrent_writer_processes_lose_nothing(database):
    ResultsStore(database)  # the schema exists before the writers race
    context = multiprocessing.get_context("fork")
    start = context.Event()
    writers = [context.Process(target=_writer, args=(database, w, start)) for w in range(WRITERS)]
    for process in writers:
        process.start()
    time.sleep(0.5)
    start.set()
    for process in writers:
        process.join(120)
    assert [p.exitcode for p in writers] == [0] * WRITERS
    table = ResultsStore(database).table()
    assert len(table) == WRITERS * ROWS_EACH + SHARED
    own = table[table["model"] != "shared"].set_index(["model", "layer"])["score"]
    assert own.to_dict() == {(f"w{w}", f"l{i}"): w + i / 100 for w in range(WRITERS) for i in range(ROWS_EACH)}
    shared = table[table["model"] == "shared"].set_index("layer")["score"]
    assert shared.to_dict() == {f"l{i}": float(i) for i in range(SHARED)}


def test_postgres_run_killed_twice_ends_identical_to_an_uninterrupted_run(database, tmp_path, private_cache):
    assert_resumed_equals_fresh(database, tmp_path, points=(6, 16), workers=1)
