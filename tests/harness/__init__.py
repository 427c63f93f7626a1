"""Real PostgreSQL, Redis, Kafka and service processes for tests and benchmarks.

Plain Python on purpose: benchmarks import this package without pytest.
"""

from tests.harness.kafka import KafkaServer
from tests.harness.pg_cluster import ClusterTemplate, PostgresCluster
from tests.harness.ports import free_port
from tests.harness.postgres import PostgresServer
from tests.harness.processes import HarnessError, ServiceProcess
from tests.harness.redis import RedisServer

__all__ = [
    "ClusterTemplate",
    "HarnessError",
    "KafkaServer",
    "PostgresCluster",
    "PostgresServer",
    "RedisServer",
    "ServiceProcess",
    "free_port",
]
