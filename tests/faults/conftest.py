"""Fault injection against the real local services: stop Redis, restart PostgreSQL.

These tests stop and start the machine's own services with the commands the README documents,
so they only run where those services are local and ours to restart (CI and developer machines
of this project). They always leave the services running.
"""

from __future__ import annotations

import glob
import os
import subprocess
import time

import pytest
import redis

REDIS_START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
               "--save", "", "--appendonly", "no"]


def redis_is_up() -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_stop() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
                   capture_output=True, timeout=10, check=False)
    for _ in range(50):
        if not redis_is_up():
            return
        time.sleep(0.1)
    raise AssertionError("Redis did not stop")


def redis_start() -> None:
    if not redis_is_up():
        subprocess.run(REDIS_START, check=True, timeout=20, capture_output=True)
    for _ in range(100):
        if redis_is_up():
            return
        time.sleep(0.1)
    raise AssertionError("Redis did not come back")


def postgres_restart() -> None:
    version = os.path.basename(sorted(glob.glob("/etc/postgresql/*"))[-1])
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
                   check=True, timeout=120, capture_output=True)
    for _ in range(100):
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise AssertionError("PostgreSQL did not come back")


@pytest.fixture
def redis_outage():
    """Yields (stop, start); Redis is running again after the test whatever happened."""
    try:
        yield redis_stop, redis_start
    finally:
        redis_start()
