"""The multi-worker cluster of `trainer.distribute=multi_worker`, from trainer.cluster or TF_CONFIG (no TensorFlow)."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional

from .errors import config_error


@dataclass(frozen=True)
class Cluster:
    """Every task's address by job, and this process's task; the chief is `chief:0`, else `worker:0`."""

    jobs: Dict[str, List[str]]  # job -> host:port of each task ("worker", optionally "chief")
    task_type: str
    task_index: int
    source: str  # "trainer.cluster" or "TF_CONFIG": where an error message sends the user

    @property
    def is_chief(self) -> bool:
        if "chief" in self.jobs:
            return self.task_type == "chief"
        return self.task_type == "worker" and self.task_index == 0

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.jobs.values())

    def describe(self) -> str:
        return f"task {self.task_type}:{self.task_index} of {self.size} ({self.source})"


def _address(key: str, value) -> str:
    host, sep, port = str(value).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise config_error(key, "host:port addresses (e.g. 127.0.0.1:23456)", value)
    return str(value)


def cluster_of(cluster_cfg, environ: Optional[Mapping[str, str]] = None) -> Cluster:
    """trainer.cluster's workers and task_index when set, else TF_CONFIG's cluster and task; ConfigError otherwise."""
    environ = os.environ if environ is None else environ
    workers = list(cluster_cfg.get("workers") or [])
    if workers:
        addresses = [_address("trainer.cluster.workers", w) for w in workers]
        index = cluster_cfg.get("task_index")
        if not isinstance(index, int) or not 0 <= index < len(addresses):
            raise config_error("trainer.cluster.task_index",
                               f"this process's index in trainer.cluster.workers (0..{len(addresses) - 1})", index)
        return Cluster({"worker": addresses}, "worker", index, "trainer.cluster")
    raw = environ.get("TF_CONFIG")
    if not raw:
        raise config_error("trainer.cluster.workers", "the workers' host:port list (with trainer.cluster.task_index)"
                           " or a TF_CONFIG environment variable for trainer.distribute=multi_worker", workers)
    try:
        tf_config = json.loads(raw)
        jobs = {str(job): [_address(f"TF_CONFIG cluster.{job}", a) for a in addrs]
                for job, addrs in tf_config["cluster"].items()}
        task_type, index = str(tf_config["task"]["type"]), int(tf_config["task"]["index"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise config_error("TF_CONFIG", '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", '
                           '"index": 0}} (JSON)', f"{raw[:200]} ({type(e).__name__}: {e})") from None
    if task_type not in jobs or not 0 <= index < len(jobs[task_type]):
        raise config_error("TF_CONFIG task", "a task of its cluster", f"{task_type}:{index}", sorted(jobs))
    return Cluster(jobs, task_type, index, "TF_CONFIG")


def local_workers(n: int) -> List[str]:
    """`n` free 127.0.0.1:port addresses: a cluster on this machine (tests, benchmarks/multi_worker.py)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in socks]
    for s in socks:
        s.close()
    return addresses


def listening(port: int) -> List[str]:
    """The local addresses with a TCP socket listening on `port` (Linux: /proc/net/tcp and tcp6; [] elsewhere):
    `0.0.0.0` and `::` mean every interface."""
    import ipaddress

    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)  # little-endian 32-bit words
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.append(str(ipaddress.ip_address(raw)))
    return found


def exposure(address: str, bound: List[str]) -> Optional[str]:
    """A warning when a worker's server listens on more than the address its cluster entry names, else None."""
    every = [a for a in bound if a in ("0.0.0.0", "::")]
    if not every:
        return None
    port = address.rpartition(":")[2]
    return (f"multi-worker: TensorFlow's gRPC server of this worker ({address} in the cluster) listens on every "
            f"interface ({', '.join(f'[{a}]:{port}' if ':' in a else f'{a}:{port}' for a in every)}), without "
            "authentication or encryption: TensorFlow has no option to bind it to one address; allow that port "
            "only from the cluster's machines (docs/DISTRIBUTED.md, Network exposure)")
