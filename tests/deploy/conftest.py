import os
import socket
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pulumi_harness as h  # noqa: E402

REPO = "example-org/otter"


@pytest.fixture(scope="session")
def dev():
    return h.run_env("dev", environ={"OTTER_GITHUB_REPOSITORY": REPO})


@pytest.fixture(scope="session")
def prod():
    return h.run_env("prod", environ={"OTTER_GITHUB_REPOSITORY": REPO})


@pytest.fixture(scope="session", params=["dev", "prod"])
def stack(request, dev, prod):
    """(env, recorded) for each environment: both stacks, bootstrap and platform (h.Env)."""
    return request.param, {"dev": dev, "prod": prod}[request.param]


@pytest.fixture(scope="session")
def moto():
    """A moto server on the loopback interface for the whole session (reset by each user)."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
