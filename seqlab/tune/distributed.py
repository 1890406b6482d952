"""Keras Tuner's chief/worker mode from config or KERASTUNER_* variables; the chief's gRPC oracle server loop."""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Optional

from omegaconf import DictConfig

from ..config import ConfigError

log = logging.getLogger(__name__)
ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


def configure(dcfg: DictConfig) -> Optional[str]:
    """This process's role, None (one process), "chief" or "worker"; exports the KERASTUNER_* variables Keras
    Tuner reads. `sweep.distributed.role` set: the config decides; unset: the variables do, when present."""
    env = os.environ
    if dcfg.role is None:
        if "KERASTUNER_ORACLE_IP" not in env:
            return None
        missing = [k for k in ENV if not env.get(k)]
        if missing:
            raise ConfigError(f"KERASTUNER_ORACLE_IP is set: expected {', '.join(ENV)} too, missing {missing}")
        return "chief" if "chief" in env["KERASTUNER_TUNER_ID"] else "worker"
    if dcfg.role == "chief":
        tuner_id = "chief"
    else:
        tuner_id = dcfg.tuner_id or f"worker-{socket.gethostname()}-{os.getpid()}"
        if "chief" in tuner_id:  # Keras Tuner takes any id containing "chief" for the chief
            raise ConfigError(f"sweep.distributed.tuner_id: expected a worker name without 'chief', got {tuner_id!r}")
    env.update(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP=str(dcfg.oracle_ip),
               KERASTUNER_ORACLE_PORT=str(dcfg.oracle_port))
    return dcfg.role


def address() -> str:
    return f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"


def serve(oracle, poll: float = 0.5) -> None:
    """Serve `oracle` to the workers until every trial has ended and every worker was told to stop.

    Keras Tuner's own server loop polls every 20 s and never notices a lost worker; this one reaps silent
    workers' trials (`LeasedOracle.reap`) so that another worker continues them."""
    from concurrent import futures

    import grpc

    from .. import private

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))  # one request at a time, like Keras Tuner
    servicer = private.oracle_server(oracle, server)
    where = address()
    if not server.add_insecure_port(where):
        raise ConfigError(f"sweep.distributed.oracle_ip/oracle_port: expected an address to listen on, got {where}")
    server.start()
    log.info("chief: oracle listening on %s (unauthenticated gRPC: a trusted network only)", where)
    try:
        while True:
            time.sleep(poll)
            oracle.reap()
            if private.stop_requested(servicer) and not oracle.ongoing_trials and not oracle.tuner_ids \
                    and not private.retry_queue(oracle):
                break
    finally:
        server.stop(grace=2)
    log.info("chief: every trial has ended")
