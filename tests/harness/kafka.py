"""Real Apache Kafka on loopback: one KRaft node (broker+controller), or a KafkaCluster
of three replicating nodes (topics at replication 3, min.insync.replicas=2).

Only Maven Central is reachable here, not the Apache download mirrors, so the
broker is assembled from its published jars: Maven resolves kafka_2.13 with its
runtime dependencies and a log4j2 backend (`kafka/pom.xml` beside this file)
into .cache/kafka/<version>/libs once; a stamp marks a finished fetch and a file
lock makes concurrent pytest or benchmark processes wait for one fetch. The
broker then runs as `java -cp <libs> kafka.Kafka server.properties`.

Startup is kept short (about 1-2 s to a broker that answers Metadata): a small
heap, serial GC, C1 only, and a class-data-sharing archive of the broker's
classes that the first cleanly stopped broker writes into the cache.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from tests.harness.ports import free_port
from tests.harness.processes import (
    HarnessError,
    Managed,
    hermetic_environ,
    launch,
    log_tail,
    stop_process,
)

KAFKA_VERSION = "4.1.2"
LOG4J_VERSION = "2.24.3"
POM = Path(__file__).resolve().parent / "kafka" / "pom.xml"
REPO_ROOT = POM.parents[3]
CACHE_DIR = REPO_ROOT / ".cache" / "kafka"
MAVEN_REPO = REPO_ROOT / ".cache" / "m2"
# Any fixed 16 bytes, base64url without padding: the id `kafka-storage format` expects.
CLUSTER_ID = "c2hvcnRsaW5rLWthZmthIQ"  # b"shortlink-kafka!"
NODE_ID = 1
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
ADMIN_TIMEOUT = 10.0
FETCH_TIMEOUT = 900.0

T = TypeVar("T")


# --- the broker's jars ---------------------------------------------------------------


def ensure_kafka_libs(version: str = KAFKA_VERSION) -> Path:
    """The directory of the broker's jars, fetched from Maven Central if missing or stale."""
    version_dir = CACHE_DIR / version
    libs = version_dir / "libs"
    stamp = version_dir / "libs.stamp"
    fingerprint = _libs_fingerprint(version)
    if _is_current(libs, stamp, fingerprint):
        return libs
    version_dir.mkdir(parents=True, exist_ok=True)
    with (version_dir / ".fetch.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Another process may have fetched them while this one waited.
        if not _is_current(libs, stamp, fingerprint):
            _fetch(version, libs)
            stamp.write_text(fingerprint + "\n")
    return libs


def _libs_fingerprint(version: str) -> str:
    digest = hashlib.sha256(POM.read_bytes())
    digest.update(f"\0{version}\0{LOG4J_VERSION}".encode())
    return digest.hexdigest()


def _is_current(libs: Path, stamp: Path, fingerprint: str) -> bool:
    try:
        return stamp.read_text().strip() == fingerprint and any(libs.glob("kafka_2.13-*.jar"))
    except FileNotFoundError:
        return False


def _fetch(version: str, libs: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise HarnessError("Maven (`mvn`) not found; install the 'maven' package")
    partial = libs.with_name(".libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    command = [
        mvn,
        "-B",
        "-q",
        "-Dstyle.color=never",
        "-f",
        str(POM),
        f"-Dmaven.repo.local={MAVEN_REPO}",
        f"-Dkafka.version={version}",
        f"-Dlog4j.version={LOG4J_VERSION}",
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={partial}",
    ]
    _say(f"fetching Kafka {version} jars from Maven Central into {libs}")
    started = time.monotonic()
    try:
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=FETCH_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise HarnessError(f"fetching Kafka {version} took over {FETCH_TIMEOUT:.0f}s") from error
    if result.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
        output = (result.stdout + result.stderr).decode(errors="replace")
        raise HarnessError(
            f"mvn dependency:copy-dependencies for Kafka {version} failed "
            f"({result.returncode}):\n{output[-8000:]}"
        )
    shutil.rmtree(libs, ignore_errors=True)
    os.replace(partial, libs)
    _say(f"fetched {len(list(libs.glob('*.jar')))} jars in {time.monotonic() - started:.1f}s")


def find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise HarnessError("java not found; install a JDK 17+ (e.g. 'openjdk-17-jre-headless')")
    return found


def _say(message: str) -> None:
    print(f"[kafka harness] {message}", file=sys.stderr, flush=True)


# --- the broker ----------------------------------------------------------------------

_LOG4J2_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by tests/harness/kafka.py. stdout is redirected to kafka.log. -->
<Configuration status="WARN">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <!-- The full config dumps are hundreds of lines per start. -->
    <Logger name="org.apache.kafka.common.config" level="WARN"/>
    <Logger name="org.apache.kafka.common.utils.AppInfoParser" level="WARN"/>
    <Root level="{level}"><AppenderRef ref="stdout"/></Root>
  </Loggers>
</Configuration>
"""


class KafkaServer(Managed):
    """One KRaft node (broker+controller) with PLAINTEXT on 127.0.0.1:`port`.

    Data lives in `base_dir/data` and survives stop()/kill() + start(): the
    storage is formatted only once. Both ports are fixed at construction, so
    a restarted broker is found at the same `bootstrap_servers`.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        num_partitions: int = 4,
        properties: dict[str, str] | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
        heap: str = "512m",
        fast_startup: bool = True,
        log_level: str = "INFO",
        version: str = KAFKA_VERSION,
        node_id: int = NODE_ID,
        voters: str | None = None,
    ) -> None:
        """``node_id`` and ``voters`` (every controller's id@host:port) make this node
        one of a KafkaCluster; alone, it is its own quorum."""
        self.base_dir = base_dir.absolute()
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.node_id = node_id
        self.voters = voters or f"{node_id}@127.0.0.1:{self.controller_port}"
        self.num_partitions = num_partitions
        self.extra_properties = dict(properties or {})
        self.startup_timeout = startup_timeout
        self.heap = heap
        # C1 only starts ~35% faster; a throughput benchmark may want C2 back.
        self.fast_startup = fast_startup
        self.log_level = log_level
        self.version = version
        self.data_dir = self.base_dir / "data"
        self.config_path = self.base_dir / "server.properties"
        self.log_path = self.base_dir / "kafka.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None
        # (where this run's JVM writes a class archive, where it goes once complete)
        self._archive_dump: tuple[Path, Path] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def server_properties(self) -> dict[str, str]:
        return {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters,
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": str(self.num_partitions),
            "auto.create.topics.enable": "true",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # After kill() the controller refuses the restarted broker until the old
            # registration's session expires (default 9 s); heartbeats stay in-process.
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "3000",
            # A few threads suit a 2-core test machine.
            "num.network.threads": "2",
            "num.io.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "background.threads": "2",
            **self.extra_properties,
        }

    def start(self) -> None:
        if self.running:
            raise HarnessError(f"Kafka on {self.bootstrap_servers} is already running")
        libs = ensure_kafka_libs(self.version)
        java = find_java()
        classpath = ":".join(str(jar) for jar in sorted(libs.glob("*.jar")))
        self.base_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "tmp").mkdir(exist_ok=True)
        self._write_config()
        if not (self.data_dir / "meta.properties").exists():
            self._format(java, libs, classpath)
        _wait_until_bindable((self.port, self.controller_port), self.startup_timeout)
        command = [java, *self._jvm_options(java, libs, classpath), "-cp", classpath]
        command += ["kafka.Kafka", str(self.config_path)]
        started = time.monotonic()
        self.process = launch(
            command,
            log_path=self.log_path,
            ready=self.is_ready,
            what=f"Kafka broker on {self.bootstrap_servers}",
            timeout=self.startup_timeout,
            on_failure=self._discard_archive_dump,
            env=self._environ(),
            cwd=self.base_dir,
        )
        self.startup_seconds = time.monotonic() - started

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM (a controlled shutdown), then SIGKILL after `timeout` seconds."""
        if self.process is None:
            return
        process, self.process = self.process, None
        # Killed after the timeout (-9), the class archive may be half-written.
        if stop_process(process, signal.SIGTERM, timeout) in (0, 128 + signal.SIGTERM):
            self._keep_archive_dump()
        else:
            self._discard_archive_dump()

    def kill(self) -> None:
        """SIGKILL, as a crash: no controlled shutdown, no flushed segments."""
        if self.process is None:
            return
        process, self.process = self.process, None
        stop_process(process, signal.SIGKILL, 5.0)
        self._discard_archive_dump()

    def restart(self) -> None:
        """stop() and start() again: same ports, same data."""
        self.stop()
        self.start()

    def is_ready(self) -> bool:
        """True once the broker answers a Metadata request naming itself and a controller."""
        if not _port_open(self.port):
            return False
        try:
            cluster = _run_async(_describe_cluster(self.bootstrap_servers))
        except Exception:
            return False
        brokers = [broker["node_id"] for broker in cluster["brokers"]]
        if self.voters == f"{self.node_id}@127.0.0.1:{self.controller_port}":
            return brokers == [self.node_id] and cluster["controller_id"] == self.node_id
        return self.node_id in brokers  # a cluster member: registered with the quorum

    def create_topic(
        self,
        name: str,
        partitions: int = 4,
        *,
        config: dict[str, str] | None = None,
        timeout: float = ADMIN_TIMEOUT,
        replication: int = 1,
    ) -> None:
        """Create `name` (an existing one is left as is) and wait until every
        partition has a leader, so a producer's first send needs no retries."""
        _run_async(
            _create_topic(
                self.bootstrap_servers, name, partitions, replication, config or {}, timeout
            )
        )

    def log(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    # -- internals ---------------------------------------------------------------------

    def _write_config(self) -> None:
        lines = [f"{key}={value}" for key, value in self.server_properties().items()]
        self.config_path.write_text("# Written by tests/harness/kafka.py\n" + "\n".join(lines))
        (self.base_dir / "log4j2.xml").write_text(_LOG4J2_XML.format(level=self.log_level))

    def _format(self, java: str, libs: Path, classpath: str) -> None:
        """Give data_dir what `kafka-storage format` writes, copied from a template
        formatted once per cache (a JVM run costs ~1 s), with a directory id of its own."""
        template = libs.parent / f"formatted-node{self.node_id}-{CLUSTER_ID}"
        if not (template / "meta.properties").exists():
            with (libs.parent / ".format.lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (template / "meta.properties").exists():
                    self._run_storage_format(java, classpath, template)
        shutil.copytree(
            template,
            self.data_dir,
            ignore=shutil.ignore_patterns("meta.properties"),
            dirs_exist_ok=True,
        )
        meta = (template / "meta.properties").read_text()
        meta = re.sub(r"(?m)^directory\.id=.*$", f"directory.id={_random_uuid()}", meta)
        # Written last: meta.properties marks a formatted directory.
        (self.data_dir / "meta.properties").write_text(meta)

    def _run_storage_format(self, java: str, classpath: str, template: Path) -> None:
        work = template.with_name(f".{template.name}.{os.getpid()}.partial")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        config = work / "server.properties"
        properties = {**self.server_properties(), "log.dirs": str(work / "data")}
        config.write_text("\n".join(f"{key}={value}" for key, value in properties.items()))
        command = [java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
        command += [f"-Dlog4j2.configurationFile={self.base_dir / 'log4j2.xml'}"]
        command += ["-cp", classpath, "kafka.tools.StorageTool", "format"]
        command += ["--cluster-id", CLUSTER_ID, "--config", str(config)]
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=self._environ(),
            timeout=self.startup_timeout,
            check=False,
        )
        with self.log_path.open("ab") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0 or not (work / "data" / "meta.properties").exists():
            shutil.rmtree(work, ignore_errors=True)
            raise HarnessError(
                f"kafka-storage format failed ({result.returncode}):\n"
                f"{(result.stdout + result.stderr).decode(errors='replace')[-4000:]}"
            )
        shutil.rmtree(template, ignore_errors=True)
        os.replace(work / "data", template)
        shutil.rmtree(work, ignore_errors=True)

    def _jvm_options(self, java: str, libs: Path, classpath: str) -> list[str]:
        options = [f"-Xms{min_heap(self.heap)}", f"-Xmx{self.heap}", "-XX:+UseSerialGC"]
        if self.fast_startup:
            options.append("-XX:TieredStopAtLevel=1")
        options += [
            "-XX:-UsePerfData",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            # zstd-jni and snappy unpack their native libraries here.
            f"-Djava.io.tmpdir={self.base_dir / 'tmp'}",
            f"-Dlog4j2.configurationFile={self.base_dir / 'log4j2.xml'}",
            # Kafka's own shutdown hook logs; log4j's would race it.
            "-Dlog4j2.shutdownHookEnabled=false",
        ]
        archive = _class_archive(java, libs, classpath, options)
        if archive.exists():
            options.append(f"-XX:SharedArchiveFile={archive}")
        else:
            # This run records the classes it loads; stop() keeps the archive
            # if the JVM exited cleanly. Concurrent first runs each write their own.
            dump = archive.with_name(f".{archive.name}.{os.getpid()}.{id(self)}.partial")
            self._archive_dump = (dump, archive)
            options += [f"-XX:ArchiveClassesAtExit={dump}", "-Xlog:cds=off,cds+dynamic=off"]
        return options

    def _keep_archive_dump(self) -> None:
        if self._archive_dump is not None:
            dump, archive = self._archive_dump
            self._archive_dump = None
            if dump.exists() and dump.stat().st_size > 0:
                os.replace(dump, archive)
                # Archives of a previous fetch or JVM no longer match (~50 MB each).
                for stale in archive.parent.glob("kafka-*.jsa"):
                    if stale != archive:
                        stale.unlink(missing_ok=True)

    def _discard_archive_dump(self) -> None:
        if self._archive_dump is not None:
            self._archive_dump[0].unlink(missing_ok=True)
            self._archive_dump = None

    def _environ(self) -> dict[str, str]:
        # KAFKA_OPTS & co. are read by Kafka's scripts only, but JAVA_TOOL_OPTIONS
        # and _JAVA_OPTIONS would change every JVM (and break the class archive).
        return hermetic_environ(("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS"))


def _random_uuid() -> str:
    """A Kafka Uuid as its tools print it: 16 random bytes, base64url, no padding."""
    while True:
        text = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not text.startswith("-"):  # Kafka avoids these: they read as CLI flags
            return text


def min_heap(heap: str) -> str:
    """Half of `heap` (e.g. '512m' -> '256m'): room to grow, little to zero at start."""
    match = re.fullmatch(r"(\d+)([kmgKMG]?)", heap)
    if match is None:
        raise HarnessError(f"heap {heap!r} is not like '512m'")
    return f"{max(int(match.group(1)) // 2, 1)}{match.group(2)}"


# --- class-data sharing --------------------------------------------------------------


def _class_archive(java: str, libs: Path, classpath: str, options: list[str]) -> Path:
    """Where the CDS archive for this JVM, classpath and options lives.

    An archive only fits the exact JVM build and classpath it was dumped with
    (the JVM checks and ignores a mismatch with a warning); keying the file
    name on them keeps one valid archive per combination.
    """
    real_java = Path(java).resolve()
    digest = hashlib.sha256(str(real_java).encode())
    for jvm_file in (real_java, *real_java.parent.parent.glob("lib/server/libjvm.so")):
        stat = jvm_file.stat()
        digest.update(f"\0{jvm_file}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    # The JVM also checks each jar's size and mtime: a refetch needs a new archive.
    for jar in classpath.split(":"):
        stat = Path(jar).stat()
        digest.update(f"\0{jar}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    digest.update(" ".join(option for option in options if option.startswith("-XX")).encode())
    return libs.parent / f"kafka-{digest.hexdigest()[:16]}.jsa"


# --- ports ---------------------------------------------------------------------------


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_until_bindable(ports: tuple[int, ...], timeout: float) -> None:
    """Wait until the broker could bind `ports` (as the JVM does, with SO_REUSEADDR).

    The JVM would exit at once on a port still held (by the broker just killed, while
    it is reaped): a restart waits that out rather than fail.
    """
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                    break
                except OSError as error:
                    if time.monotonic() > deadline:
                        raise HarnessError(f"port {port} stays in use: {error}") from error
            time.sleep(0.2)


# --- admin calls (aiokafka) ----------------------------------------------------------


def _run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to completion on a loop of its own in a helper thread,
    so the sync API also works from inside async tests (a loop is running)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, name="kafka-harness-admin", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


async def _with_admin(
    bootstrap_servers: str, time_limit: float, use: Callable[[Any], Coroutine[Any, Any, T]]
) -> T:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=int(time_limit * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), time_limit)
        return await asyncio.wait_for(use(admin), time_limit)
    finally:
        await admin.close()


async def _describe_cluster(bootstrap_servers: str) -> dict[str, Any]:
    async def describe(admin: Any) -> dict[str, Any]:
        cluster: dict[str, Any] = await admin.describe_cluster()
        return cluster

    return await _with_admin(bootstrap_servers, 2.0, describe)


async def _create_topic(
    bootstrap_servers: str,
    name: str,
    partitions: int,
    replication: int,
    config: dict[str, str],
    time_limit: float,
) -> None:
    from aiokafka.admin import NewTopic
    from aiokafka.errors import TopicAlreadyExistsError, for_code

    async def create(admin: Any) -> None:
        topic = NewTopic(name, partitions, replication, topic_configs=config)
        response = await admin.create_topics([topic], timeout_ms=int(time_limit * 1000))
        for entry in response.topic_errors:
            error_code, message = entry[1], entry[2] if len(entry) > 2 else ""
            if error_code != 0 and for_code(error_code) is not TopicAlreadyExistsError:
                raise for_code(error_code)(f"creating topic {name!r}: {message}")
        # The controller has the topic; wait until this broker serves every partition.
        while True:
            (described,) = await admin.describe_topics([name])
            leaders = [partition["leader"] for partition in described["partitions"]]
            in_sync = [len(partition["isr"]) for partition in described["partitions"]]
            if (
                described["error_code"] == 0
                and leaders
                and min(leaders) >= 0
                and min(in_sync) >= replication
            ):
                return
            await asyncio.sleep(0.02)

    await _with_admin(bootstrap_servers, time_limit, create)


# Replicated like production: a click is acknowledged once 2 of the 3 replicas have it.
CLUSTER_PROPERTIES = {
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "share.coordinator.state.topic.replication.factor": "3",
    "share.coordinator.state.topic.min.isr": "2",
    # A restarted broker gets its preferred leaderships back within seconds: the
    # "partition leader moved" of a rolling restart, while clients keep producing.
    "auto.leader.rebalance.enable": "true",
    "leader.imbalance.check.interval.seconds": "2",
    "leader.imbalance.per.broker.percentage": "0",
}


class KafkaCluster(Managed):
    """``size`` KRaft nodes (each broker and controller) on loopback: a quorum of
    controllers that survives one node's loss, topics replicated 3 times."""

    def __init__(self, base_dir: Path, size: int = 3, *, heap: str = "384m") -> None:
        ports = [(free_port(), free_port()) for _ in range(size)]
        voters = ",".join(f"{n + 1}@127.0.0.1:{c}" for n, (_, c) in enumerate(ports))
        self.nodes = [
            KafkaServer(
                base_dir / f"node-{n + 1}",
                port=port,
                controller_port=controller,
                node_id=n + 1,
                voters=voters,
                heap=heap,
                properties=CLUSTER_PROPERTIES,
            )
            for n, (port, controller) in enumerate(ports)
        ]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes)

    def start(self) -> None:
        """All nodes at once: none is ready before a quorum of controllers is up."""
        failures: list[BaseException] = []

        def start(node: KafkaServer) -> None:
            try:
                node.start()
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=start, args=(node,)) for node in self.nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            self.stop()
            raise failures[0]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def create_topic(
        self, name: str, partitions: int = 6, *, config: dict[str, str] | None = None
    ) -> None:
        """Replicated 3 times, acknowledged by 2 (min.insync.replicas)."""
        live = next(node for node in self.nodes if node.running)
        live.create_topic(
            name, partitions, replication=3, config={"min.insync.replicas": "2", **(config or {})}
        )

    def leaders(self, topic: str) -> dict[int, int]:
        """{partition: leader node id} as the cluster reports it now."""
        live = next(node for node in self.nodes if node.running)
        return _run_async(_leaders(live.bootstrap_servers, topic))


async def _leaders(bootstrap_servers: str, topic: str) -> dict[int, int]:
    from aiokafka.errors import KafkaError

    async def describe(admin: Any) -> dict[int, int]:
        # The admin client asks a random broker of its metadata, which names a killed
        # broker until its session expires: such a refusal is asked again elsewhere.
        while True:
            try:
                (described,) = await admin.describe_topics([topic])
            except KafkaError as error:
                if not error.retriable:
                    raise
                await asyncio.sleep(0.05)
                continue
            return {p["partition"]: p["leader"] for p in described["partitions"]}

    return await _with_admin(bootstrap_servers, ADMIN_TIMEOUT, describe)
